import cors from 'cors';
import type { Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import type { Config } from '../config.js';
import type { Admission } from '../http/admission.js';
import { requestDeadline } from '../http/deadline.js';
import { requestId } from '../http/request-id.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { NoteFailure } from './failures.js';

export interface MiddlewareDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  admission?: Admission;
  afterWrite?: () => void;
}

/**
 * What every request meets before routing, in order: its id, admission control (first, before logging, parsing
 * and authentication: a request refused for lack of capacity costs almost nothing), the request deadline, the
 * log line, metrics, security headers, CORS.
 */
export function middlewares(deps: MiddlewareDeps, noteFailure: NoteFailure): RequestHandler[] {
  const { config } = deps;
  return [
    requestId(),
    ...(deps.admission ? [deps.admission.middleware] : []),
    requestDeadline(requestDeadlineMs(config), (res, failure) => noteFailure(res, 'request-deadline', failure)),
    requestLog(deps.logger),
    requestMetrics(deps.metrics, deps.afterWrite),
    helmet({ contentSecurityPolicy: false }),
    cors({
      origin: (origin, callback) => callback(null, origin !== undefined && config.corsOrigins.includes(origin)),
      credentials: true,
      exposedHeaders: ['ETag', 'Location', 'X-Request-Id', 'RateLimit', 'RateLimit-Policy', 'Retry-After', 'WWW-Authenticate'],
      maxAge: 600,
    }),
  ];
}

/**
 * A request may take as long as its slowest statement may (DB_STATEMENT_TIMEOUT_MS) or a connection attempt,
 * plus a second; a statement timeout of 0 (off) turns the deadline off too.
 */
export const requestDeadlineMs = (config: Config): number =>
  config.database.statementTimeoutMs > 0 ? Math.max(config.database.statementTimeoutMs, config.database.connectTimeoutMs) + 1_000 : 0;

/** One line per request; a failure is on it (see failures.ts), or the line is silent when the burst was counted. */
const requestLog = (logger: Logger): RequestHandler =>
  pinoHttp<Request, Response>({
    logger,
    genReqId: (req) => req.res!.locals.requestId as string,
    customProps: (_req, res) => ({ operationId: res.locals?.operationId, userId: res.locals?.userId }),
    customLogLevel: (_req, res, err) =>
      res.locals?.failureLogged === false ? 'silent' : err || res.statusCode >= 500 ? 'error' : 'info',
    // `failure` is what the error handler recorded (no stack for a database outage), in place of pino-http's
    // `err`, which would be a stand-in "failed with status code 503" with a stack of its own.
    customErrorObject: (_req, res, _error, { err: _standIn, ...line }: Record<string, unknown>) =>
      res.locals?.failure ? { ...line, failure: res.locals.failure } : line,
    serializers: {
      req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    autoLogging: { ignore: (req) => req.url === '/health' || req.url === '/metrics' },
  }) as unknown as RequestHandler;

/** Duration and count per operation and status; a successful write wakes live updates (afterWrite). */
const requestMetrics = (metrics: Metrics, afterWrite?: () => void): RequestHandler => (req, res, next) => {
  const stop = metrics.duration.startTimer();
  res.on('finish', () => {
    if (req.method !== 'GET' && req.method !== 'HEAD' && res.statusCode < 300) afterWrite?.();
    const labels = { operation: (res.locals.operationId as string | undefined) ?? 'unmatched', status: String(res.statusCode) };
    stop(labels);
    metrics.requests.inc(labels);
  });
  next();
};
