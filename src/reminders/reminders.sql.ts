import { sql } from 'slonik';
import { z } from 'zod';
import { Id, Timestamp, limitRows, type Db } from '../db/index.js';

export interface TaskToSchedule {
  taskId: number;
  /**
   * When the change that calls for (re)scheduling was made: tiers due before it are skipped, not fired late.
   * Null: now, when it is scheduled (imported history, whose entries keep their original times).
   */
  changedAt: string | null;
  /** The batch holds the task's creation, so it has no reminders to delete yet. */
  created: boolean;
}

/**
 * Brings the pending reminders of these tasks in line with the tasks as they are now: deletes the unfired ones
 * a task no longer calls for (completed, unassigned, deleted, another due date), and adds one per tier still
 * ahead of the change for an open, assigned task with a due date. A tier that already fired for this due date
 * stays fired (reminder_task_tier_due_key).
 */
export async function rescheduleReminders(tx: Db, tasks: readonly TaskToSchedule[], tiersSeconds: readonly number[]): Promise<void> {
  if (tasks.length === 0) return;
  const ids = tasks.map((t) => t.taskId);
  // A task created in this batch has no reminders yet, so the delete looks only at the others: under a stream of
  // creates it was 11 of the 42 µs per created task that the scheduler's statements took in PostgreSQL.
  const existing = tasks.filter((t) => !t.created).map((t) => t.taskId);
  if (existing.length) await tx.query(sql.unsafe`
    delete from reminder r
    where r.task_id = any(${sql.array(existing, 'int8')}) and r.fired_at is null
      and not exists (
        select 1 from task t
        where t.id = r.task_id and t.due_date = r.due_date and t.assignee_id is not null and t.status <> 'completed')`);
  if (tiersSeconds.length === 0) return;
  await tx.query(sql.unsafe`
    insert into reminder (task_id, tier_seconds, due_date, fire_at)
    select t.id, tier.seconds, t.due_date, t.due_date - make_interval(secs => tier.seconds)
    from unnest(${sql.array(ids, 'int8')}, ${sql.array(tasks.map((t) => t.changedAt), 'timestamptz')}) as changed(task_id, at)
    join task t on t.id = changed.task_id
    cross join unnest(${sql.array([...tiersSeconds], 'int4')}) as tier(seconds)
    where t.due_date is not null and t.assignee_id is not null and t.status <> 'completed'
      and t.due_date - make_interval(secs => tier.seconds) > coalesce(changed.at, now())
    on conflict (task_id, tier_seconds, due_date) do nothing`);
}

export const DueReminder = z.object({
  id: Id,
  taskId: Id,
  tierSeconds: z.number().int(),
  dueDate: Timestamp,
  fireAt: Timestamp,
  lateByMs: z.number().int(),
  tenantId: z.string(),
  projectId: Id,
  /** Whether the task still calls for this reminder right now (stale rows are dropped, not fired). */
  stillDue: z.boolean(),
  assigneeId: Id.nullable(),
});
export type DueReminder = z.infer<typeof DueReminder>;

/**
 * Claims up to `limit` reminders that are due and not fired, oldest first, locking them for this transaction.
 * Rows another instance is firing are skipped, and a crashed instance's claims are released with its
 * connection, so any instance fires what is due.
 */
export const claimDueReminders = (tx: Db, limit: number) =>
  tx.any(sql.type(DueReminder)`
    select r.id, r.task_id as "taskId", r.tier_seconds as "tierSeconds", r.due_date as "dueDate", r.fire_at as "fireAt",
           greatest(0, floor(extract(epoch from clock_timestamp() - r.fire_at) * 1000))::int as "lateByMs",
           t.tenant_id as "tenantId", t.project_id as "projectId", t.assignee_id as "assigneeId",
           (t.due_date = r.due_date and t.assignee_id is not null and t.status <> 'completed') as "stillDue"
    from reminder r
    join task t on t.id = r.task_id
    where r.fired_at is null and r.fire_at <= now()
    order by r.fire_at, r.id
    ${limitRows(limit)}
    for update of r skip locked`);

export const markReminderFired = (tx: Db, id: number) =>
  tx.query(sql.unsafe`update reminder set fired_at = now() where id = ${id}`);

export const deleteReminder = (tx: Db, id: number) => tx.query(sql.unsafe`delete from reminder where id = ${id}`);
