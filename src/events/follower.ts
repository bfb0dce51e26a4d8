import type { AuditAction, Db, DatabasePool } from '../db/index.js';
import type { Logger } from '../observability/logger.js';
import { comparePositions, type Position } from './cursor.js';
import { listAllEvents, lockConsumerPosition, readHorizon, setConsumerPosition, type EventRow } from './events.sql.js';
import { positionOf } from './to-event.js';

const BATCH = 500;
/**
 * A follower runs at most this often: under a burst of writes it handles one batch per interval instead of one
 * transaction per write, so the writes do not pay for their consumers. Well within "a few seconds behind".
 */
const MIN_INTERVAL_MS = 500;

export interface LogFollower {
  /** Look for new events now (called by the event hub on every change, NOTIFY and poll). */
  wake(): void;
  /** Waits for the batch in progress, then stops. */
  stop(): Promise<void>;
}

/**
 * Follows the event log for one consumer, in feed order, never skipping an event. Each batch is handled in
 * one transaction that holds the consumer's position row: whatever `handle` writes commits together with the
 * new position, so every event is handled exactly once, by one instance at a time, whatever crashes.
 *
 * `actions`: the only events the consumer can act on. The others are left in the database: a batch is the next
 * BATCH of these, and when there are fewer, the position still moves to the horizon past all the events in
 * between, as it does without a filter. Under an agent fleet's progress reports, which no consumer acts on, the
 * consumer reads nothing.
 */
export function followEventLog(
  pool: DatabasePool,
  consumer: string,
  handle: (tx: Db, rows: readonly EventRow[]) => Promise<void>,
  logger: Logger,
  actions?: readonly AuditAction[],
): LogFollower {
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let lastStart = 0;
  let timer: NodeJS.Timeout | undefined;

  /** One batch; true when there may be more right away. */
  const step = () =>
    pool.transaction(async (tx) => {
      const from = await lockConsumerPosition(tx, consumer);
      if (!from) return false; // another instance is on it; the next wake-up looks again
      const { horizon } = await readHorizon(tx);
      const rows = await listAllEvents(tx, from, horizon, BATCH, actions);
      const last = rows[rows.length - 1];
      const atHorizon: Position = { xid: horizon, id: 0 };
      const to = rows.length === BATCH && last ? positionOf(last) : comparePositions(from, atHorizon) >= 0 ? from : atHorizon;
      if (rows.length) await handle(tx, rows);
      if (comparePositions(to, from) !== 0) await setConsumerPosition(tx, consumer, to);
      return rows.length === BATCH;
    });

  async function drain(): Promise<void> {
    while (!stopped && (await step()));
  }

  function wake(): void {
    if (stopped || timer) return;
    if (running) {
      again = true;
      return;
    }
    const wait = lastStart + MIN_INTERVAL_MS - Date.now();
    if (wait > 0) {
      timer = setTimeout(() => {
        timer = undefined;
        wake();
      }, wait);
      timer.unref();
      return;
    }
    lastStart = Date.now();
    running = drain()
      .catch((err: unknown) => logger.warn({ err, consumer }, 'event consumer failed; it retries from its position on the next change or poll'))
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
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
