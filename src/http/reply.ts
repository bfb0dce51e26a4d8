import type { Request, Response } from 'express';
import type { Problem } from './problem.js';

/** What express's `res.type('application/json').send(string)` sets (test/unit/reply.test.ts checks it still does). */
const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * A JSON body as express's `res.type('application/json').send(json)` writes it — Content-Type with its charset,
 * Content-Length in bytes, a 304 without body for a conditional GET/HEAD whose validator matches the response's
 * ETag, no body for HEAD — without what that costs on every call: the Content-Type parsed and formatted twice,
 * and a body over 1,000 characters copied into a Buffer only to measure it (a 20-task page is ~12 KB).
 * test/unit/reply.test.ts compares both on the wire.
 */
function sendJson(res: Response, json: string): void {
  res.setHeader('Content-Type', JSON_TYPE);
  res.setHeader('Content-Length', Buffer.byteLength(json));
  if (res.req.fresh) {
    res.statusCode = 304;
    res.removeHeader('Content-Type');
    res.removeHeader('Content-Length');
    res.end();
  } else if (res.req.method === 'HEAD') {
    res.end();
  } else {
    res.end(json);
  }
}

/** Writes a handler's reply. JSON bodies are serialised here, once. Nothing if a response went out already. */
export function sendReply(res: Response, reply: { status: number | string; body?: unknown; headers?: Record<string, string> }): void {
  if (res.headersSent) return; // answered already (request deadline)
  res.status(Number(reply.status));
  if (reply.headers) res.set(reply.headers);
  if (reply.body === undefined || Number(reply.status) === 204) {
    res.end();
    return;
  }
  if (typeof reply.body === 'string' && res.get('Content-Type')) res.send(reply.body); // e.g. Prometheus text
  else sendJson(res, JSON.stringify(reply.body));
}

/** Writes an RFC 9457 problem; `instance` is the request's own path. */
export function sendProblem(req: Request, res: Response, problem: Problem, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.status(problem.status).set(headers).type('application/problem+json');
  res.send(JSON.stringify({ ...problem, instance: req.originalUrl.slice(0, 2048) }));
}
