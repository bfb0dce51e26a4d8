import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Middlewares run in order as one express layer. Each layer costs express's router a path match, a prefix trim
 * and a guarded call per request; the steps every request meets before routing need none of that. Semantics are
 * express's for what these steps use: `next()` goes on, `next(err)` (or a throw, or a rejected promise) skips the
 * rest and goes to the error handlers. `next('route')` and `next('router')` are not supported.
 */
export function chain(steps: readonly RequestHandler[]): RequestHandler {
  if (steps.length === 1) return steps[0]!;
  return (req: Request, res: Response, next: NextFunction) => {
    let index = 0;
    const run = (err?: unknown): void => {
      if (err) return next(err);
      const step = steps[index++];
      if (!step) return next();
      try {
        const result = step(req, res, run) as unknown;
        if (result && typeof (result as Promise<unknown>).then === 'function') (result as Promise<unknown>).then(undefined, next);
      } catch (thrown) {
        next(thrown);
      }
    };
    run();
  };
}
