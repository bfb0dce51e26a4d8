import type { Config } from '../config.js';
import type { DatabasePool } from '../db/index.js';
import { followEventLog, type EventHub } from '../events/index.js';
import type { JobQueue } from '../jobs/index.js';
import type { Logger } from '../observability/logger.js';
import { insertNotifications, listTaskParties, purgeOldNotifications } from './notifications.sql.js';
import { NOTIFYING_ACTIONS, notificationsFor } from './produce.js';

export { notificationHandlers } from './notifications.handlers.js';

const PURGE_EVERY_MS = 60 * 60_000;

/** Deletes every notification older than the retention period; returns how many. */
export async function purgeNotifications(pool: DatabasePool, retentionDays: number): Promise<number> {
  let purged = 0;
  for (let n = await purgeOldNotifications(pool, retentionDays); n > 0; n = await purgeOldNotifications(pool, retentionDays)) purged += n;
  return purged;
}

/**
 * The inbox is produced from the event log, a moment after the change and outside its transaction: a task
 * write costs the same with or without notifications. Retention is a scheduled purge.
 */
export function startNotifications(pool: DatabasePool, jobs: JobQueue, hub: EventHub, config: Config, logger: Logger) {
  const producer = followEventLog(
    pool,
    'notifications',
    async (tx, rows) => {
      const taskRows = rows.filter((r) => r.entityType === 'task');
      if (taskRows.length === 0) return;
      const parties = new Map((await listTaskParties(tx, [...new Set(taskRows.map((r) => r.entityId))])).map((t) => [t.id, t]));
      await insertNotifications(tx, taskRows.flatMap((row) => notificationsFor(row, parties.get(row.entityId))));
    },
    logger,
    NOTIFYING_ACTIONS,
  );
  hub.onWake(producer.wake);
  producer.wake();
  jobs.every('notifications-purge', PURGE_EVERY_MS, async () => {
    const purged = await purgeNotifications(pool, config.notifications.retentionDays);
    if (purged > 0) logger.info({ purged, retentionDays: config.notifications.retentionDays }, 'old notifications purged');
  });
  return { stop: producer.stop };
}
