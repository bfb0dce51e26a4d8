import type { Response } from 'express';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { ProblemError } from './problem.js';

export interface RateLimit {
  /** Counts one request for `key`; throws a 429 problem once the window's budget is spent. */
  consume(key: string, res: Response): Promise<void>;
}

const WINDOW_SECONDS = 60;

/**
 * A fixed-window limiter per key, with the IETF RateLimit headers (draft-ietf-httpapi-ratelimit-headers).
 * Counters live in each instance's memory: N instances allow up to N× the budget, which the README states.
 * `perMinute = 0` turns the limit off.
 */
export function createRateLimit(policy: string, perMinute: number): RateLimit {
  if (perMinute <= 0) return { consume: async () => {} };
  const limiter = new RateLimiterMemory({ points: perMinute, duration: WINDOW_SECONDS });
  const headers = (state: RateLimiterRes) => {
    const reset = Math.max(0, Math.ceil(state.msBeforeNext / 1000));
    return {
      'RateLimit-Policy': `"${policy}";q=${perMinute};w=${WINDOW_SECONDS}`,
      RateLimit: `"${policy}";r=${Math.max(0, state.remainingPoints)};t=${reset}`,
    };
  };
  return {
    async consume(key, res) {
      try {
        res.set(headers(await limiter.consume(key)));
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        const retryAfter = String(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
        throw new ProblemError('rate-limited', {
          detail: `More than ${perMinute} requests per minute; retry in ${retryAfter} s`,
          headers: { ...headers(rejection), 'Retry-After': retryAfter },
        });
      }
    },
  };
}
