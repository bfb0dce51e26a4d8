import { createHash } from 'node:crypto';
import type { DatabaseTransactionConnection } from 'slonik';
import type { DatabasePool } from '../db/index.js';
import { ProblemError } from '../http/problem.js';
import { findStoredResponse, storeResponse, tryLockKey, type IdempotencyScope } from './idempotency.sql.js';

export interface ReplyLike {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Same operation, path and body → same hash; key order inside the body does not matter. */
export function requestHash(operationId: string, path: string, body: unknown): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canonical)
      : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]))
      : v;
  return createHash('sha256').update(JSON.stringify([operationId, path, canonical(body ?? null)])).digest('base64url');
}

const inFlight = () =>
  new ProblemError('idempotency-in-flight', {
    detail: 'A request with this Idempotency-Key is still being processed; retry shortly',
    headers: { 'Retry-After': '1' },
  });

const reused = () =>
  new ProblemError('idempotency-key-reused', {
    detail: 'This Idempotency-Key was used with a different request; use a new key for a new request',
    errors: [{ pointer: '/header/idempotency-key', message: 'was already used with a different request' }],
  });

/**
 * Runs a creating request at most once per Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): a
 * retry with the same body replays the stored response, another body is a 422, a retry while the first is
 * still running is a 409. Keys live in PostgreSQL, so every instance of the API honours them.
 *
 * Lock, handler and stored response share one transaction: `run` gets it and runs the handler on it (see
 * step.ts, which passes it as the handler's `db`), so they commit together or not at all: a handler that
 * throws, a lost database connection or a process that dies mid-way leaves neither the creation nor the key
 * behind, and the retry runs afresh. There is no window in which the creation is committed but its key is not.
 */
export async function runIdempotent(
  pool: DatabasePool,
  scope: IdempotencyScope,
  hash: string,
  run: (tx: DatabaseTransactionConnection) => Promise<ReplyLike>,
): Promise<ReplyLike> {
  return pool.transaction(async (tx) => {
    if (!(await tryLockKey(tx, scope))) throw inFlight();
    const stored = await findStoredResponse(tx, scope);
    if (stored) {
      if (stored.requestHash !== hash) throw reused();
      return { status: stored.statusCode, body: stored.body, headers: { ...stored.headers, 'Idempotent-Replayed': 'true' } };
    }
    const reply = await run(tx);
    await storeResponse(tx, scope, hash, reply.status, reply.headers ?? {}, reply.body);
    return reply;
  });
}
