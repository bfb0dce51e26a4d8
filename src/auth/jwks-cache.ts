/**
 * The SSO's signing keys, fetched with jose's `createRemoteJWKSet` and kept under our own policy, because jose
 * alone gives up on an outage: once its cache expires every verify refetches and a failure propagates, with no
 * backoff. Here:
 * - keys are fresh for `cacheMaxAgeMs`; after that the next request refreshes them;
 * - an unknown `kid` (how key rotation shows up) triggers one refetch, at most once per `cooldownMs`;
 * - every fetch is single-flight: concurrent callers share it, and its outcome is recorded once;
 * - when a refresh fails, the last good keys keep serving until `staleMaxAgeMs` after they were fetched, and no
 *   new fetch is tried for `failureBackoffMs`, so an outage costs requests no latency;
 * - with no usable keys and an unreachable SSO, `JwksUnavailableError` (503 upstream, never a 401).
 */
import { createRemoteJWKSet, errors, type CryptoKey, type FlattenedJWSInput, type JWSHeaderParameters } from 'jose';

export interface JwksCacheOptions {
  /** How long fetched keys are trusted without asking the SSO again. */
  cacheMaxAgeMs?: number;
  /** How long after a successful fetch the keys may still serve while refreshes fail. */
  staleMaxAgeMs?: number;
  /** Minimum time between fetches caused by an unknown `kid`. */
  cooldownMs?: number;
  /** Fetch timeout; at most 3 s so a hanging SSO cannot hold requests for long. */
  timeoutMs?: number;
  /** After a failed fetch, no new fetch is tried for this long (stale keys, or a 503, answer meanwhile). */
  failureBackoffMs?: number;
}

/** Hooks for logs and metrics. A throwing hook is ignored: observability must never break authentication. */
export interface JwksHooks {
  onRefresh?(keyCount: number): void;
  onRefreshFailure?(err: unknown): void;
  /** Called once per failed refresh that leaves expired keys serving, with their age. */
  onStale?(ageMs: number): void;
}

export interface JwksState {
  /** Epoch ms of the last successful fetch, or null if none yet. */
  lastSuccessAt: number | null;
  /** Epoch ms of the last failed fetch, or null if none yet. */
  lastFailureAt: number | null;
  /** Failed fetches since the last successful one (0 when healthy). */
  refreshFailures: number;
  /** True while keys older than `cacheMaxAgeMs` are served because refreshing them failed. */
  stale: boolean;
  /** Keys in the last fetched set. */
  keyCount: number;
}

export const JWKS_DEFAULTS = {
  cacheMaxAgeMs: 60 * 60_000,
  staleMaxAgeMs: 24 * 60 * 60_000,
  cooldownMs: 30_000,
  timeoutMs: 3_000,
  failureBackoffMs: 5_000,
} as const satisfies Required<JwksCacheOptions>;

const MAX_TIMEOUT_MS = 3_000;

/** No usable keys and the SSO cannot be reached: the verifier answers 503 auth-unavailable. */
export class JwksUnavailableError extends Error {
  override readonly name = 'JwksUnavailableError';
}

export interface JwksCache {
  /** Key resolver for `jwtVerify`. */
  getKey(header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey>;
  state(): JwksState;
}

export function createJwksCache(url: URL, options: JwksCacheOptions = {}, hooks: JwksHooks = {}): JwksCache {
  const config = resolveOptions(options);
  // jose fetches (timeout, JWKS validation, key import, kid/alg matching); it never refetches on its own, the
  // policy below decides when `reload()` runs.
  const remote = createRemoteJWKSet(url, {
    cacheMaxAge: Infinity,
    cooldownDuration: Infinity,
    timeoutDuration: config.timeoutMs,
  });

  let lastSuccessAt: number | null = null;
  let lastFailureAt: number | null = null;
  let lastAttemptAt = -Infinity;
  let refreshFailures = 0;
  let keyCount = 0;
  let lastError: unknown;
  let inFlight: Promise<boolean> | null = null;

  const ageMs = () => (lastSuccessAt === null ? Infinity : Date.now() - lastSuccessAt);
  const backingOff = () => refreshFailures > 0 && Date.now() - (lastFailureAt ?? 0) < config.failureBackoffMs;

  /** Joins the fetch in flight or starts one unless `allowed` says no. Resolves true if the keys were refreshed. */
  function refresh(allowed: () => boolean): Promise<boolean> {
    if (inFlight) return inFlight;
    if (!allowed()) return Promise.resolve(false);
    lastAttemptAt = Date.now();
    inFlight = remote
      .reload()
      .then(recordSuccess, recordFailure)
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  }

  function recordSuccess(): true {
    lastSuccessAt = lastAttemptAt = Date.now();
    refreshFailures = 0;
    keyCount = remote.jwks()?.keys.length ?? 0;
    safely(() => hooks.onRefresh?.(keyCount));
    return true;
  }

  function recordFailure(err: unknown): false {
    lastFailureAt = lastAttemptAt = Date.now();
    refreshFailures += 1;
    lastError = err;
    safely(() => hooks.onRefreshFailure?.(err));
    const age = ageMs(); // Infinity before the first success, so a cold start is never reported as stale
    if (age >= config.cacheMaxAgeMs && age < config.staleMaxAgeMs) safely(() => hooks.onStale?.(age));
    return false;
  }

  async function ensureUsableKeys(): Promise<void> {
    if (ageMs() < config.cacheMaxAgeMs) return;
    // Expired (or never fetched): refresh unless backing off; a failure leaves the old keys in place.
    await refresh(() => !backingOff());
    if (ageMs() >= config.staleMaxAgeMs) {
      throw new JwksUnavailableError(
        lastSuccessAt === null
          ? `Cannot fetch the JWKS from ${url.href}`
          : `JWKS from ${url.href} is older than ${config.staleMaxAgeMs} ms and cannot be refreshed`,
        { cause: lastError },
      );
    }
  }

  return {
    async getKey(header, token) {
      await ensureUsableKeys();
      try {
        return await remote(header, token);
      } catch (err) {
        if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
        // Perhaps the SSO rotated its keys. Garbage kids must not turn into a fetch each, hence the cooldown.
        const coolingDown = () => Date.now() - lastAttemptAt < config.cooldownMs;
        const refreshed = await refresh(() => !coolingDown() && !backingOff());
        if (!refreshed) throw err;
        return remote(header, token);
      }
    },

    state: () => ({
      lastSuccessAt,
      lastFailureAt,
      refreshFailures,
      stale: lastSuccessAt !== null && refreshFailures > 0 && ageMs() >= config.cacheMaxAgeMs,
      keyCount,
    }),
  };
}

function resolveOptions(options: JwksCacheOptions): Required<JwksCacheOptions> {
  const config: Required<JwksCacheOptions> = { ...JWKS_DEFAULTS };
  for (const name of Object.keys(JWKS_DEFAULTS) as (keyof JwksCacheOptions)[]) {
    const value = options[name];
    if (value === undefined) continue; // e.g. an unset config entry: keep the default
    if (!(value >= 0)) throw new RangeError(`JWKS option ${name} must be a non-negative number, got ${value}`);
    config[name] = value;
  }
  if (!Number.isInteger(config.timeoutMs) || config.timeoutMs > MAX_TIMEOUT_MS) {
    throw new RangeError(`JWKS option timeoutMs must be an integer of at most ${MAX_TIMEOUT_MS} ms`);
  }
  if (config.staleMaxAgeMs < config.cacheMaxAgeMs) {
    throw new RangeError('JWKS option staleMaxAgeMs must not be shorter than cacheMaxAgeMs');
  }
  return config;
}

function safely(hook: () => void): void {
  try {
    hook();
  } catch {
    // A broken logger or metric must not turn into a failed request.
  }
}
