import type { Identity } from './identity.js';

export interface VerifiedTokenCache {
  /** The identity of a token verified against the key set fetched at `keysFetchedAt`, if still remembered. */
  get(token: string, keysFetchedAt: number, now?: number): Identity | undefined;
  set(token: string, identity: Identity, expiresAtSec: number, keysFetchedAt: number, now?: number): void;
}

/**
 * Remembers tokens whose signature and claims were verified, so a client sending the same token on every request
 * costs one signature check per minute instead of one per request (an Ed25519 verify was ~10 % of the CPU of a
 * list request). An entry never outlives the token's `exp` nor `ttlMs`, and only answers while the key set it was
 * checked against is still the current one: a refresh (rotation, retirement) sends every token through full
 * verification again. The token is the key byte for byte, so any tampering misses. Bounded: oldest out first.
 */
export function createVerifiedTokenCache(ttlMs = 60_000, maxEntries = 10_000): VerifiedTokenCache {
  const entries = new Map<string, { identity: Identity; until: number; keysFetchedAt: number }>();
  return {
    get(token, keysFetchedAt, now = Date.now()) {
      const entry = entries.get(token);
      if (!entry) return undefined;
      if (entry.until > now && entry.keysFetchedAt === keysFetchedAt) return entry.identity;
      entries.delete(token);
      return undefined;
    },
    set(token, identity, expiresAtSec, keysFetchedAt, now = Date.now()) {
      if (ttlMs <= 0) return;
      const until = Math.min(expiresAtSec * 1000, now + ttlMs);
      if (until <= now) return;
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
      entries.set(token, { identity, until, keysFetchedAt });
    },
  };
}
