import { sql } from 'slonik';
import { z } from 'zod';
import type { ActiveAgentKey } from '../auth/index.js';
import { Id, Timestamp, limitRows, type Db } from '../db/index.js';

export const AgentKeyRow = z.object({
  id: Id,
  agentId: Id,
  name: z.string(),
  prefix: z.string(),
  createdAt: Timestamp,
  lastUsedAt: Timestamp.nullable(),
  expiresAt: Timestamp.nullable(),
  revokedAt: Timestamp.nullable(),
});
export type AgentKeyRow = z.infer<typeof AgentKeyRow>;

const KEY_COLUMNS = sql.fragment`
  k.id, k.agent_id as "agentId", k.name, k.prefix, k.created_at as "createdAt", k.last_used_at as "lastUsedAt",
  k.expires_at as "expiresAt", k.revoked_at as "revokedAt"`;

const ManagedAgentRow = z.object({ id: Id, handle: z.string(), mayManage: z.boolean() });

/**
 * An agent of the tenant and whether the worker may manage its keys: they registered it, or they own a project
 * the agent is a member of. Null when the tenant has no such agent.
 */
export const findManagedAgent = (db: Db, tenantId: string, agentId: number, workerId: number) =>
  db.maybeOne(sql.type(ManagedAgentRow)`
    select w.id, w.handle,
           (w.created_by_id is not distinct from ${workerId}::int8 or exists (
              select 1 from member am
              join member om on om.project_id = am.project_id and om.worker_id = ${workerId} and om.role = 'owner'
              where am.worker_id = w.id)) as "mayManage"
    from worker w
    where w.id = ${agentId} and w.tenant_id = ${tenantId} and w.type = 'agent'`);

export interface NewKey {
  tenantId: string;
  agentId: number;
  name: string;
  prefix: string;
  hash: Buffer;
  expiresAt: string | null;
  createdById: number;
}

export const insertAgentKey = (db: Db, key: NewKey) =>
  db.one(sql.type(AgentKeyRow)`
    insert into agent_key as k (tenant_id, agent_id, name, prefix, secret_hash, expires_at, created_by_id)
    values (${key.tenantId}, ${key.agentId}, ${key.name}, ${key.prefix}, ${sql.binary(key.hash)},
            ${key.expiresAt}::timestamptz, ${key.createdById})
    returning ${KEY_COLUMNS}`);

/** How many keys listAgentKeys returns at most (the contract's maxItems): the newest ones. */
export const MAX_LISTED_KEYS = 100;

/** The keys of an agent, newest first, at most MAX_LISTED_KEYS. */
export const listAgentKeyRows = (db: Db, agentId: number) =>
  db.any(sql.type(AgentKeyRow)`select ${KEY_COLUMNS} from agent_key k where k.agent_id = ${agentId} order by k.id desc ${limitRows(MAX_LISTED_KEYS)}`);

const RevokedRow = AgentKeyRow.extend({ wasActive: z.boolean() });

/** Revokes a key of the agent (once: a second revoke keeps the first time). Null when the agent has no such key. */
export const revokeAgentKeyRow = (db: Db, agentId: number, keyId: number) =>
  Number.isSafeInteger(keyId)
    ? db.maybeOne(sql.type(RevokedRow)`
        with before as (select id, revoked_at is null as active from agent_key where id = ${keyId} and agent_id = ${agentId} for update)
        update agent_key k set revoked_at = coalesce(k.revoked_at, now())
        from before b where k.id = b.id
        returning ${KEY_COLUMNS}, b.active as "wasActive"`)
    : Promise.resolve(null);

const ActiveKeyRow = z.object({
  keyId: Id,
  tenantId: z.string(),
  agentId: Id,
  handle: z.string(),
  name: z.string(),
  expiresAt: Timestamp.nullable(),
  lastUsedAt: Timestamp.nullable(),
});

/** The key with this SHA-256 if it is neither revoked nor expired, with its agent (agent_key_secret_hash_key). */
export const findActiveAgentKey = (db: Db, hash: Buffer): Promise<ActiveAgentKey | null> =>
  db.maybeOne(sql.type(ActiveKeyRow)`
    select k.id as "keyId", k.tenant_id as "tenantId", k.agent_id as "agentId", w.handle, w.name,
           k.expires_at as "expiresAt", k.last_used_at as "lastUsedAt"
    from agent_key k join worker w on w.id = k.agent_id
    where k.secret_hash = ${sql.binary(hash)} and k.revoked_at is null and (k.expires_at is null or k.expires_at > now())`);

/** Records that a key was used; skipped when it was recorded less than a minute ago (by any instance). */
export const touchAgentKey = async (db: Db, keyId: number): Promise<void> => {
  await db.query(sql.unsafe`
    update agent_key set last_used_at = now()
    where id = ${keyId} and (last_used_at is null or last_used_at < now() - interval '1 minute')`);
};
