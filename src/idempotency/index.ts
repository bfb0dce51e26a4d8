import { createHash } from 'node:crypto';
import type { DatabasePool } from '../db/index.js';
import { ProblemError } from '../http/problem.js';
import { claimKey, reclaimStalledKey, releaseKey, storeResponse, type IdempotencyScope } from './idempotency.sql.js';

export { purgeExpiredKeys } from './idempotency.sql.js';

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

/**
 * Runs a creating request at most once per Idempotency-Key (draft-ietf-httpapi-idempotency-key-header):
 * a retry with the same body replays the stored response, another body is a 422, a retry while the first is
 * still running is a 409. Keys live in PostgreSQL, so every instance of the API honours them.
 */
export async function runIdempotent(
  pool: DatabasePool,
  scope: IdempotencyScope,
  hash: string,
  run: () => Promise<ReplyLike>,
): Promise<ReplyLike> {
  const stored = await claimKey(pool, scope, hash);
  if (stored) {
    if (stored.requestHash !== hash) {
      throw new ProblemError('idempotency-key-reused', {
        detail: 'This Idempotency-Key was used with a different request; use a new key for a new request',
        errors: [{ pointer: '/header/idempotency-key', message: 'was already used with a different request' }],
      });
    }
    if (stored.statusCode !== null) {
      return { status: stored.statusCode, body: stored.body, headers: { ...(stored.headers ?? {}), 'Idempotent-Replayed': 'true' } };
    }
    if (!stored.stalled || !(await reclaimStalledKey(pool, scope, hash))) {
      throw new ProblemError('idempotency-in-flight', {
        detail: 'A request with this Idempotency-Key is still being processed; retry shortly',
        headers: { 'Retry-After': '1' },
      });
    }
  }
  let reply: ReplyLike;
  try {
    reply = await run();
  } catch (err) {
    await releaseKey(pool, scope).catch(() => {});
    throw err;
  }
  await storeResponse(pool, scope, reply.status, reply.headers ?? {}, reply.body);
  return reply;
}
