import { createHash } from 'node:crypto';
import type { Response } from 'express';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { ProblemError } from './problem.js';
import type { RateLimitStore } from './rate-limit-store.js';

export interface RateLimit {
  /** Counts one request for `key`; throws a 429 problem once the window's budget is spent. */
  consume(key: string, res: Response): Promise<void>;
}

const WINDOW_SECONDS = 60;

/**
 * A fixed-window limiter per key, with the IETF RateLimit headers (draft-ietf-httpapi-ratelimit-headers).
 * Counters live where `store` keeps them: in this instance's memory, or shared by every instance in Redis or
 * PostgreSQL (see rate-limit-store.ts; an unreachable store means local counting, never an error).
 * Keys are hashed: no user id or IP address is written to the store. `perMinute = 0` turns the limit off.
 */
export function createRateLimit(policy: string, perMinute: number, store: RateLimitStore): RateLimit {
  if (perMinute <= 0) return { consume: async () => {} };
  const limiter = store.limiter({ policy, points: perMinute, durationSeconds: WINDOW_SECONDS });
  const headers = (state: RateLimiterRes) => {
    const reset = Math.max(0, Math.ceil(state.msBeforeNext / 1000));
    return {
      'RateLimit-Policy': `"${policy}";q=${perMinute};w=${WINDOW_SECONDS}`,
      RateLimit: `"${policy}";r=${Math.max(0, state.remainingPoints)};t=${reset}`,
    };
  };
  return {
    async consume(key, res) {
      const fallbacksBefore = store.fallbacks();
      try {
        res.set(headers(await limiter.consume(createHash('sha256').update(key).digest('base64url'))));
        store.settled(fallbacksBefore);
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        store.settled(fallbacksBefore);
        const retryAfter = String(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
        throw new ProblemError('rate-limited', {
          detail: `More than ${perMinute} requests per minute; retry in ${retryAfter} s`,
          headers: { ...headers(rejection), 'Retry-After': retryAfter },
        });
      }
    },
  };
}
