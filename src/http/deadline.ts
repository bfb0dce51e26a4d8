import type { NextFunction, Request, Response } from 'express';
import { problem } from './problem.js';
import { sendProblem } from './reply.js';

/**
 * Answers 503 when a request has not been answered within `ms`, so a client never waits on a database that
 * stopped answering without closing its connections (a hung server, a network partition): the server-side
 * statement timeout cannot fire there, and the driver has no client-side one. The handler keeps running and
 * whatever it finally does is discarded (sendReply/sendProblem write nothing once a response went out); a
 * write it commits later is what Idempotency-Key retries are for. `onDeadline` records the failure for the
 * request's log line.
 */
export function requestDeadline(ms: number, onDeadline: (res: Response, failure: Record<string, unknown>) => void = () => {}) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (ms <= 0) return next();
    const timer = setTimeout(() => {
      if (res.headersSent) return;
      // Logged once, on the request's own line (see failure-log.ts), not here as well.
      onDeadline(res, { type: 'RequestDeadline', message: `request deadline of ${ms} ms passed: answered 503 while the handler still runs` });
      sendProblem(req, res, problem('unavailable', `No answer within ${ms} ms: the database is unreachable or too slow right now; try again shortly`), { 'Retry-After': '2' });
    }, ms);
    timer.unref();
    res.once('close', () => clearTimeout(timer));
    next();
  };
}
