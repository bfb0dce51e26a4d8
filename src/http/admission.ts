import type { NextFunction, Request, Response } from 'express';
import type { Metrics } from '../observability/metrics.js';
import { problem } from './problem.js';
import { sendProblem } from './reply.js';

export interface AdmissionSettings {
  /** Requests past this point at once (0: no admission control). */
  maxInFlight: number;
  /** Requests waiting for a slot; one more is refused at once. */
  maxQueue: number;
  /** Longest wait for a slot; a request still waiting then is refused. */
  maxQueueWaitMs: number;
}

export interface Admission {
  middleware: (req: Request, res: Response, next: NextFunction) => void;
  /** True while requests are being refused (one was shed within the last second): readiness says so. */
  overloaded(): boolean;
  state(): { inFlight: number; queued: number };
}

interface Waiting {
  res: Response;
  next: NextFunction;
  since: number;
  timer: NodeJS.Timeout;
  /** Takes the request out of the queue (its client went away, or it waited too long); false if it was not there. */
  leave: () => boolean;
}

/** The slot of each admitted response that has not ended yet, for leaveAdmission. */
const earlyRelease = new WeakMap<Response, () => void>();

/**
 * Gives back the admission slot of a response that stays open long after its work is done (an event stream:
 * admitted like any request, then capped on its own by EVENTS_MAX_STREAMS_PER_USER). Without it, open streams
 * would hold slots for hours and shed ordinary requests. Nothing when the request was not counted.
 */
export function leaveAdmission(res: Response): void {
  earlyRelease.get(res)?.();
}

/**
 * Seconds a shed client is asked to wait: short, because a burst usually is, and drawn at random from 1–3 so that
 * the clients refused in one burst do not all come back in the same second (one wave per second, each refused
 * again). The average of 2 s also halves how often a refused client asks again while the burst lasts.
 */
const RETRY_AFTER_MIN_S = 1;
const RETRY_AFTER_MAX_S = 3;
const retryAfterSeconds = () => RETRY_AFTER_MIN_S + Math.floor(Math.random() * (RETRY_AFTER_MAX_S - RETRY_AFTER_MIN_S + 1));
const OVERLOAD_MEMORY_MS = 1_000;
/**
 * How long a refused connection stays unread (see shed): well inside the shortest Retry-After, so a client that
 * waits as asked is read at once even when timers run late, and short enough that a request re-sent at once and
 * then admitted is still answered within a second (this pause, its wait in the queue, its own time).
 */
const PAUSE_MS = 600;

/**
 * Admission control at the front of the request path, before logging, body parsing, authentication and the
 * database: at most `maxInFlight` requests run at once, at most `maxQueue` wait for a slot, first come first
 * served, and none waits longer than `maxQueueWaitMs`. Anything beyond is answered at once with 503
 * `overloaded` and `Retry-After`, having read nothing and written nothing. A slot is freed when the response
 * is finished or the client goes away. Only `/api` requests are counted: health, readiness, metrics and the docs
never wait and are never shed.
 *
 * The queue is bounded by length, so under a burst a shed request is answered in microseconds and an admitted
 * one waits at most maxQueue / throughput; the wait bound only matters when throughput collapses (a slow
 * database). See README, "Overload", for why not CoDel or LIFO.
 */
export function createAdmission(settings: AdmissionSettings, metrics: Metrics): Admission {
  const { maxInFlight, maxQueue, maxQueueWaitMs } = settings;
  let inFlight = 0;
  let lastShedAt = -Infinity;
  const queue: Waiting[] = [];
  let head = 0; // queue[head] is the oldest waiting request; compacted when half is consumed

  const queued = () => queue.length - head;
  const gauges = () => {
    metrics.admissionInFlight.set(inFlight);
    metrics.admissionQueued.set(queued());
  };

  const shed = (req: Request, res: Response, reason: 'queue_full' | 'queue_timeout') => {
    lastShedAt = performance.now();
    metrics.admissionShed.inc({ reason });
    const retryAfterS = retryAfterSeconds();
    const detail =
      reason === 'queue_full'
        ? `The server is at capacity (${maxInFlight} requests running, ${maxQueue} waiting); retry in ${retryAfterS} s`
        : `No capacity freed up within ${maxQueueWaitMs} ms; retry in ${retryAfterS} s`;
    sendProblem(req, res, problem('overloaded', detail), { 'Retry-After': String(retryAfterS) });
    // The connection is not read from for most of a second: a client re-sending at once on it waits in the
    // kernel's buffer instead of costing CPU, so refusals cannot become a retry storm that starves admitted work.
    // The pause ends well before the shortest Retry-After does (timers run late under load), so a client that
    // waits as asked is read at once; it is not longer for a Retry-After of 2 or 3 s, because a client that
    // re-sends at once and is then admitted counts the whole pause in its response time.
    res.once('finish', () => {
      const socket = req.socket;
      socket.pause();
      setTimeout(() => socket.resume(), PAUSE_MS).unref();
    });
  };

  const admit = (res: Response, next: NextFunction, waitedMs: number) => {
    inFlight++;
    metrics.admissionQueueWait.observe(waitedMs / 1000);
    let released = false;
    const releaseOnce = () => {
      if (released) return;
      released = true;
      earlyRelease.delete(res);
      release();
    };
    res.once('close', releaseOnce);
    earlyRelease.set(res, releaseOnce);
    next();
  };

  function release() {
    inFlight--;
    while (inFlight < maxInFlight && queued() > 0) {
      const waiting = queue[head]!;
      queue[head++] = undefined as never;
      if (head > 1024 && head * 2 > queue.length) {
        queue.splice(0, head);
        head = 0;
      }
      clearTimeout(waiting.timer);
      waiting.res.off('close', waiting.leave);
      admit(waiting.res, waiting.next, performance.now() - waiting.since);
    }
    gauges();
  }

  const middleware = (req: Request, res: Response, next: NextFunction) => {
    if (maxInFlight <= 0 || !req.path.startsWith('/api/')) return next();
    if (inFlight < maxInFlight) {
      admit(res, next, 0);
    } else if (queued() >= maxQueue) {
      shed(req, res, 'queue_full');
    } else {
      const waiting: Waiting = {
        res,
        next,
        since: performance.now(),
        timer: setTimeout(() => waiting.leave() && shed(req, res, 'queue_timeout'), maxQueueWaitMs),
        leave: () => {
          const at = queue.indexOf(waiting, head);
          if (at < 0) return false;
          queue.splice(at, 1);
          clearTimeout(waiting.timer);
          gauges();
          return true;
        },
      };
      res.once('close', waiting.leave); // a client that hangs up while waiting frees its place at once
      queue.push(waiting);
    }
    gauges();
  };

  return {
    middleware,
    overloaded: () => performance.now() - lastShedAt < OVERLOAD_MEMORY_MS,
    state: () => ({ inFlight, queued: queued() }),
  };
}
