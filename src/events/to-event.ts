import type { Db } from '../db/index.js';
import { loadTasks } from '../tasks/index.js';
import type { EventRow } from './events.sql.js';
import { encodePosition } from './cursor.js';
import { eventTypeOf, type Event } from './types.js';

export const positionOf = (row: EventRow) => ({ xid: row.xid, id: row.id });
export const cursorOf = (row: EventRow) => encodePosition(positionOf(row));

/** Rows → events, with the current state of the tasks they are about (one query for all of them). */
export async function toEvents(db: Db, rows: readonly EventRow[]): Promise<Event[]> {
  const tasks = await loadTasks(db, rows.filter((r) => r.entityType === 'task').map((r) => r.entityId));
  return rows.map((row) => ({
    id: row.id,
    type: eventTypeOf(row.entityType, row.action) as Event['type'],
    occurred_at: row.createdAt,
    project_id: row.projectId,
    entity: { type: row.entityType, id: row.entityId },
    actor: { id: row.actorId, handle: row.actorHandle, type: row.actorType as Event['actor']['type'], client: row.client },
    data: { changes: row.details, task: row.entityType === 'task' ? (tasks.get(row.entityId) ?? null) : null },
  }));
}
