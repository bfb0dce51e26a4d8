import type { Request, Response } from 'express';
import type { Problem } from './problem.js';

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
  else res.type('application/json').send(JSON.stringify(reply.body));
}

/** Writes an RFC 9457 problem; `instance` is the request's own path. */
export function sendProblem(req: Request, res: Response, problem: Problem, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.status(problem.status).set(headers).type('application/problem+json');
  res.send(JSON.stringify({ ...problem, instance: req.originalUrl.slice(0, 2048) }));
}
