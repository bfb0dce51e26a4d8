import { sql } from 'slonik';
import { z } from 'zod';
import type { Db } from '../db/index.js';

export interface IdempotencyScope {
  tenantId: string;
  userId: string;
  key: string;
}

const StoredRow = z.object({
  requestHash: z.string(),
  statusCode: z.number().int(),
  headers: z.record(z.string(), z.string()),
  body: z.unknown(),
});
export type StoredResponse = z.infer<typeof StoredRow>;

/** Keys are honoured for 24 h. */
const RETENTION = sql.interval({ hours: 24 });

/**
 * Takes the key's transaction-scoped advisory lock without waiting. False: another request with the same
 * key holds it right now. The lock goes with the transaction, so a request that dies releases it at once.
 */
export const tryLockKey = (db: Db, scope: IdempotencyScope) =>
  db.oneFirst(sql.type(z.object({ locked: z.boolean() }))`
    select pg_try_advisory_xact_lock(hashtext(${scope.tenantId} || chr(10) || ${scope.userId}), hashtext(${scope.key})) as locked`);

/** The response stored for this key within the retention window; null if none. */
export const findStoredResponse = (db: Db, scope: IdempotencyScope) =>
  db.maybeOne(sql.type(StoredRow)`
    select request_hash as "requestHash", status_code as "statusCode", headers, body
    from idempotency_key
    where tenant_id = ${scope.tenantId} and user_id = ${scope.userId} and key = ${scope.key}
      and created_at >= now() - ${RETENTION}`);

/** Stores the response; an expired entry for the same key is replaced. Call it under tryLockKey. */
export async function storeResponse(db: Db, scope: IdempotencyScope, requestHash: string, status: number, headers: Record<string, string>, body: unknown): Promise<void> {
  await db.query(sql.unsafe`
    insert into idempotency_key (tenant_id, user_id, key, request_hash, status_code, headers, body, created_at, completed_at)
    values (${scope.tenantId}, ${scope.userId}, ${scope.key}, ${requestHash}, ${status}, ${sql.jsonb(headers)},
            ${sql.jsonb((body ?? null) as never)}, now(), now())
    on conflict (tenant_id, user_id, key) do update
      set request_hash = excluded.request_hash, status_code = excluded.status_code, headers = excluded.headers,
          body = excluded.body, created_at = excluded.created_at, completed_at = excluded.completed_at`);
}

/** Deletes keys past the retention window; returns how many. */
export async function purgeExpiredKeys(db: Db): Promise<number> {
  const result = await db.query(sql.unsafe`delete from idempotency_key where created_at < now() - ${RETENTION}`);
  return result.rowCount;
}
