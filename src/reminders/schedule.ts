import type { AuditAction } from '../db/index.js';
import type { EventRow } from '../events/index.js';
import type { TaskToSchedule } from './reminders.sql.js';

const statusOf = (details: Record<string, unknown>) => details.status as { before?: string; after?: string } | undefined;

/**
 * The actions that can change the reminders a task calls for: the scheduler reads only these from the event log.
 * A deleted task's reminders go with it (on delete cascade).
 */
export const REMINDER_ACTIONS = [
  'task_created', 'task_updated', 'assigned', 'claimed', 'recurrence_spawned', 'status_changed', 'approved', 'rejected',
] as const satisfies readonly AuditAction[];

/** Whether an event can change the reminders a task calls for (its due date, assignee or completion). */
export function changesReminders(row: EventRow): boolean {
  if (row.entityType !== 'task') return false;
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
 */
export function tasksToSchedule(rows: readonly EventRow[]): TaskToSchedule[] {
  const latest = new Map<number, TaskToSchedule>();
  for (const row of rows) {
    if (!changesReminders(row)) continue;
    const created = row.action === 'task_created';
    const seen = latest.get(row.entityId);
    if (seen === undefined) latest.set(row.entityId, { taskId: row.entityId, changedAt: row.createdAt, created });
    else {
      if (Date.parse(row.createdAt) > Date.parse(seen.changedAt)) seen.changedAt = row.createdAt;
      if (created) seen.created = true;
    }
  }
  return [...latest.values()];
}
