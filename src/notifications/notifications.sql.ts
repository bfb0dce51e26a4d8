import { sql } from 'slonik';
import { z } from 'zod';
import { ActorType, Id, JsonObject, NotificationType, Timestamp, limitRows, type Db } from '../db/index.js';
import type { NotificationDraft, TaskParties } from './produce.js';

const PartiesRow = z.object({ id: Id, title: z.string(), createdById: Id, assigneeId: Id.nullable() });

/** Title, creator and assignee of these tasks as they are now; deleted ones are left out. */
export const listTaskParties = (db: Db, ids: readonly number[]): Promise<readonly TaskParties[]> =>
  ids.length === 0
    ? Promise.resolve([])
    : db.any(sql.type(PartiesRow)`
        select id, title, created_by_id as "createdById", assignee_id as "assigneeId"
        from task where id = any(${sql.array([...ids], 'int8')})`);

/**
 * Inserts the drafts in one statement, in their order (ids follow the event log, so "newest first" is the order
 * things happened); a notification already produced for the event and recipient is kept.
 */
export async function insertNotifications(db: Db, drafts: readonly NotificationDraft[]): Promise<void> {
  if (drafts.length === 0) return;
  const rows = drafts.map((d, seq) => ({ ...d, seq }));
  await db.query(sql.unsafe`
    insert into notification (tenant_id, recipient_id, event_id, type, project_id, task_id, task_title,
                              actor_id, actor_handle, actor_type, data)
    select x.tenant_id, x.recipient_id, x.event_id, x.type, x.project_id, x.task_id, x.task_title,
           x.actor_id, x.actor_handle, x.actor_type, x.data
    from jsonb_to_recordset(${sql.jsonb(rows as never)}) as x(
      tenant_id text, recipient_id bigint, event_id bigint, type text, project_id bigint, task_id bigint,
      task_title text, actor_id bigint, actor_handle text, actor_type text, data jsonb, seq int)
    where exists (select 1 from worker w where w.id = x.recipient_id and w.tenant_id = x.tenant_id)
    order by x.seq
    on conflict (event_id, recipient_id) do nothing`);
}

export const NotificationRow = z.object({
  id: Id,
  type: NotificationType,
  eventId: Id,
  projectId: Id.nullable(),
  taskId: Id.nullable(),
  taskTitle: z.string(),
  actorId: Id.nullable(),
  actorHandle: z.string(),
  actorType: ActorType,
  data: JsonObject,
  readAt: Timestamp.nullable(),
  createdAt: Timestamp,
});
export type NotificationRow = z.infer<typeof NotificationRow>;

const COLUMNS = sql.fragment`
  n.id, n.type, n.event_id as "eventId", n.project_id as "projectId", n.task_id as "taskId", n.task_title as "taskTitle",
  n.actor_id as "actorId", n.actor_handle as "actorHandle", n.actor_type as "actorType", n.data,
  n.read_at as "readAt", n.created_at as "createdAt"`;

/** A page of a worker's notifications, newest first, limit + 1 rows. */
export function listNotificationsPage(db: Db, recipientId: number, unread: boolean | undefined, beforeId: number | undefined, limit: number) {
  const conditions = [
    sql.fragment`n.recipient_id = ${recipientId}`,
    ...(unread === undefined ? [] : [unread ? sql.fragment`n.read_at is null` : sql.fragment`n.read_at is not null`]),
    ...(beforeId === undefined ? [] : [sql.fragment`n.id < ${beforeId}`]),
  ];
  return db.any(sql.type(NotificationRow)`
    select ${COLUMNS} from notification n
    where ${sql.join(conditions, sql.fragment` and `)}
    order by n.id desc
    ${limitRows(limit + 1)}`);
}

export const countUnreadNotifications = (db: Db, recipientId: number) =>
  db.oneFirst(sql.type(z.object({ count: z.number().int() }))`
    select count(*)::int as count from notification where recipient_id = ${recipientId} and read_at is null`);

/** Marks one of the worker's notifications read (keeping an earlier read_at); null when it is not theirs or gone. */
export const markNotificationRead = (db: Db, recipientId: number, id: number) =>
  db.maybeOne(sql.type(NotificationRow)`
    update notification n set read_at = coalesce(n.read_at, now())
    where n.id = ${id} and n.recipient_id = ${recipientId}
    returning ${COLUMNS}`);

/** Marks every unread notification of the worker read; returns how many. */
export async function markAllNotificationsRead(db: Db, recipientId: number): Promise<number> {
  const result = await db.query(sql.unsafe`
    update notification set read_at = now() where recipient_id = ${recipientId} and read_at is null`);
  return result.rowCount;
}

/** Deletes up to `batch` notifications older than `days` days; returns how many. */
export async function purgeOldNotifications(db: Db, days: number, batch = 10_000): Promise<number> {
  const result = await db.query(sql.unsafe`
    delete from notification where id in (
      select id from notification where created_at < now() - make_interval(days => ${days}) ${limitRows(batch)})`);
  return result.rowCount;
}
