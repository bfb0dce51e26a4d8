import cors from 'cors';
import type { RequestHandler } from 'express';
import helmet from 'helmet';
import type { Config } from '../config.js';
import type { Admission } from '../http/admission.js';
import { requestDeadline } from '../http/deadline.js';
import { chain } from '../http/chain.js';
import { captureHeaders, fixedHeaders } from '../http/fixed-headers.js';
import { requestId } from '../http/request-id.js';
import { accessLog } from '../observability/access-log.js';
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
 * log line, metrics, security headers, CORS. They run as one express layer (http/chain.ts).
 */
export function middlewares(deps: MiddlewareDeps, noteFailure: NoteFailure): RequestHandler {
  const { config } = deps;
  return chain([
    requestId(),
    ...(deps.admission ? [deps.admission.middleware] : []),
    requestDeadline(requestDeadlineMs(config), (res, failure) => noteFailure(res, 'request-deadline', failure)),
    requestLog(deps.logger),
    requestMetrics(deps.metrics, deps.afterWrite),
    ...securityAndCorsHeaders(config),
  ]);
}

/**
 * helmet's security headers and CORS. Neither depends on the request unless it has an Origin (a browser's
 * cross-origin call) or is a preflight: for every other request both set the same headers every time, so they
 * run once at start-up and their headers are replayed (http/fixed-headers.ts), which costs a tenth of running
 * the thirteen middlewares per request. A request with an Origin, or an OPTIONS, meets cors itself.
 */
function securityAndCorsHeaders(config: Config): RequestHandler[] {
  const security = helmet({ contentSecurityPolicy: false });
  const crossOrigin = cors({
    origin: (origin, callback) => callback(null, origin !== undefined && config.corsOrigins.includes(origin)),
    credentials: true,
    exposedHeaders: ['ETag', 'Location', 'X-Request-Id', 'RateLimit', 'RateLimit-Policy', 'Retry-After', 'WWW-Authenticate'],
    maxAge: 600,
  });
  const securityHeaders = captureHeaders([security], { method: 'GET', headers: {} });
  const sameOriginHeaders = captureHeaders([crossOrigin], { method: 'GET', headers: {} });
  const securityStep = securityHeaders ? fixedHeaders(securityHeaders) : security;
  if (!sameOriginHeaders) return [securityStep, crossOrigin];
  const sameOrigin = fixedHeaders(sameOriginHeaders);
  const corsStep: RequestHandler = (req, res, next) =>
    req.headers.origin === undefined && req.method !== 'OPTIONS' ? sameOrigin(req, res, next) : crossOrigin(req, res, next);
  return [securityStep, corsStep];
}

/**
 * A request may take as long as its slowest statement may (DB_STATEMENT_TIMEOUT_MS) or a connection attempt,
 * plus a second; a statement timeout of 0 (off) turns the deadline off too.
 */
export const requestDeadlineMs = (config: Config): number =>
  config.database.statementTimeoutMs > 0 ? Math.max(config.database.statementTimeoutMs, config.database.connectTimeoutMs) + 1_000 : 0;

/** One line per request; a failure is on it (see failures.ts), or the line is silent when the burst was counted. */
const requestLog = (logger: Logger): RequestHandler => accessLog(logger, { ignore: (req) => req.url === '/health' || req.url === '/metrics' });

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
