import { ProblemError } from '../http/problem.js';

/**
 * A position in the event log: the writing transaction's id (xid8, as text: it outgrows a JSON number) and
 * the audit row's id. The feed is ordered by (xid, id) and only read below the visibility horizon, so every
 * event that can still appear lies after any position handed out.
 */
export interface Position {
  xid: string;
  id: number;
}

const TAG = 'events';
const VERSION = 1;

export const encodePosition = (p: Position): string => Buffer.from(JSON.stringify([TAG, VERSION, p.xid, p.id])).toString('base64url');

const forged = (pointer: string) =>
  new ProblemError('validation-failed', {
    detail: 'The cursor is not one the event feed handed out; start without a cursor (or from a next_cursor you received)',
    errors: [{ pointer, message: 'is not a valid event cursor' }],
  });

/** A cursor from the feed or the stream; a forged one is a 422, one of another format version a 410. */
export function decodePosition(cursor: string, pointer = '/query/cursor'): Position {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw forged(pointer);
  }
  if (!Array.isArray(parsed) || parsed[0] !== TAG || parsed.length !== 4) throw forged(pointer);
  const [, version, xid, id] = parsed as [string, unknown, unknown, unknown];
  if (typeof version !== 'number' || !Number.isInteger(version)) throw forged(pointer);
  if (version !== VERSION) {
    throw new ProblemError('cursor-expired', { detail: `This cursor is from an older version of the event feed (v${version}); start again without a cursor` });
  }
  if (typeof xid !== 'string' || !/^\d{1,20}$/.test(xid) || typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw forged(pointer);
  return { xid, id };
}

/** Compares positions in feed order. */
export function comparePositions(a: Position, b: Position): number {
  const ax = BigInt(a.xid);
  const bx = BigInt(b.xid);
  if (ax !== bx) return ax < bx ? -1 : 1;
  return a.id - b.id;
}
