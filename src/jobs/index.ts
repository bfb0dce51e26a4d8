import { PgBoss, type Job, type SendOptions } from 'pg-boss';
import type { Logger } from '../observability/logger.js';
import { jobQueueOptions } from '../db/job-schema.js';

/**
 * The one job queue of the process: pg-boss on our own PostgreSQL (schema `pgboss`). Producers send jobs,
 * modules register their workers here; server.ts starts it and stops it gracefully (running jobs finish,
 * queued ones wait in the database for the next instance). Its schema is installed with the migrations
 * (db/job-schema.ts).
 */

export interface QueueSpec {
  name: string;
  /** pg-boss's own retry of a job whose worker threw or died (expiry): not the business retries. */
  retryLimit?: number;
  expireInSeconds?: number;
}

export interface JobQueue {
  /** Queues a job; with a deterministic `id`, sending the same job twice queues it once (null the second time). */
  send(name: string, data: object, options?: SendOptions): Promise<string | null>;
  work<T extends object>(name: string, handler: (job: Job<T>) => Promise<void>, options?: { concurrency?: number }): Promise<void>;
  /**
   * Runs `task` in this process every `ms` (the first time after min(ms, 1 min)), one run at a time, until the queue stops: sweeps
   * whose rows are claimed in the database (due reminders, purges), so every instance may run them.
   */
  every(name: string, ms: number, task: () => Promise<void>): void;
  stop(): Promise<void>;
}

export interface JobSettings {
  pollIntervalSeconds: number;
  poolSize?: number;
}

/** Every queue of the application, created (if missing) when the queue starts. */
export const QUEUES: readonly QueueSpec[] = [
  // Business retries (the webhook backoff schedule) are new jobs; these retries only cover a worker that died.
  { name: 'webhook-delivery', retryLimit: 3, expireInSeconds: 60 },
];

export async function startJobQueue(url: string, settings: JobSettings, logger: Logger): Promise<JobQueue> {
  const boss = new PgBoss({ ...jobQueueOptions(url), max: settings.poolSize ?? 4, schedule: false });
  boss.on('error', (err) => logger.warn({ err }, 'job queue error'));
  await boss.start();
  for (const queue of QUEUES) {
    if (await boss.getQueue(queue.name)) continue;
    await boss.createQueue(queue.name, { retryLimit: queue.retryLimit ?? 3, retryDelay: 1, retryBackoff: true, expireInSeconds: queue.expireInSeconds ?? 60 });
  }
  const sweeps = new Set<NodeJS.Timeout>();
  const sweeping = new Set<Promise<void>>();
  let stopping = false;
  return {
    send: (name, data, sendOptions) => boss.send(name, data, sendOptions ?? {}),
    every(name, ms, task) {
      let running: Promise<void> | undefined;
      const run = () => {
        if (running || stopping) return;
        running = task()
          .catch((err: unknown) => logger.warn({ err, job: name }, 'scheduled job failed; it runs again at its next interval'))
          .finally(() => {
            sweeping.delete(running!);
            running = undefined;
          });
        sweeping.add(running);
      };
      // Not at once: a starting instance has enough to do. The first run comes after one interval (at most a minute).
      const first = setTimeout(run, Math.min(ms, 60_000));
      const timer = setInterval(run, ms);
      first.unref();
      timer.unref();
      sweeps.add(first);
      sweeps.add(timer);
    },
    async work<T extends object>(name: string, handler: (job: Job<T>) => Promise<void>, workOptions: { concurrency?: number } = {}) {
      await boss.work<T>(name, { pollingIntervalSeconds: settings.pollIntervalSeconds, localConcurrency: workOptions.concurrency ?? 4 }, async ([job]) => {
        if (job) await handler(job);
      });
    },
    async stop() {
      stopping = true;
      for (const timer of sweeps) clearTimeout(timer);
      await Promise.all(sweeping);
      await boss.stop({ graceful: true, timeout: 10_000, close: true });
    },
  };
}
