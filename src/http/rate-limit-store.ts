import { Redis } from 'ioredis';
import pg from 'pg';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../config.js';
import { tlsFromUrl } from '../db/pool.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

/** How long a limiter may wait for the shared store before the local limiter decides instead. */
const STORE_TIMEOUT_MS = 250;
/** The table of sql/1795770000001_rate-limit-store.sql. */
const PG_TABLE = 'rate_limit';

export interface LimiterOptions {
  /** Distinguishes the policies' counters in the shared store. */
  policy: string;
  points: number;
  durationSeconds: number;
}

/**
 * Where rate-limit counters live. `memory`: in this instance (N instances allow N× the budget). `redis` and
 * `postgres`: shared by every instance, with a local in-memory limiter as rate-limiter-flexible's
 * insuranceLimiter — when the store cannot be reached (or takes longer than STORE_TIMEOUT_MS) the request is
 * decided locally instead of failing. Each change of state is logged once, and `/metrics` shows it.
 */
export interface RateLimitStore {
  readonly kind: Config['rateLimit']['store'];
  limiter(options: LimiterOptions): RateLimiterAbstract;
  /** After a decision: did it come from the shared store (true) or the local fallback (false)? */
  settled(fallbacksBefore: number): void;
  /** How many decisions the local fallback made so far. */
  fallbacks(): number;
  close(): Promise<void>;
}

export function createRateLimitStore(config: Config, logger: Logger, metrics: Metrics): RateLimitStore {
  const { store: kind, redisUrl } = config.rateLimit;
  if (kind === 'memory') {
    return {
      kind,
      limiter: ({ points, durationSeconds }) => new RateLimiterMemory({ points, duration: durationSeconds }),
      settled: () => {},
      fallbacks: () => 0,
      close: async () => {},
    };
  }

  let up = true;
  let closing = false;
  let fallbackCount = 0;
  metrics.rateLimitStoreUp.set(1);
  const markDown = (reason: string) => {
    if (!up || closing) return;
    up = false;
    metrics.rateLimitStoreUp.set(0);
    logger.warn({ store: kind, reason }, 'rate-limit store unreachable: limits are counted per instance until it is back');
  };
  const markUp = () => {
    if (up) return;
    up = true;
    metrics.rateLimitStoreUp.set(1);
    logger.info({ store: kind }, 'rate-limit store reachable again: limits are shared across instances');
  };

  /** The insurance: counts locally, and notes that it had to. */
  class LocalFallback extends RateLimiterMemory {
    override consume(...args: Parameters<RateLimiterMemory['consume']>) {
      fallbackCount++;
      metrics.rateLimitLocalDecisions.inc();
      markDown('a rate-limit decision could not reach the store');
      return super.consume(...args);
    }
  }

  let redis: Redis | undefined;
  let pgPool: pg.Pool | undefined;
  let shared: (options: LimiterOptions, insuranceLimiter: RateLimiterMemory) => RateLimiterAbstract;
  if (kind === 'redis') {
    // No offline queue and a command timeout: while Redis is away a command fails at once instead of waiting.
    redis = new Redis(redisUrl!, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: STORE_TIMEOUT_MS,
      connectTimeout: 2_000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    });
    redis.on('ready', markUp);
    redis.on('close', () => markDown('connection to Redis closed'));
    redis.on('error', () => {}); // every reconnect attempt fails with one; the state change above is logged once
    shared = ({ policy, points, durationSeconds }, insuranceLimiter) =>
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `taskflow:rl:${policy}`,
        points,
        duration: durationSeconds,
        rejectIfRedisNotReady: true,
        insuranceLimiter,
      });
  } else {
    const tls = tlsFromUrl(config.database.url!); // loadConfig requires DATABASE_URL for this store
    pgPool = new pg.Pool({
      connectionString: tls.url,
      ...(tls.ssl ? { ssl: tls.ssl } : {}),
      max: 4,
      connectionTimeoutMillis: 1_000,
      query_timeout: STORE_TIMEOUT_MS,
      idleTimeoutMillis: config.database.idleTimeoutMs,
    });
    pgPool.on('error', () => {}); // an idle connection cut by the server; the next query reconnects
    shared = ({ policy, points, durationSeconds }, insuranceLimiter) =>
      new RateLimiterPostgres({
        storeClient: pgPool,
        storeType: 'pool',
        tableName: PG_TABLE,
        tableCreated: true, // by the migration
        keyPrefix: policy,
        points,
        duration: durationSeconds,
        insuranceLimiter,
      });
  }

  return {
    kind,
    limiter: (options) => shared(options, new LocalFallback({ points: options.points, duration: options.durationSeconds })),
    settled: (before) => {
      if (fallbackCount === before) markUp();
    },
    fallbacks: () => fallbackCount,
    async close() {
      closing = true;
      redis?.disconnect();
      await pgPool?.end();
    },
  };
}
