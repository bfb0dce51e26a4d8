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
  statusCode: z.number().int().nullable(),
  headers: z.record(z.string(), z.string()).nullable(),
  body: z.unknown(),
  expired: z.boolean(),
  stalled: z.boolean(),
});
export type StoredResponse = z.infer<typeof StoredRow>;

/** Keys are honoured for 24 h; a claim whose request never finished is given up after 5 minutes. */
const RETENTION = sql.interval({ hours: 24 });
const STALL = sql.interval({ minutes: 5 });

/**
 * Claims the key for this request. Returns null when the claim is ours (go ahead), else what is stored.
 * An expired key is reclaimed in place.
 */
export async function claimKey(db: Db, scope: IdempotencyScope, requestHash: string): Promise<StoredResponse | null> {
  const claimed = await db.maybeOneFirst(sql.type(z.object({ claimed: z.boolean() }))`
    insert into idempotency_key (tenant_id, user_id, key, request_hash)
    values (${scope.tenantId}, ${scope.userId}, ${scope.key}, ${requestHash})
    on conflict (tenant_id, user_id, key) do update
      set request_hash = excluded.request_hash, status_code = null, headers = null, body = null,
          created_at = now(), completed_at = null
      where idempotency_key.created_at < now() - ${RETENTION}
    returning true as claimed`);
  if (claimed) return null;
  return db.maybeOne(sql.type(StoredRow)`
    select request_hash as "requestHash", status_code as "statusCode", headers, body,
           created_at < now() - ${RETENTION} as expired,
           completed_at is null and created_at < now() - ${STALL} as stalled
    from idempotency_key
    where tenant_id = ${scope.tenantId} and user_id = ${scope.userId} and key = ${scope.key}`);
}

/** Takes over a claim whose request died mid-way, so the retry can run. */
export async function reclaimStalledKey(db: Db, scope: IdempotencyScope, requestHash: string): Promise<boolean> {
  const row = await db.maybeOne(sql.unsafe`
    update idempotency_key set request_hash = ${requestHash}, created_at = now()
    where tenant_id = ${scope.tenantId} and user_id = ${scope.userId} and key = ${scope.key}
      and completed_at is null and created_at < now() - ${STALL}
    returning 1`);
  return row !== null;
}

export async function storeResponse(db: Db, scope: IdempotencyScope, status: number, headers: Record<string, string>, body: unknown): Promise<void> {
  await db.query(sql.unsafe`
    update idempotency_key
    set status_code = ${status}, headers = ${sql.jsonb(headers)}, body = ${sql.jsonb((body ?? null) as never)}, completed_at = now()
    where tenant_id = ${scope.tenantId} and user_id = ${scope.userId} and key = ${scope.key}`);
}

/** A failed request leaves nothing behind, so the client may retry with the same key. */
export async function releaseKey(db: Db, scope: IdempotencyScope): Promise<void> {
  await db.query(sql.unsafe`
    delete from idempotency_key
    where tenant_id = ${scope.tenantId} and user_id = ${scope.userId} and key = ${scope.key} and completed_at is null`);
}

export async function purgeExpiredKeys(db: Db): Promise<number> {
  const result = await db.query(sql.unsafe`delete from idempotency_key where created_at < now() - ${RETENTION}`);
  return result.rowCount;
}
