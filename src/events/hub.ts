import type { Response } from 'express';
import pg from 'pg';
import { sql } from 'slonik';
import type { Config } from '../config.js';
import { pgClientConfig, type DatabasePool } from '../db/index.js';
import { leaveAdmission } from '../http/admission.js';
import { ProblemError } from '../http/problem.js';
import type { Principal } from '../http/principal.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { comparePositions, encodePosition, type Position } from './cursor.js';
import { listAllEvents, listProjectMembers, readHorizon, type EventRow, type EventScope } from './events.sql.js';
import { readFeedPage } from './feed.js';
import { positionOf, toEvents } from './to-event.js';
import type { Event } from './types.js';

export const CHANNEL = 'taskflow_events';
const BATCH = 500;
const RETRY_HINT_MS = 2_000;
/** After a change, the horizon may still be held back by a transaction that started earlier: look again shortly. */
const FOLLOW_UPS_MS = [50, 250, 1_000];
/** The least time between two NOTIFYs to the other instances (see notifyOthers). */
const NOTIFY_EVERY_MS = 50;
/** The least time between two wake-ups of the hub's listeners (see wakeListenersSoon). */
const LISTENERS_EVERY_MS = 100;
/** How long a catching-up stream waits for its client to read what was sent before it is cut off. */
const DRAIN_TIMEOUT_MS = 30_000;

interface Subscriber {
  key: string;
  scope: EventScope;
  position: Position;
  catchingUp: boolean;
  res: Response;
  heartbeat: NodeJS.Timeout;
}

export interface EventHub {
  /** Serves one SSE stream until the client goes away or the hub closes. */
  stream(who: Principal, scope: EventScope, resumeFrom: Position | undefined, res: Response): Promise<void>;
  /** A change was committed through this instance: wake the local streams and tell the other instances. */
  changed(): void;
  readonly openStreams: number;
  /** Also run `listener` whenever the hub looks for new events (the webhook dispatcher follows the same signals). */
  onWake(listener: () => void): void;
  /** Ends every stream (clients reconnect elsewhere with Last-Event-ID) and stops listening. */
  close(): Promise<void>;
}

type Settings = Config['events'];

/**
 * One per process: reads the event log once for all streams (on NOTIFY, after local writes, and every
 * poll interval as a fallback) and fans each batch out to the streams allowed to see it.
 */
export function createEventHub(
  pool: DatabasePool,
  settings: Settings,
  logger: Logger,
  metrics?: Pick<Metrics, 'eventStreamsOpen' | 'eventStreamsCut'>,
): EventHub {
  const subscribers = new Set<Subscriber>();
  const perUser = new Map<string, number>();
  let position: Position | undefined;
  /** One stream of a user fewer. */
  const release = (key: string) => {
    const left = (perUser.get(key) ?? 1) - 1;
    if (left > 0) perUser.set(key, left);
    else perUser.delete(key);
  };
  /** Streams between their request and their place among the subscribers: the hub must not go idle under them. */
  let joining = 0;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  let listener: pg.Client | undefined;
  let notifyPending = false;
  let notifyInFlight = false;
  const timers = new Set<NodeJS.Timeout>();
  const wakeListeners: (() => void)[] = [];

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    t.unref();
    timers.add(t);
  };

  /**
   * A client that does not read: its unsent data piles up in our memory. When more than
   * EVENTS_STREAM_BUFFER_BYTES still wait unsent as the next batch of events (or a heartbeat) is due, the
   * stream is cut off (the client resumes from Last-Event-ID). A batch itself is written whole, so a burst of
   * large events never cuts a client that keeps up: memory per stream stays under the limit plus one batch.
   */
  const cut = (sub: Subscriber) => {
    logger.warn({ buffered: sub.res.writableLength, limit: settings.streamBufferBytes }, 'event stream client too slow: disconnected');
    metrics?.eventStreamsCut.inc();
    sub.res.destroy();
  };
  /** False (and the stream cut off) when the client has not read what was sent before. */
  const keepingUp = (sub: Subscriber): boolean => {
    if (sub.res.destroyed) return false;
    if (sub.res.writableLength <= settings.streamBufferBytes) return true;
    cut(sub);
    return false;
  };
  const write = (sub: Subscriber, text: string) => {
    if (!sub.res.destroyed) sub.res.write(text);
  };
  /** Catching up writes pages of up to 500 events: between them it waits for the client to read (backpressure). */
  const drained = async (sub: Subscriber): Promise<void> => {
    if (sub.res.destroyed || sub.res.writableLength <= settings.streamBufferBytes / 2) return;
    const ok = await new Promise<boolean>((resolve) => {
      const done = (result: boolean) => {
        clearTimeout(timer);
        sub.res.off('drain', onDrain);
        sub.res.off('close', onClose);
        resolve(result);
      };
      const onDrain = () => done(true);
      const onClose = () => done(true);
      const timer = setTimeout(() => done(false), DRAIN_TIMEOUT_MS);
      sub.res.once('drain', onDrain);
      sub.res.once('close', onClose);
    });
    if (!ok && !sub.res.destroyed) cut(sub);
  };
  const send = (sub: Subscriber, event: Event, at: Position) =>
    write(sub, `id: ${encodePosition(at)}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);

  const matches = (sub: Subscriber, row: EventRow, members: Map<number, Set<number>>) => {
    const s = sub.scope;
    if (row.tenantId !== s.tenantId) return false;
    if (s.projectId !== undefined && row.projectId !== s.projectId) return false;
    if (s.actions && !s.actions.includes(row.action)) return false;
    if (row.projectId === null) return row.entityType === 'agent';
    return members.get(row.projectId)?.has(s.workerId) ?? false;
  };

  /** Reads what is new for everyone, once, and hands it to the streams. */
  async function tick(): Promise<void> {
    if (subscribers.size === 0 && joining === 0) {
      // Nobody listens: nothing to read, not even the horizon. The hub forgets where it was; the next stream to
      // join makes it start again from the present (the stretch in between had no one to be sent to).
      position = undefined;
      return;
    }
    if (position === undefined) {
      const { horizon } = await readHorizon(pool);
      position = { xid: horizon, id: 0 };
    }
    for (;;) {
      const from = position;
      const { horizon } = await readHorizon(pool);
      if (subscribers.size === 0) {
        // Only a stream still joining: move to the present without reading rows no one is sent.
        position = maxPosition(from, { xid: horizon, id: 0 });
        return;
      }
      const rows = await listAllEvents(pool, from, horizon, BATCH);
      const last = rows[rows.length - 1];
      const to: Position = rows.length === BATCH && last ? positionOf(last) : maxPosition(from, { xid: horizon, id: 0 });
      if (rows.length && subscribers.size) {
        const projectIds = [...new Set(rows.map((r) => r.projectId).filter((p): p is number => p !== null))];
        const members = new Map<number, Set<number>>();
        for (const m of await listProjectMembers(pool, projectIds)) {
          if (!members.has(m.projectId)) members.set(m.projectId, new Set());
          members.get(m.projectId)!.add(m.workerId);
        }
        const wanted = rows.filter((row) => [...subscribers].some((sub) => matches(sub, row, members)));
        const events = await toEvents(pool, wanted);
        const byRow = new Map(wanted.map((row, i) => [row, events[i]!]));
        for (const sub of subscribers) {
          if (sub.catchingUp || comparePositions(sub.position, to) >= 0) continue;
          if (comparePositions(sub.position, from) < 0) {
            void catchUp(sub); // it fell behind this batch (it joined with an older cursor): it reads the gap itself
            continue;
          }
          if (!keepingUp(sub)) continue;
          for (const row of wanted) {
            const at = positionOf(row);
            if (comparePositions(at, sub.position) > 0 && matches(sub, row, members)) send(sub, byRow.get(row)!, at);
          }
          sub.position = to;
        }
      } else {
        for (const sub of subscribers) if (!sub.catchingUp && comparePositions(sub.position, from) >= 0) sub.position = maxPosition(sub.position, to);
      }
      position = to;
      if (rows.length < BATCH) return;
    }
  }

  /** Brings one stream from its own position up to the hub's, through the visibility-checked feed. */
  async function catchUp(sub: Subscriber): Promise<void> {
    sub.catchingUp = true;
    try {
      // No hub position (it had gone idle): the next run of tick() starts from the present and, this stream being
      // behind it, calls catchUp again.
      while (!sub.res.destroyed && position !== undefined && comparePositions(sub.position, position) < 0) {
        const page = await readFeedPage(pool, sub.scope, sub.position, BATCH);
        const events = await toEvents(pool, page.rows);
        for (const [i, row] of page.rows.entries()) {
          send(sub, events[i]!, positionOf(row));
          await drained(sub);
        }
        sub.position = page.next;
      }
    } catch (err) {
      logger.warn({ err }, 'event stream could not catch up; it ends and the client resumes from its last id');
      sub.res.end();
    } finally {
      sub.catchingUp = false;
    }
  }

  /**
   * The wake listeners (webhook dispatch, notifications, reminders) run at most every LISTENERS_EVERY_MS, the
   * last wake of a burst always included: under a steady write load they would otherwise loop back to back,
   * each pass a handful of statements, and compete with the writes for the database.
   */
  let listenersRanAt = -Infinity;
  let listenersArmed = false;
  function wakeListenersSoon(): void {
    if (listenersArmed) return;
    const wait = listenersRanAt + LISTENERS_EVERY_MS - performance.now();
    const run = () => {
      listenersArmed = false;
      listenersRanAt = performance.now();
      for (const listener of wakeListeners) listener();
    };
    if (wait <= 0) return run();
    listenersArmed = true;
    later(wait, run);
  }

  /** Runs tick() one at a time; a wake-up during a run schedules exactly one more run. */
  function wake(): void {
    if (closed) return;
    wakeListenersSoon();
    if (running) {
      again = true;
      return;
    }
    running = tick()
      .catch((err: unknown) => logger.warn({ err }, 'reading the event log failed; streams pause and resume from their position'))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          wake();
        }
      });
  }

  const poll = setInterval(wake, settings.pollIntervalMs);
  poll.unref();

  async function listen(): Promise<void> {
    if (!settings.listen || !settings.listenUrl || closed) return;
    const client = new pg.Client(pgClientConfig(settings.listenUrl));
    client.on('notification', () => {
      wake();
      followUp();
    });
    client.on('error', (err) => logger.warn({ err }, 'event listener connection failed; polling until it is back'));
    client.on('end', () => {
      if (listener === client) listener = undefined;
      if (!closed) later(1_000, () => void listen());
    });
    try {
      await client.connect();
      await client.query(`listen ${CHANNEL}`);
      listener = client;
      wake(); // whatever was notified while we were not listening
    } catch (err) {
      logger.warn({ err }, 'could not LISTEN for events; polling every %d ms', settings.pollIntervalMs);
      await client.end().catch(() => {});
    }
  }
  void listen();

  /**
   * Looks again FOLLOW_UPS_MS after a change (local or notified). One timer per delay however many changes
   * arrive: a change while that delay's timer is pending only pushes its due time, and the timer re-arms for the
   * rest when it fires, so the last change of a burst still gets every follow-up, and 500 writes a second set
   * three timers, not 1,500.
   */
  const followUps = FOLLOW_UPS_MS.map((ms) => ({ ms, dueAt: 0, armed: false }));
  function followUp(): void {
    const now = performance.now();
    for (const f of followUps) {
      f.dueAt = now + f.ms;
      if (f.armed) continue;
      f.armed = true;
      const fire = () => {
        const left = f.dueAt - performance.now();
        if (left > 1) return later(left, fire);
        f.armed = false;
        wake();
      };
      later(f.ms, fire);
    }
  }

  /**
   * NOTIFY the other instances: one at a time and at most one per NOTIFY_EVERY_MS, the last change of a burst
   * always included (under a steady write load one NOTIFY per round trip was a statement per write or two).
   */
  let notifiedAt = -Infinity;
  function notifyOthers(): void {
    if (notifyInFlight) {
      notifyPending = true;
      return;
    }
    const wait = notifiedAt + NOTIFY_EVERY_MS - performance.now();
    if (wait > 0) {
      notifyPending = true;
      notifyInFlight = true;
      later(wait, () => {
        notifyInFlight = false;
        notifyPending = false;
        notifyOthers();
      });
      return;
    }
    notifyInFlight = true;
    notifiedAt = performance.now();
    pool
      .query(sqlNotify)
      .catch((err: unknown) => logger.debug({ err }, 'NOTIFY failed; other instances will poll'))
      .finally(() => {
        notifyInFlight = false;
        if (notifyPending) {
          notifyPending = false;
          notifyOthers();
        }
      });
  }

  return {
    get openStreams() {
      return subscribers.size;
    },
    onWake(listener) {
      wakeListeners.push(listener);
    },
    changed() {
      if (closed) return;
      notifyOthers();
      wake();
      followUp();
    },
    async stream(who, scope, resumeFrom, res) {
      if (closed) throw new ProblemError('unavailable', { detail: 'The server is shutting down; reconnect', headers: { 'Retry-After': '1' } });
      const key = `${who.tenantId}\u0000${who.userId}`;
      const open = perUser.get(key) ?? 0;
      if (open >= settings.maxStreamsPerUser) {
        throw new ProblemError('too-many-streams', {
          detail: `You already have ${open} open event streams; close one before opening another`,
          headers: { 'Retry-After': '5' },
        });
      }
      let first: Awaited<ReturnType<typeof readFeedPage>> | undefined;
      let ended: Promise<void> | undefined;
      let sub: Subscriber | undefined;
      // Until it is among the subscribers, the stream counts as joining: the hub keeps its position meanwhile.
      joining++;
      let joined = false;
      let counted = false;
      try {
        // A new stream starts at the log's present, not where this instance last looked (its poll may be a minute
        // away, and reads caused by other instances' changes arrive only by NOTIFY; an idle hub has no position).
        if (!resumeFrom || position === undefined) {
          wake();
          await running;
          if (running) await running; // a change arrived during that read: the run it scheduled
        }
        // A resumed stream validates its cursor (410/422) before the response starts.
        first = resumeFrom ? await readFeedPage(pool, scope, resumeFrom, BATCH) : undefined;
        perUser.set(key, (perUser.get(key) ?? 0) + 1);
        counted = true;
        res.status(200).set({
          'Content-Type': 'text/event-stream; charset=utf-8',
          'Cache-Control': 'no-cache',
          'X-Accel-Buffering': 'no',
          Connection: 'keep-alive',
        });
        res.flushHeaders();
        ended = new Promise<void>((resolve) => res.once('close', resolve));
        leaveAdmission(res);
        res.socket?.setNoDelay(true);
        const joiner: Subscriber = {
          key,
          scope,
          position: position ?? { xid: '0', id: 0 },
          catchingUp: false,
          res,
          heartbeat: setInterval(() => keepingUp(joiner) && write(joiner, ': heartbeat\n\n'), settings.heartbeatMs),
        };
        sub = joiner;
        write(sub, `retry: ${RETRY_HINT_MS}\n\n`);
        if (first) {
          const events = await toEvents(pool, first.rows);
          for (const [i, row] of first.rows.entries()) {
            send(sub, events[i]!, positionOf(row));
            await drained(sub);
          }
          sub.position = first.next;
        }
        subscribers.add(sub);
        joined = true;
      } finally {
        joining--;
        if (!joined) {
          if (sub) clearInterval(sub.heartbeat);
          if (counted) release(key);
        }
      }
      if (!sub || !ended) return; // unreachable: the try block either set both or threw
      metrics?.eventStreamsOpen.set(subscribers.size);
      if (first) void catchUp(sub);
      await ended;
      clearInterval(sub.heartbeat);
      subscribers.delete(sub);
      metrics?.eventStreamsOpen.set(subscribers.size);
      release(key);
    },
    async close() {
      closed = true;
      clearInterval(poll);
      for (const t of timers) clearTimeout(t);
      for (const sub of subscribers) sub.res.end();
      await running;
      await listener?.end().catch(() => {});
    },
  };
}

const maxPosition = (a: Position, b: Position) => (comparePositions(a, b) >= 0 ? a : b);

const sqlNotify = sql.unsafe`select pg_notify(${CHANNEL}, '')`;
