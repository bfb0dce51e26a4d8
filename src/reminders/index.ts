import { recordAudit, type Actor } from '../audit/index.js';
import type { Config } from '../config.js';
import type { DatabasePool } from '../db/index.js';
import { followEventLog, type EventHub } from '../events/index.js';
import type { JobQueue } from '../jobs/index.js';
import type { Logger } from '../observability/logger.js';
import { claimDueReminders, deleteReminder, markReminderFired, rescheduleReminders } from './reminders.sql.js';
import { REMINDER_ACTIONS, tasksToSchedule } from './schedule.js';
import { formatTier } from './tiers.js';

export { formatTier } from './tiers.js';

const FIRE_BATCH = 50;
const systemActor = (tenantId: string): Actor => ({ tenantId, workerId: null, handle: 'system', type: 'system' });

/**
 * Fires the reminders that are due, in one transaction per batch: each claimed reminder either still applies
 * (the task is open, assigned and has the same due date) and becomes a `reminder_due` audit entry — the
 * `task.reminder_due` event — marked fired in the same commit, or it is stale and dropped. Returns how many fired.
 */
export async function fireDueReminders(pool: DatabasePool): Promise<number> {
  let fired = 0;
  for (;;) {
    const { claimed, firedNow } = await pool.transaction(async (tx) => {
      const due = await claimDueReminders(tx, FIRE_BATCH);
      let firedNow = 0;
      for (const r of due) {
        if (!r.stillDue) {
          await deleteReminder(tx, r.id);
          continue;
        }
        await recordAudit(tx, systemActor(r.tenantId), {
          projectId: r.projectId,
          entityType: 'task',
          entityId: r.taskId,
          action: 'reminder_due',
          details: {
            tier: formatTier(r.tierSeconds),
            tier_seconds: r.tierSeconds,
            due_date: r.dueDate,
            scheduled_for: r.fireAt,
            late_by_ms: r.lateByMs,
            assignee_id: r.assigneeId,
          },
        });
        await markReminderFired(tx, r.id);
        firedNow++;
      }
      return { claimed: due.length, firedNow };
    });
    fired += firedNow;
    if (claimed < FIRE_BATCH) return fired;
  }
}

/**
 * Reminders: scheduled from the event log (task writes pay nothing for them), fired by a sweep every job poll
 * interval on every instance. A fired reminder wakes the event hub, so streams, webhooks and the inbox see it.
 */
export function startReminders(pool: DatabasePool, jobs: JobQueue, hub: EventHub, config: Config, logger: Logger) {
  const tiers = config.reminders.tiersSeconds;
  const scheduler = followEventLog(pool, 'reminders', (tx, rows) => rescheduleReminders(tx, tasksToSchedule(rows), tiers), logger, REMINDER_ACTIONS);
  hub.onWake(scheduler.wake);
  scheduler.wake();
  jobs.every('reminders-fire', config.jobs.pollIntervalSeconds * 1_000, async () => {
    const fired = await fireDueReminders(pool);
    if (fired > 0) {
      logger.info({ fired }, 'due-date reminders fired');
      hub.changed();
    }
  });
  return { stop: scheduler.stop };
}
