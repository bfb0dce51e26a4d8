import type { AuditAction } from '../db/index.js';
import { isImportedHistory, type EventRow } from '../events/index.js';
import type { TaskToSchedule } from './reminders.sql.js';

const statusOf = (details: Record<string, unknown>) => details.status as { before?: string; after?: string } | undefined;

/**
 * The actions that can change the reminders a task calls for: the scheduler reads only these from the event log.
 * A deleted task's reminders go with it (on delete cascade).
 */
export const REMINDER_ACTIONS = [
  'task_created', 'task_updated', 'assigned', 'claimed', 'recurrence_spawned', 'status_changed', 'approved', 'rejected',
] as const satisfies readonly AuditAction[];

/**
 * Whether an event can change the reminders a task calls for (its due date, assignee or completion). Any of a
 * task's imported history does: the task is scheduled from what it is now, as if it had just been created.
 */
export function changesReminders(row: EventRow): boolean {
  if (row.entityType !== 'task') return false;
  if (isImportedHistory(row.details)) return (REMINDER_ACTIONS as readonly string[]).includes(row.action);
  const d = row.details;
  switch (row.action as (typeof REMINDER_ACTIONS)[number]) {
    case 'task_created':
      return d.assignee_id != null && d.due_date != null;
    case 'task_updated':
      return 'due_date' in d;
    case 'assigned':
    case 'claimed': // a claim makes the claimant the assignee
    case 'recurrence_spawned':
      return true;
    case 'status_changed':
    case 'approved':
    case 'rejected':
      return statusOf(d)?.after === 'completed' || statusOf(d)?.before === 'completed';
    default:
      return false;
  }
}

/**
 * The tasks of a batch of events whose reminders must be brought up to date, each with its latest change, and
 * whether the batch holds the task's creation: then no earlier batch saw the task, so it has no reminders yet.
 * Imported history is timed when it is scheduled (changedAt null): its entries keep their original times, and a
 * tier that fell due a year ago is history too, not a reminder to fire now.
 */
export function tasksToSchedule(rows: readonly EventRow[]): TaskToSchedule[] {
  const latest = new Map<number, TaskToSchedule>();
  for (const row of rows) {
    if (!changesReminders(row)) continue;
    const created = row.action === 'task_created';
    const changedAt = isImportedHistory(row.details) ? null : row.createdAt;
    const seen = latest.get(row.entityId);
    if (seen === undefined) latest.set(row.entityId, { taskId: row.entityId, changedAt, created });
    else {
      if (seen.changedAt !== null && (changedAt === null || Date.parse(changedAt) > Date.parse(seen.changedAt))) seen.changedAt = changedAt;
      if (created) seen.created = true;
    }
  }
  return [...latest.values()];
}
