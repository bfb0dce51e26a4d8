/**
 * Verifies Better Auth JWTs locally against the SSO's JWKS: no per-request call to the SSO, rotated keys picked
 * up without a restart, and an SSO outage survived on cached keys (see jwks-cache.ts).
 */
import { jwtVerify, type JWTVerifyOptions } from 'jose';
import { readBearerToken, hasBearerScheme } from './bearer.js';
import { DEFAULT_DEV_USER_ID, devIdentity } from './dev.js';
import { identityFromClaims, type Identity } from './identity.js';
import { createJwksCache, JWKS_DEFAULTS, type JwksCache, type JwksHooks, type JwksState } from './jwks-cache.js';
import { toAuthProblem } from './problems.js';
import { createVerifiedTokenCache, type VerifiedTokenCache } from './token-cache.js';

export interface AuthOptions {
  /** The SSO's JWKS, e.g. `${SSO_URL}/api/auth/jwks`. Required unless `devMode`. */
  jwksUrl?: URL;
  /** Checked against `iss` when set. */
  issuer?: string;
  /** Checked against `aud` when set. */
  audience?: string;
  /** Accepted signing algorithms; asymmetric only. Default `['EdDSA', 'RS256']`. */
  algorithms?: string[];
  cacheMaxAgeMs?: number;
  staleMaxAgeMs?: number;
  cooldownMs?: number;
  timeoutMs?: number;
  failureBackoffMs?: number;
  /** Leeway for `exp` and `nbf`, in seconds. Default 30. */
  clockToleranceSec?: number;
  /**
   * Accept requests without a bearer token as `devUserId`. A request that does carry a bearer token is still
   * verified when `jwksUrl` is set, so several real users can be tried locally and a bad token still fails.
   */
  devMode?: boolean;
  devUserId?: string;
  /** How long a verified token is remembered (never past its `exp`). Default 60 s; 0 verifies every time. */
  verifiedTokenTtlMs?: number;
}

export interface Authenticator {
  /** The caller's identity from an `Authorization` header value; throws a 401 or 503 `ProblemError`. */
  authenticate(authorization: string | undefined): Promise<Identity>;
  /** Key cache health, for logs and metrics (all zero/null when no JWKS is configured). */
  state(): JwksState;
}

export const DEFAULT_ALGORITHMS = ['EdDSA', 'RS256'];
export const DEFAULT_CLOCK_TOLERANCE_SEC = 30;

// Public-key algorithms only. HS* next to published keys invites key confusion (a public key used as the HMAC
// secret), and `none` is no signature at all.
const ASYMMETRIC_ALGORITHMS = new Set([
  ...['EdDSA', 'Ed25519', 'ES256', 'ES384', 'ES512'],
  ...['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
]);

const NO_JWKS_STATE: JwksState = {
  lastSuccessAt: null,
  lastFailureAt: null,
  refreshFailures: 0,
  stale: false,
  keyCount: 0,
};

export function createAuthenticator(options: AuthOptions, hooks: JwksHooks = {}): Authenticator {
  const devMode = options.devMode ?? false;
  const devUserId = options.devUserId ?? DEFAULT_DEV_USER_ID;
  if (!options.jwksUrl && !devMode) throw new Error('Authentication needs a JWKS URL unless dev mode is on');
  const jwks = options.jwksUrl ? createJwksCache(options.jwksUrl, options, hooks) : null;
  const verifyOptions = toVerifyOptions(options);
  const verified = createVerifiedTokenCache(options.verifiedTokenTtlMs);
  const cacheMaxAgeMs = options.cacheMaxAgeMs ?? JWKS_DEFAULTS.cacheMaxAgeMs;

  return {
    async authenticate(authorization) {
      // Without dev mode a JWKS always exists (checked above), so only dev mode ever reaches the dev identity.
      if (jwks && (!devMode || hasBearerScheme(authorization))) {
        const token = readBearerToken(authorization);
        // Only while the keys are fresh: past cacheMaxAge, full verification runs the refresh/stale logic.
        const keysFetchedAt = jwks.state().lastSuccessAt;
        const fresh = keysFetchedAt !== null && Date.now() - keysFetchedAt < cacheMaxAgeMs;
        return (fresh && verified.get(token, keysFetchedAt)) || verifyToken(token, jwks, verifyOptions, verified);
      }
      return devIdentity(devUserId);
    },
    state: () => jwks?.state() ?? { ...NO_JWKS_STATE },
  };
}

async function verifyToken(token: string, jwks: JwksCache, verifyOptions: JWTVerifyOptions, verified: VerifiedTokenCache): Promise<Identity> {
  try {
    const { payload } = await jwtVerify(token, jwks.getKey, verifyOptions);
    const identity = identityFromClaims(payload);
    const keysFetchedAt = jwks.state().lastSuccessAt;
    if (keysFetchedAt !== null) verified.set(token, identity, payload.exp!, keysFetchedAt);
    return identity;
  } catch (err) {
    throw toAuthProblem(err);
  }
}

function toVerifyOptions(options: AuthOptions): JWTVerifyOptions {
  const algorithms = options.algorithms ?? DEFAULT_ALGORITHMS;
  const rejected = algorithms.filter((alg) => !ASYMMETRIC_ALGORITHMS.has(alg));
  if (algorithms.length === 0 || rejected.length > 0) {
    const offending = rejected.join(', ') || '(empty list)';
    throw new Error(`Token algorithms must be a non-empty list of asymmetric JWS algorithms; rejected: ${offending}`);
  }
  return {
    algorithms,
    clockTolerance: options.clockToleranceSec ?? DEFAULT_CLOCK_TOLERANCE_SEC,
    // A token without exp would never expire; Better Auth always sets one.
    requiredClaims: ['sub', 'exp'],
    ...(options.issuer !== undefined && { issuer: options.issuer }),
    ...(options.audience !== undefined && { audience: options.audience }),
  };
}
