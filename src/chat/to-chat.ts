import { randomBytes } from 'node:crypto';
import type { AttachmentRow, ItemRow, ThreadRow } from './chat.sql.js';
import type { Attachment, Page, Thread, ThreadItem, ThreadStatus } from './protocol.js';

/** Protocol ids: a kind prefix and 96 random bits, e.g. `thr_3f9a0c…`, `msg_…`, `atc_…`. */
export const newId = (prefix: 'thr' | 'msg' | 'ctx' | 'atc'): string => `${prefix}_${randomBytes(12).toString('hex')}`;

export const toItem = (row: ItemRow): ThreadItem =>
  ({ ...row.body, type: row.type, id: row.id, thread_id: row.threadId, created_at: row.createdAt }) as ThreadItem;

export const toThread = (row: ThreadRow, items: Page<ThreadItem> = { data: [], has_more: false }): Thread => ({
  id: row.id,
  ...(row.title !== null ? { title: row.title } : {}),
  created_at: row.createdAt,
  status: row.status as ThreadStatus,
  items,
});

/** A page from rows fetched with `limit + 1`: the extra row only says that more follow. */
export function toPage<R extends { id: string }, T>(rows: readonly R[], limit: number, map: (row: R) => T): Page<T> {
  const page = rows.slice(0, limit);
  const hasMore = rows.length > limit;
  return { data: page.map(map), has_more: hasMore, ...(hasMore ? { after: page[page.length - 1]!.id } : {}) };
}

export const toAttachment = (row: AttachmentRow): Attachment => ({
  // Always a file: an image attachment needs a preview_url, and this server keeps no bytes to preview.
  type: 'file',
  id: row.id,
  name: row.name,
  mime_type: row.mimeType,
});
