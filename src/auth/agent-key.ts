/**
 * Agent API keys: `tfa_` + 32 random bytes in base64url. The server stores only the key's SHA-256 and finds a
 * presented key by that hash through a unique index, so no stored secret is ever compared in JavaScript and a
 * response time says nothing about how much of a guess was right. Verified keys are remembered for at most
 * `ttlMs` (5 s by default, never past their expiry): a revoked or expired key stops working on every instance
 * within that window, while a busy agent costs one lookup per 5 s instead of one per request. The requests that
 * present a key while it is being looked up share that lookup (coalesce.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Principal } from '../http/principal.js';
import { coalescing } from './coalesce.js';
import { invalidToken } from './problems.js';

export const AGENT_KEY_PREFIX = 'tfa_';
const SECRET_BYTES = 32;
/** `tfa_` and 8 characters of the secret: enough to tell keys apart, far too little to guess the rest. */
const DISPLAY_LENGTH = AGENT_KEY_PREFIX.length + 8;
export const AGENT_KEY_CACHE_TTL_MS = 5_000;
/** last_used_at is written at most this often per key and instance. */
const TOUCH_INTERVAL_MS = 60_000;
const MAX_ENTRIES = 10_000;
// Every refusal reads the same: whether the key never existed, was revoked or expired is nobody's business.
const INVALID_KEY = 'Invalid API key';

export const isAgentKey = (token: string): boolean => token.startsWith(AGENT_KEY_PREFIX);
export const hashAgentKey = (secret: string): Buffer => createHash('sha256').update(secret).digest();

export interface NewAgentKey {
  secret: string;
  prefix: string;
  hash: Buffer;
}

export function generateAgentKey(): NewAgentKey {
  const secret = AGENT_KEY_PREFIX + randomBytes(SECRET_BYTES).toString('base64url');
  return { secret, prefix: secret.slice(0, DISPLAY_LENGTH), hash: hashAgentKey(secret) };
}

/** An active key (not revoked, not expired) and the agent it acts as, as the database knows them. */
export interface ActiveAgentKey {
  keyId: number;
  tenantId: string;
  agentId: number;
  handle: string;
  name: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

export interface AgentKeyStore {
  /** The active key with this SHA-256, or null when there is none (unknown, revoked or expired). */
  findActive(hash: Buffer): Promise<ActiveAgentKey | null>;
  /** Records use now; called at most once a minute per key and instance, never awaited by a request. */
  touch(keyId: number): Promise<void>;
}

export interface AgentKeyVerifier {
  /** The agent principal of a `tfa_…` token; a 401 ProblemError for anything not an active key. */
  verify(token: string): Promise<Principal>;
}

export function createAgentKeyVerifier(
  store: AgentKeyStore,
  options: { ttlMs?: number; onTouchError?: (err: unknown) => void; now?: () => number } = {},
): AgentKeyVerifier {
  const clock = options.now ?? Date.now;
  const ttlMs = Math.min(options.ttlMs ?? AGENT_KEY_CACHE_TTL_MS, AGENT_KEY_CACHE_TTL_MS);
  const verified = new Map<string, { principal: Principal; until: number }>();
  const touchedAt = new Map<number, number>();

  function touch(key: ActiveAgentKey, now: number): void {
    const last = Math.max(touchedAt.get(key.keyId) ?? 0, key.lastUsedAt ? Date.parse(key.lastUsedAt) : 0);
    if (now - last < TOUCH_INTERVAL_MS) return;
    if (touchedAt.size >= MAX_ENTRIES) touchedAt.clear();
    touchedAt.set(key.keyId, now);
    store.touch(key.keyId).catch((err: unknown) => options.onTouchError?.(err));
  }

  /** The database's answer for a key not remembered, shared by every request that presents it meanwhile. */
  const lookUp = coalescing<Principal>();
  const load = async (hash: Buffer, cacheKey: string): Promise<Principal> => {
    const now = clock(); // before asking: a key revoked meanwhile is remembered no longer than the TTL from here
    const key = await store.findActive(hash);
    if (!key) throw invalidToken(INVALID_KEY);
    touch(key, now);
    const principal: Principal = {
      userId: `agent:${key.agentId}`,
      email: null,
      name: key.name,
      tenantId: key.tenantId,
      workerId: key.agentId,
      handle: key.handle,
      workerName: key.name,
      defaultProjectId: null,
      actorType: 'agent',
      client: null,
    };
    const until = Math.min(now + ttlMs, key.expiresAt ? Date.parse(key.expiresAt) : Infinity);
    if (ttlMs > 0 && until > now) {
      if (verified.size >= MAX_ENTRIES) verified.delete(verified.keys().next().value!);
      verified.set(cacheKey, { principal, until });
    }
    return principal;
  };

  return {
    async verify(token) {
      const hash = hashAgentKey(token);
      const cacheKey = hash.toString('base64url');
      const hit = verified.get(cacheKey);
      if (hit && hit.until > clock()) return hit.principal;
      if (hit) verified.delete(cacheKey);
      return lookUp(cacheKey, () => load(hash, cacheKey));
    },
  };
}
