import { z } from 'zod';

/** The only reader of process.env: everything configurable, checked once at startup. */
const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const csv = z
  .string()
  .optional()
  .transform((v) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean));
const ms = (fallback: number) => z.coerce.number().int().min(0).default(fallback);

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  LISTEN_BACKLOG: z.coerce.number().int().min(1).max(65535).default(4096),
  LISTEN_SOCKETS: z.coerce.number().int().min(1).max(256).optional(),
  HEAP_GROWTH_PERCENT: z.coerce.number().int().min(0).max(400).default(50),
  V8_PRETENURING: flag,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FAILURE_WINDOW_MS: z.coerce.number().int().min(1).default(10_000),

  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  DATABASE_URL_DIRECT: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  DB_IDLE_TIMEOUT_MS: ms(60_000),
  DB_MAX_CONNECTION_AGE_MS: ms(30 * 60_000),
  DB_CONNECT_TIMEOUT_MS: ms(5_000),
  DB_STATEMENT_TIMEOUT_MS: ms(10_000),
  DB_POOLED: z.enum(['true', 'false']).optional().transform((v) => (v === undefined ? undefined : v === 'true')),
  DB_PREPARED_STATEMENTS: z.enum(['auto', 'on', 'off']).default('auto'),
  DB_MAX_PREPARED_STATEMENTS: z.coerce.number().int().min(1).max(10_000).default(200),

  AUTH_JWKS_URL: z.url().optional(),
  SSO_URL: z.url().optional(),
  AUTH_ISSUER: z.string().min(1).optional(),
  AUTH_AUDIENCE: z.string().min(1).optional(),
  AUTH_ALGORITHMS: csv.pipe(z.array(z.enum(['EdDSA', 'RS256', 'ES256', 'PS256']))),
  AUTH_JWKS_CACHE_MAX_AGE_MS: ms(60 * 60_000),
  AUTH_JWKS_STALE_MAX_AGE_MS: ms(24 * 60 * 60_000),
  AUTH_JWKS_COOLDOWN_MS: ms(30_000),
  AUTH_JWKS_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_000).default(3_000),
  AUTH_DEV_MODE: flag,
  DEV_USER_ID: z.string().min(1).max(255).default('dev-user'),

  CORS_ORIGINS: csv,
  METRICS_TOKEN: z.string().min(16).optional(),
  TRUST_PROXY: z.string().optional(),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(600),
  RATE_LIMIT_ANONYMOUS_PER_MINUTE: z.coerce.number().int().min(0).default(120),
  RATE_LIMIT_STORE: z.enum(['memory', 'redis', 'postgres']).optional(),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  MAX_IN_FLIGHT: z.coerce.number().int().min(0).default(100),
  MAX_QUEUE: z.coerce.number().int().min(0).default(100),
  MAX_QUEUE_WAIT_MS: ms(1_000),
  SHUTDOWN_TIMEOUT_MS: ms(10_000),

  EVENTS_POLL_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(1_000),
  EVENTS_HEARTBEAT_MS: z.coerce.number().int().min(100).max(15_000).default(15_000),
  EVENTS_MAX_STREAMS_PER_USER: z.coerce.number().int().min(1).max(1_000).default(5),
  EVENTS_STREAM_BUFFER_BYTES: z.coerce.number().int().min(1_024).default(1_048_576),
  EVENTS_LISTEN: flag.default(true),
  WEBHOOK_ALLOW_PRIVATE: flag,
  WEBHOOK_RETRY_DELAYS_MS: csv.transform((v) => v.map(Number)).pipe(z.array(z.number().int().min(0))),
  WEBHOOK_DISABLE_AFTER_MS: ms(3 * 24 * 60 * 60_000),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(10_000).default(10_000),
  BACKGROUND_WORKERS: flag.default(true),
  JOBS_POLL_INTERVAL_SECONDS: z.coerce.number().min(0.5).max(60).default(2),
  REMINDER_TIERS: z
    .string()
    .default('24h,1h')
    .transform((v, ctx) => {
      const tiers = parseDurations(v);
      if (tiers === undefined) ctx.addIssue({ code: 'custom', message: 'a comma-separated list of durations such as 24h,1h,5m,30s (each ≥ 1 s)' });
      return tiers ?? [];
    }),
  NOTIFICATION_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(90),
  CHAT_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  CHAT_DB_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(5),
  CHAT_DB_IDLE_TIMEOUT_MS: ms(60_000),
  CHAT_DB_CONNECT_TIMEOUT_MS: ms(2_000),
  CHAT_DB_STATEMENT_TIMEOUT_MS: ms(5_000),
  CHAT_MODEL: z.string().min(1).optional(),
  OPENAI_BASE_URL: z.url().optional(),
  OPENAI_API_KEY: z.string().min(1).optional(),
  CHAT_MODEL_TIMEOUT_MS: z.coerce.number().int().min(100).default(60_000),
  CHAT_MODEL_STREAM: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  CHAT_MAX_STEPS: z.coerce.number().int().min(1).max(20).default(6),
});

const UNIT_SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;

/** `24h,1h` → [86400, 3600] seconds, largest first, without duplicates; undefined when a part is not a duration. */
function parseDurations(text: string): number[] | undefined {
  const parts = text.split(',').map((s) => s.trim()).filter(Boolean);
  const seconds: number[] = [];
  for (const part of parts) {
    const m = /^(\d{1,6})([smhd])$/.exec(part);
    if (!m || Number(m[1]) === 0) return undefined;
    seconds.push(Number(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS]);
  }
  return [...new Set(seconds)].sort((a, b) => b - a);
}

/** Standard Webhooks' schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — 8 attempts over ~28 h. */
const WEBHOOK_RETRY_DELAYS_MS = [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

export type Config = Readonly<ReturnType<typeof toConfig>>;

const DatabaseEnvSchema = EnvSchema.pick({ DATABASE_URL: true, DATABASE_URL_DIRECT: true });

/**
 * Only what a command-line tool that migrates needs (`npm run migrate`, `npm run import`): the URL migrations
 * run over, `DATABASE_URL_DIRECT` first, then `DATABASE_URL`; undefined when neither is set.
 */
export function loadMigrationConfig(env: NodeJS.ProcessEnv = process.env): { databaseUrl?: string; migrationUrl?: string } {
  const parsed = DatabaseEnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const { DATABASE_URL: databaseUrl, DATABASE_URL_DIRECT: direct } = parsed.data;
  return { ...(databaseUrl ? { databaseUrl } : {}), ...(direct ?? databaseUrl ? { migrationUrl: direct ?? databaseUrl } : {}) };
}

function toConfig(env: z.infer<typeof EnvSchema>) {
  const jwksUrl = env.AUTH_JWKS_URL ?? (env.SSO_URL ? new URL('/api/auth/jwks', env.SSO_URL).href : undefined);
  return {
    nodeEnv: env.NODE_ENV,
    production: env.NODE_ENV === 'production',
    host: env.HOST,
    port: env.PORT,
    /**
     * Connections the kernel holds for the server before it accepts them (capped by net.core.somaxconn). Node's
     * default, 511, drops the rest of a burst of new connections, whose clients then retry their SYN 1 s, 3 s later.
     */
    listenBacklog: env.LISTEN_BACKLOG,
    /**
     * Listening sockets on the port (SO_REUSEPORT): the event loop accepts one new connection per socket and loop
     * iteration, so under load a burst of new connections waits seconds in the kernel with one (http/listen.ts).
     */
    listenSockets: env.LISTEN_SOCKETS ?? (process.platform === 'linux' ? 64 : 1),
    /**
     * How far V8 lets the heap grow past what survived the last full collection, in percent (0: V8's own factor,
     * up to 300 % under a high allocation rate). Applied by the server's entry point (server.ts, main).
     */
    heapGrowthPercent: env.HEAP_GROWTH_PERCENT,
    /**
     * Whether V8 may allocate objects from "long-lived" allocation sites straight in the old generation (its
     * allocation-site pretenuring; off unless V8_PRETENURING is true). A request's objects live as long as its
     * database round trip, a good part of a young-generation cycle at 100 requests in flight, so V8 took the sites
     * of result rows, their parsed values and the reply for long-lived ones and promoted 41 KB a request, all of
     * it garbage a few hundred ms later, for full collections every ~3 s (docs/performance-log.md, seventh pass).
     * Applied by the server's entry point (server.ts, main).
     */
    pretenuring: env.V8_PRETENURING,
    logLevel: env.LOG_LEVEL,
    /** Identical failures are logged once per window, then counted (observability/failure-log.ts). */
    logFailureWindowMs: env.LOG_FAILURE_WINDOW_MS,
    database: {
      url: env.DATABASE_URL,
      migrationUrl: env.DATABASE_URL_DIRECT ?? env.DATABASE_URL,
      poolSize: env.DB_POOL_SIZE,
      idleTimeoutMs: env.DB_IDLE_TIMEOUT_MS,
      maxConnectionAgeMs: env.DB_MAX_CONNECTION_AGE_MS,
      connectTimeoutMs: env.DB_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
      /** Behind PgBouncer (Neon `-pooler`)? Detected from the host name unless DB_POOLED says. */
      pooled: env.DB_POOLED,
      /** Named prepared statements: `auto` = on for a direct connection, off behind PgBouncer (see README). */
      preparedStatements: env.DB_PREPARED_STATEMENTS,
      /** Prepared statements kept per connection (least recently used deallocated beyond). */
      maxPreparedStatements: env.DB_MAX_PREPARED_STATEMENTS,
    },
    auth: {
      jwksUrl: jwksUrl ? new URL(jwksUrl) : undefined,
      issuer: env.AUTH_ISSUER,
      audience: env.AUTH_AUDIENCE,
      algorithms: env.AUTH_ALGORITHMS.length ? env.AUTH_ALGORITHMS : ['EdDSA', 'RS256'],
      cacheMaxAgeMs: env.AUTH_JWKS_CACHE_MAX_AGE_MS,
      staleMaxAgeMs: env.AUTH_JWKS_STALE_MAX_AGE_MS,
      cooldownMs: env.AUTH_JWKS_COOLDOWN_MS,
      timeoutMs: env.AUTH_JWKS_TIMEOUT_MS,
      clockToleranceSec: 30,
      devMode: env.AUTH_DEV_MODE,
      devUserId: env.DEV_USER_ID,
    },
    corsOrigins: env.CORS_ORIGINS,
    metricsToken: env.METRICS_TOKEN,
    trustProxy: env.TRUST_PROXY,
    rateLimit: {
      perUserPerMinute: env.RATE_LIMIT_PER_MINUTE,
      perIpPerMinute: env.RATE_LIMIT_ANONYMOUS_PER_MINUTE,
      /** Where counters live: shared by every instance in Redis or PostgreSQL, or per instance in memory. */
      store: env.RATE_LIMIT_STORE ?? (env.REDIS_URL ? 'redis' : 'memory'),
      redisUrl: env.REDIS_URL,
    },
    admission: { maxInFlight: env.MAX_IN_FLIGHT, maxQueue: env.MAX_QUEUE, maxQueueWaitMs: env.MAX_QUEUE_WAIT_MS },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    events: {
      pollIntervalMs: env.EVENTS_POLL_INTERVAL_MS,
      heartbeatMs: env.EVENTS_HEARTBEAT_MS,
      maxStreamsPerUser: env.EVENTS_MAX_STREAMS_PER_USER,
      streamBufferBytes: env.EVENTS_STREAM_BUFFER_BYTES,
      /** LISTEN needs a session: over DATABASE_URL_DIRECT when set (poolers cannot LISTEN). */
      listen: env.EVENTS_LISTEN,
      listenUrl: env.DATABASE_URL_DIRECT ?? env.DATABASE_URL,
    },
    webhooks: {
      allowPrivate: env.WEBHOOK_ALLOW_PRIVATE,
      httpsOnly: env.NODE_ENV === 'production',
      retryDelaysMs: env.WEBHOOK_RETRY_DELAYS_MS.length ? env.WEBHOOK_RETRY_DELAYS_MS : WEBHOOK_RETRY_DELAYS_MS,
      disableAfterMs: env.WEBHOOK_DISABLE_AFTER_MS,
      timeoutMs: env.WEBHOOK_TIMEOUT_MS,
    },
    jobs: {
      pollIntervalSeconds: env.JOBS_POLL_INTERVAL_SECONDS,
      /** false: this instance serves HTTP only; the event-log consumers and job workers run on other instances. */
      background: env.BACKGROUND_WORKERS,
    },
    /** Seconds before the due date at which an assignee is reminded (empty: no reminders). */
    reminders: { tiersSeconds: env.REMINDER_TIERS },
    notifications: { retentionDays: env.NOTIFICATION_RETENTION_DAYS },
    chat: {
      /** Unset: the embedded PostgreSQL's `taskflow_chat` when the API runs on the embedded one, else chat is off. */
      databaseUrl: env.CHAT_DATABASE_URL,
      database: {
        poolSize: env.CHAT_DB_POOL_SIZE,
        idleTimeoutMs: env.CHAT_DB_IDLE_TIMEOUT_MS,
        maxConnectionAgeMs: env.DB_MAX_CONNECTION_AGE_MS,
        connectTimeoutMs: env.CHAT_DB_CONNECT_TIMEOUT_MS,
        statementTimeoutMs: env.CHAT_DB_STATEMENT_TIMEOUT_MS,
        pooled: undefined as boolean | undefined,
      },
      /** The assistant; without CHAT_MODEL, /chatkit answers 503. */
      model: env.CHAT_MODEL
        ? {
            name: env.CHAT_MODEL,
            baseUrl: env.OPENAI_BASE_URL,
            apiKey: env.OPENAI_API_KEY,
            timeoutMs: env.CHAT_MODEL_TIMEOUT_MS,
            stream: env.CHAT_MODEL_STREAM,
            maxSteps: env.CHAT_MAX_STEPS,
          }
        : undefined,
    },
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment; throws ConfigError listing every bad variable, so startup fails fast and clearly. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const config = toConfig(parsed.data);
  if (config.auth.devMode && config.production) {
    throw new ConfigError('Invalid configuration:\n  AUTH_DEV_MODE=true is not allowed with NODE_ENV=production: it would accept unauthenticated requests');
  }
  if (config.rateLimit.store === 'redis' && !config.rateLimit.redisUrl) {
    throw new ConfigError('Invalid configuration:\n  RATE_LIMIT_STORE=redis needs REDIS_URL');
  }
  if (config.rateLimit.store === 'postgres' && !config.database.url) {
    throw new ConfigError('Invalid configuration:\n  RATE_LIMIT_STORE=postgres needs DATABASE_URL (the embedded database serves one instance only)');
  }
  if (!config.auth.jwksUrl && !config.auth.devMode) {
    throw new ConfigError('Invalid configuration:\n  AUTH_JWKS_URL (or SSO_URL) is required unless AUTH_DEV_MODE=true');
  }
  return Object.freeze(config);
}
