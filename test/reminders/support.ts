/** Helpers for the reminder suites (not a test file). */
import { sql } from 'slonik';
import type { DatabasePool } from 'slonik';
import { z } from 'zod';

/** Reminder tiers short enough to test in seconds: 3 s and 1 s before the due date. */
export const SHORT_TIERS = { REMINDER_TIERS: '3s,1s', JOBS_POLL_INTERVAL_SECONDS: '0.5', EVENTS_POLL_INTERVAL_MS: '200' };

/** A due date `ms` from now, as the API takes it. */
export const dueIn = (ms: number) => new Date(Date.now() + ms).toISOString();

const ReminderEntry = z.object({
  taskId: z.number(),
  actorId: z.number().nullable(),
  actorHandle: z.string(),
  actorType: z.string(),
  details: z.record(z.string(), z.unknown()),
});
export type ReminderEntry = z.infer<typeof ReminderEntry>;

/** The `reminder_due` audit entries (the `task.reminder_due` events) of these tasks, in order. */
export const reminderEvents = (pool: DatabasePool, taskIds: readonly number[]) =>
  pool.any(sql.type(ReminderEntry)`
    select entity_id as "taskId", actor_id as "actorId", actor_handle as "actorHandle", actor_type as "actorType", details
    from audit_log
    where action = 'reminder_due' and entity_type = 'task' and entity_id = any(${sql.array([...taskIds], 'int8')})
    order by id`);

/** How many times each (task, tier) fired: exactly-once means every value is 1. */
export async function firingsPerTier(pool: DatabasePool, taskIds: readonly number[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const e of await reminderEvents(pool, taskIds)) {
    const key = `${e.taskId}/${String(e.details.tier)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
