import { sql } from 'slonik';
import { z } from 'zod';
import { Timestamp, limitRows, type Db } from '../db/index.js';

/** Whose conversations: every query is scoped by the verified caller, never by anything the client sends. */
export interface Owner {
  tenantId: string;
  userId: string;
}

export interface PageParams {
  limit: number;
  order: 'asc' | 'desc';
  /** The id of the last row of the previous page. */
  after?: string | null;
}

const ThreadRow = z.object({
  id: z.string(),
  title: z.string().nullable(),
  status: z.record(z.string(), z.unknown()),
  createdAt: Timestamp,
});
export type ThreadRow = z.infer<typeof ThreadRow>;

const ItemRow = z.object({
  seq: z.number(),
  id: z.string(),
  threadId: z.string(),
  type: z.string(),
  body: z.record(z.string(), z.unknown()),
  createdAt: Timestamp,
});
export type ItemRow = z.infer<typeof ItemRow>;

const AttachmentRow = z.object({ id: z.string(), name: z.string(), mimeType: z.string(), size: z.number() });
export type AttachmentRow = z.infer<typeof AttachmentRow>;

const THREAD = sql.fragment`id, title, status, created_at as "createdAt"`;
const ITEM = sql.fragment`seq, id, thread_id as "threadId", type, body, created_at as "createdAt"`;

export const insertThread = (db: Db, owner: Owner, id: string) =>
  db.one(sql.type(ThreadRow)`
    insert into chat_thread (id, tenant_id, user_id) values (${id}, ${owner.tenantId}, ${owner.userId})
    returning ${THREAD}`);

/** The caller's thread; null if it does not exist or belongs to someone else (the same 404). */
export const findThread = (db: Db, owner: Owner, id: string) =>
  db.maybeOne(sql.type(ThreadRow)`
    select ${THREAD} from chat_thread where id = ${id} and tenant_id = ${owner.tenantId} and user_id = ${owner.userId}`);

/** Locks the caller's thread for the length of a transaction, so two turns on one thread do not interleave. */
export const lockThread = (db: Db, owner: Owner, id: string) =>
  db.maybeOne(sql.type(ThreadRow)`
    select ${THREAD} from chat_thread
    where id = ${id} and tenant_id = ${owner.tenantId} and user_id = ${owner.userId}
    for update`);

/** One page of the caller's threads by creation time (ties by id), plus one row to tell whether more follow. */
export const listThreadsPage = (db: Db, owner: Owner, page: PageParams) => {
  const [cmp, dir] = page.order === 'asc' ? [sql.fragment`>`, sql.fragment`asc`] : [sql.fragment`<`, sql.fragment`desc`];
  const after = page.after
    ? sql.fragment`and (created_at, id) ${cmp} (select created_at, id from chat_thread
        where id = ${page.after} and tenant_id = ${owner.tenantId} and user_id = ${owner.userId})`
    : sql.fragment``;
  return db.any(sql.type(ThreadRow)`
    select ${THREAD} from chat_thread
    where tenant_id = ${owner.tenantId} and user_id = ${owner.userId} ${after}
    order by created_at ${dir}, id ${dir}
    ${limitRows(page.limit + 1)}`);
};

export const updateThreadTitle = (db: Db, owner: Owner, id: string, title: string | null) =>
  db.maybeOne(sql.type(ThreadRow)`
    update chat_thread set title = ${title}, updated_at = now()
    where id = ${id} and tenant_id = ${owner.tenantId} and user_id = ${owner.userId}
    returning ${THREAD}`);

/** Deletes the caller's thread and, by the foreign key's cascade, its items. False if there was none. */
export const deleteThread = async (db: Db, owner: Owner, id: string): Promise<boolean> =>
  (await db.query(sql.unsafe`
    delete from chat_thread where id = ${id} and tenant_id = ${owner.tenantId} and user_id = ${owner.userId}`)).rowCount > 0;

export const insertItem = (db: Db, item: { id: string; threadId: string; type: string; body: Record<string, unknown> }) =>
  db.one(sql.type(ItemRow)`
    insert into chat_item (id, thread_id, type, body)
    values (${item.id}, ${item.threadId}, ${item.type}, ${sql.jsonb(item.body as never)})
    returning ${ITEM}`);

/** An item of a thread (the thread's ownership is checked by the caller); null if there is none. */
export const findItem = (db: Db, threadId: string, itemId: string) =>
  db.maybeOne(sql.type(ItemRow)`select ${ITEM} from chat_item where thread_id = ${threadId} and id = ${itemId}`);

/**
 * One page of a thread's items in the order they were added (seq), plus one row to tell whether more follow.
 * `visibleOnly` leaves out the hidden context the client never sees.
 */
export const listItemsPage = (db: Db, threadId: string, page: PageParams, visibleOnly: boolean) => {
  const [cmp, dir] = page.order === 'asc' ? [sql.fragment`>`, sql.fragment`asc`] : [sql.fragment`<`, sql.fragment`desc`];
  const after = page.after
    ? sql.fragment`and seq ${cmp} coalesce((select seq from chat_item where thread_id = ${threadId} and id = ${page.after}), ${page.order === 'asc' ? sql.fragment`9223372036854775807` : sql.fragment`0`})`
    : sql.fragment``;
  const visible = visibleOnly ? sql.fragment`and type <> 'hidden_context_item'` : sql.fragment``;
  return db.any(sql.type(ItemRow)`
    select ${ITEM} from chat_item
    where thread_id = ${threadId} ${visible} ${after}
    order by seq ${dir}
    ${limitRows(page.limit + 1)}`);
};

/** Every item of a thread, oldest first, up to the newest `limit` (what the model is given). */
export const listRecentItems = (db: Db, threadId: string, limit: number) =>
  db.any(sql.type(ItemRow)`
    select * from (select ${ITEM} from chat_item where thread_id = ${threadId} order by seq desc ${limitRows(limit)}) recent
    order by seq asc`);

/** Removes what followed an item (threads.retry_after_item); returns the removed ids. */
export const deleteItemsAfter = (db: Db, threadId: string, seq: number) =>
  db.anyFirst(sql.type(z.object({ id: z.string() }))`
    delete from chat_item where thread_id = ${threadId} and seq > ${seq} returning id`);

export const touchThread = (db: Db, id: string) => db.query(sql.unsafe`update chat_thread set updated_at = now() where id = ${id}`);

export const insertAttachment = (db: Db, owner: Owner, a: { id: string; name: string; mimeType: string; size: number }) =>
  db.one(sql.type(AttachmentRow)`
    insert into chat_attachment (id, tenant_id, user_id, name, mime_type, size)
    values (${a.id}, ${owner.tenantId}, ${owner.userId}, ${a.name}, ${a.mimeType}, ${a.size})
    returning id, name, mime_type as "mimeType", size`);

/** The caller's attachments among `ids` (others' and unknown ids are simply absent). */
export const findAttachments = (db: Db, owner: Owner, ids: readonly string[]) =>
  db.any(sql.type(AttachmentRow)`
    select id, name, mime_type as "mimeType", size from chat_attachment
    where id = any(${sql.array(ids, 'text')}) and tenant_id = ${owner.tenantId} and user_id = ${owner.userId}`);

export const deleteAttachment = async (db: Db, owner: Owner, id: string): Promise<boolean> =>
  (await db.query(sql.unsafe`
    delete from chat_attachment where id = ${id} and tenant_id = ${owner.tenantId} and user_id = ${owner.userId}`)).rowCount > 0;
