import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';

/** What a request's line says about it: its id and request line, never its headers (tokens, cookies). */
const requestFields = (req: Request) => ({ id: req.res?.locals.requestId as string | undefined, method: req.method, url: req.originalUrl });

const BASE = Symbol('access-log.logger');
type WithLogger = Response & { [BASE]?: Logger; locals: { requestLog?: Logger } };

export interface AccessLogOptions {
  /** Requests that get no line (probes, scrapes). */
  ignore?: (req: Request) => boolean;
}

/**
 * One JSON line per request when its response is finished (or the client went away first), in the shape the
 * log pipeline and `test/ops/logs-and-cors.test.ts` read: `req {id, method, url}`, `res {statusCode}`,
 * `responseTime` (ms), `operationId`, `userId`, and the `failure` the error handler recorded (see
 * app/failures.ts). The level is `error` for a 5xx, `info` otherwise; a failure that was only
 * counted (one more of a burst, `failureLogged === false`) writes no line.
 *
 * Nothing is built per request unless the line's level is enabled: at `LOG_LEVEL=warn` a successful request
 * costs a timestamp and two listeners. pino-http, which this replaces, made two child loggers per request
 * whatever the level, the largest single cost of a cheap read (bench: ~0.1 ms of CPU per request).
 */
export function accessLog(logger: Logger, options: AccessLogOptions = {}): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    (res as WithLogger)[BASE] = logger;
    if (options.ignore?.(req)) return next();
    const start = Date.now();
    let done = false;
    const complete = () => {
      if (done) return;
      done = true;
      res.removeListener('finish', complete);
      res.removeListener('close', complete);
      const locals = res.locals;
      if (locals.failureLogged === false) return;
      const failed = res.statusCode >= 500;
      const level = failed ? 'error' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          req: requestFields(req),
          operationId: locals.operationId as string | undefined,
          userId: locals.userId as string | undefined,
          res: { statusCode: res.statusCode },
          ...(locals.failure !== undefined ? { failure: locals.failure as unknown } : {}),
          responseTime: Date.now() - start,
        },
        failed ? 'request errored' : 'request completed',
      );
    };
    res.on('finish', complete);
    res.on('close', complete);
    next();
  };
}

/**
 * The logger for something a handler notices about its request (a chat turn that failed, a conversations
 * database away): the base logger with the request's id, method and URL bound, made on first use.
 */
export function requestLog(req: Request): Logger | undefined {
  const res = req.res as WithLogger | undefined;
  if (!res) return undefined;
  const base = res[BASE];
  if (!base) return undefined;
  return (res.locals.requestLog ??= base.child({ req: requestFields(req) }));
}
