import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { toProblem } from '../http/errors.js';
import { ProblemError } from '../http/problem.js';
import { sendProblem } from '../http/reply.js';
import { requestLog } from '../observability/access-log.js';
import { describeFailure, failureKey } from '../observability/failure-log.js';
import type { NoteFailure } from './failures.js';

const BODY_LIMIT = '1mb';
const JSON_TYPES = ['application/json', 'application/*+json'];

/** JSON bodies only: anything else is refused before it is read, then express.json parses within the limit. */
export const jsonBody = (): RequestHandler[] => [
  rejectUnsupportedMediaType,
  express.json({ limit: BODY_LIMIT, type: JSON_TYPES, strict: false }),
];

/** Anything thrown becomes an RFC 9457 problem; an unexpected one is noted for the request's log line. */
export const errorHandler = (noteFailure: NoteFailure) => (err: unknown, req: Request, res: Response, _next: NextFunction) => {
  const { problem: body, headers, unexpected } = toProblem(bodyParserProblem(err) ?? err);
  if (unexpected) {
    const outage = body.status === 503; // the database away: class, code and message say it all
    const sentAlready = res.headersSent; // e.g. after the request deadline answered: its line is written
    noteFailure(res, failureKey(body.type, err), describeFailure(err, outage));
    if (sentAlready && res.locals.failureLogged) requestLog(req)?.warn({ failure: res.locals.failure }, 'request failed after its response was sent');
  }
  sendProblem(req, res, body, headers);
};

/** A body that is not JSON is refused before anything reads it. */
function rejectUnsupportedMediaType(req: Request, _res: Response, next: NextFunction): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.is(JSON_TYPES)) {
    next(new ProblemError('unsupported-media-type', { detail: `Send JSON with Content-Type: application/json (got ${req.headers['content-type'] ?? 'none'})` }));
    return;
  }
  next();
}

/** body-parser's errors carry a `type`; they become the problems the contract documents. */
function bodyParserProblem(err: unknown): ProblemError | undefined {
  const type = (err as { type?: unknown })?.type;
  if (type === 'entity.parse.failed') return new ProblemError('malformed-json', { detail: 'The request body is not valid JSON' });
  if (type === 'entity.too.large') return new ProblemError('payload-too-large', { detail: `Request bodies are limited to ${BODY_LIMIT}` });
  if (type === 'charset.unsupported' || type === 'encoding.unsupported')
    return new ProblemError('unsupported-media-type', { detail: 'Unsupported body charset or encoding' });
  return undefined;
}
