/**
 * The event hub under a stream of writes with nobody listening (src/events/hub.ts): what it asks the database, how
 * often it tells the other instances and how often it wakes its listeners (webhook dispatch, notifications, reminders). A burst of changes must not turn
 * into a read of the event log per change, nor into a wake-up of every consumer per change, and the last change
 * of a burst must still be looked at after it (the follow-ups), so nothing waits for the poll.
 */
import type { DatabasePool } from 'slonik';
import { createEventHub, type EventHub } from '../../src/events/index.js';
import { createLogger } from '../../src/observability/logger.js';
import { startTestDatabase, type TestDatabaseOnly } from '../helpers/app.js';

let t: TestDatabaseOnly;
let hub: EventHub | undefined;
const statements: string[] = [];

/** The pool, recording the SQL text of every statement the hub sends through it. */
const recording = (pool: DatabasePool): DatabasePool =>
  new Proxy(pool, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const text = (args[0] as { sql?: unknown } | undefined)?.sql;
        if (typeof text === 'string') statements.push(text);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  t = await startTestDatabase();
});
afterAll(async () => {
  await hub?.close();
  await t?.close();
});

it('a burst of 200 changes with no stream open reads nothing, sends a few NOTIFYs, and wakes the listeners a few times, the last after the burst', async () => {
  hub = createEventHub(
    recording(t.pool),
    { pollIntervalMs: 60_000, heartbeatMs: 15_000, maxStreamsPerUser: 5, streamBufferBytes: 1 << 20, listen: false, listenUrl: undefined },
    createLogger('silent'),
  );
  const wakes: number[] = [];
  hub.onWake(() => wakes.push(performance.now()));
  await sleep(100);
  statements.length = 0;
  wakes.length = 0;

  const start = performance.now();
  for (let i = 0; i < 200; i++) {
    hub.changed();
    if (i % 20 === 19) await sleep(25); // 200 changes over ~250 ms
  }
  const burstEnd = performance.now();
  await sleep(1_400); // the last follow-up is due 1 s after the last change

  // Nobody listens: the hub reads nothing at all (no rows, not even the horizon), and tells the other instances
  // at most every 50 ms, the burst's end included.
  expect(statements.filter((s) => /audit_log|pg_current_snapshot/.test(s))).toEqual([]);
  const notifies = statements.filter((s) => /pg_notify/.test(s)).length;
  expect(notifies).toBeGreaterThanOrEqual(2);
  expect(notifies).toBeLessThanOrEqual(Math.ceil((burstEnd - start) / 50) + 2);
  // At most one wake-up of the listeners per 100 ms, and still one after the burst's last follow-up.
  expect(wakes.length).toBeLessThanOrEqual(Math.ceil((performance.now() - start) / 100) + 1);
  for (let i = 1; i < wakes.length; i++) expect(wakes[i]! - wakes[i - 1]!).toBeGreaterThanOrEqual(95);
  expect(wakes.at(-1)!).toBeGreaterThanOrEqual(burstEnd + 950);
});
