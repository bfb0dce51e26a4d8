import type { DatabasePool } from '../db/index.js';
import { comparePositions, eventTypeOf, listAllEvents, positionOf, readHorizon, type Position } from '../events/index.js';
import type { JobQueue } from '../jobs/index.js';
import type { Logger } from '../observability/logger.js';
import { DELIVERY_QUEUE, deliveryJobId, type DeliveryJob } from './deliver.js';
import { advanceDispatchPosition, anyActiveWebhook, listActiveWebhooks, readDispatchPosition } from './webhooks.sql.js';

const BATCH = 500;

/**
 * Turns new events into delivery jobs. Any instance may run it: the position advances by compare-and-set and
 * job ids are deterministic, so two instances racing queue every delivery once.
 */
export function createDispatcher(pool: DatabasePool, jobs: JobQueue, logger: Logger) {
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  async function dispatch(): Promise<void> {
    for (;;) {
      const from = await readDispatchPosition(pool);
      const { horizon } = await readHorizon(pool);
      const atHorizon: Position = { xid: horizon, id: 0 };
      // No active webhook anywhere: nothing in this stretch can be delivered (a webhook only gets events from
      // after its creation), so move past it without reading the rows.
      const rows = (await anyActiveWebhook(pool)) ? await listAllEvents(pool, from, horizon, BATCH) : [];
      const last = rows[rows.length - 1];
      const to = rows.length === BATCH && last ? positionOf(last) : comparePositions(from, atHorizon) >= 0 ? from : atHorizon;
      const projectIds = [...new Set(rows.map((r) => r.projectId).filter((p): p is number => p !== null))];
      const hooks = await listActiveWebhooks(pool, projectIds);
      for (const row of rows) {
        const type = eventTypeOf(row.entityType, row.action);
        for (const hook of hooks) {
          if (hook.projectId !== row.projectId || hook.tenantId !== row.tenantId) continue;
          // No list means every domain event; changes of the webhooks themselves only when asked for by name.
          if (hook.eventTypes.length ? !hook.eventTypes.includes(type) : type.startsWith('webhook.')) continue;
          if (Date.parse(row.createdAt) < Date.parse(hook.createdAt)) continue;
          const messageId = `msg_evt_${row.id}`;
          const job: DeliveryJob = { webhookId: hook.id, messageId, eventId: row.id, eventType: type, attempt: 1 };
          await jobs.send(DELIVERY_QUEUE, job, { id: deliveryJobId(hook.id, messageId, 1) });
        }
      }
      if (comparePositions(to, from) === 0) return;
      if (!(await advanceDispatchPosition(pool, from, to))) continue; // another instance moved on: read again from there
      if (rows.length < BATCH) return;
    }
  }

  function wake(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = dispatch()
      .catch((err: unknown) => logger.warn({ err }, 'webhook dispatch failed; retried on the next change or poll'))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          wake();
        }
      });
  }

  return {
    wake,
    async stop(): Promise<void> {
      stopped = true;
      await running;
    },
  };
}
