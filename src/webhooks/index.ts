import type { Config } from '../config.js';
import type { DatabasePool } from '../db/index.js';
import type { EventHub } from '../events/index.js';
import type { JobQueue } from '../jobs/index.js';
import type { Logger } from '../observability/logger.js';
import { DELIVERY_QUEUE, deliveryWorker, type DeliveryJob } from './deliver.js';
import { createDispatcher } from './dispatch.js';

export { webhookHandlers } from './webhooks.handlers.js';
export { sign, verify } from './signature.js';

/** Starts the dispatcher (woken with the event hub) and the delivery worker; returns how to stop them. */
export async function startWebhooks(pool: DatabasePool, jobs: JobQueue, hub: EventHub, config: Config, logger: Logger) {
  const dispatcher = createDispatcher(pool, jobs, logger);
  hub.onWake(dispatcher.wake);
  dispatcher.wake();
  await jobs.work<DeliveryJob>(DELIVERY_QUEUE, deliveryWorker(pool, jobs, config.webhooks, logger), { concurrency: 8 });
  return { stop: dispatcher.stop };
}
