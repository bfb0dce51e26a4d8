import type { NextFunction, Request, RequestHandler, Response } from 'express';

type HeaderValue = string | number | readonly string[];

/**
 * The headers some middlewares set on a response when what they set does not depend on the request: they run
 * once, at start-up, against a stand-in request (`method`, `headers`), and the headers they set are returned in
 * order. Null when one of them did not simply set headers and call `next()` at once (it answered, failed or
 * went asynchronous): its output cannot be captured and it must run on every request.
 */
export function captureHeaders(middlewares: RequestHandler[], request: { method: string; headers: Record<string, string> }): [string, HeaderValue][] | null {
  const set = new Map<string, [string, HeaderValue]>();
  let answered = false;
  const res = {
    statusCode: 200,
    locals: {},
    setHeader(name: string, value: HeaderValue) {
      set.set(name.toLowerCase(), [name, value]);
      return res;
    },
    getHeader: (name: string) => set.get(name.toLowerCase())?.[1],
    getHeaders: () => Object.fromEntries([...set.values()].map(([n, v]) => [n.toLowerCase(), v])),
    hasHeader: (name: string) => set.has(name.toLowerCase()),
    removeHeader: (name: string) => void set.delete(name.toLowerCase()),
    end: () => {
      answered = true;
    },
  };
  const req = { method: request.method, url: '/', headers: request.headers };
  for (const middleware of middlewares) {
    let nexted = false;
    let failed = false;
    middleware(req as unknown as Request, res as unknown as Response, ((err?: unknown) => {
      nexted = true;
      failed = err !== undefined && err !== null;
    }) as NextFunction);
    if (!nexted || failed || answered) return null;
  }
  return [...set.values()];
}

/** Sets the same headers on every response (see captureHeaders). */
export const fixedHeaders = (headers: readonly (readonly [string, HeaderValue])[]): RequestHandler =>
  (_req, res, next) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    next();
  };
