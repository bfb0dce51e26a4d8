import type express from 'express';
import { buildApp } from './app.js';
import { findActiveAgentKey, touchAgentKey } from './agent-keys/index.js';
import { createAgentKeyVerifier, createAuthenticator } from './auth/index.js';
import type { Config } from './config.js';
import type { DatabasePool } from './db/index.js';
import { buildHandlers } from './handlers.js';
import { createEventHub, type EventHub } from './events/index.js';
import { createAdmission } from './http/admission.js';
import { createRateLimitStore } from './http/rate-limit-store.js';
import { createPrincipalResolver } from './identity/index.js';
import type { JobQueue } from './jobs/index.js';
import { startNotifications } from './notifications/index.js';
import { startReminders } from './reminders/index.js';
import { startWebhooks } from './webhooks/index.js';
import type { Logger } from './observability/logger.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { createChatModel } from './chat/index.js';

export type ComposedApp = express.Express & {
  /** The process's event hub (live streams). */
  events: EventHub;
  /** Ends live streams and stops the event log's consumers (webhooks, reminders, inbox): server.ts and the tests call it before draining. */
  stopBackground(): Promise<void>;
};

/** Wires the app from its parts: the same wiring for the server process and for tests. */
export async function composeApp(parts: {
  config: Config;
  pool: DatabasePool;
  /** The conversations database, when one is configured. */
  chatPool?: DatabasePool;
  logger: Logger;
  jobs: JobQueue;
  metrics?: Metrics;
  /** The database actually used (the embedded one when DATABASE_URL is unset): LISTEN falls back to it. */
  databaseUrl?: string;
}): Promise<ComposedApp> {
  const { config, pool, chatPool, logger, jobs } = parts;
  const metrics = parts.metrics ?? createMetrics();
  const events = createEventHub(pool, { ...config.events, listenUrl: config.events.listenUrl ?? parts.databaseUrl }, logger, metrics);
  // The event log's consumers and the job workers: on every instance unless BACKGROUND_WORKERS=false.
  const consumers = config.jobs.background
    ? [
        await startWebhooks(pool, jobs, events, config, logger),
        startReminders(pool, jobs, events, config, logger),
        startNotifications(pool, jobs, events, config, logger),
      ]
    : [];
  const authenticator = createAuthenticator(config.auth, {
    onRefreshFailure: (err) => {
      metrics.jwksRefreshFailures.inc();
      logger.warn({ err: String(err) }, 'JWKS refresh failed');
    },
    onStale: (ageMs) => logger.warn({ ageMs }, 'verifying tokens with stale JWKS keys: the SSO is unreachable'),
  });
  const admission = createAdmission(config.admission, metrics);
  const rateLimitStore = createRateLimitStore(config, logger, metrics);
  const app = await buildApp({
    config,
    pool,
    authenticate: authenticator.authenticate,
    resolvePrincipal: createPrincipalResolver(pool),
    verifyAgentKey: createAgentKeyVerifier(
      { findActive: (hash) => findActiveAgentKey(pool, hash), touch: (keyId) => touchAgentKey(pool, keyId) },
      { onTouchError: (err) => logger.warn({ err: String(err) }, 'recording an API key use failed') },
    ).verify,
    handlers: buildHandlers({ pool, chatPool, config, metrics, authState: authenticator.state, overloaded: admission.overloaded, events, jobs }),
    admission,
    rateLimitStore,
    logger,
    metrics,
    afterWrite: events.changed,
    chat: { pool: chatPool, model: await createChatModel(config) },
  });
  releases.set(app, () => rateLimitStore.close());
  return Object.assign(app, {
    events,
    async stopBackground() {
      for (const consumer of consumers) await consumer.stop();
      await events.close();
    },
  });
}

const releases = new WeakMap<express.Express, () => Promise<void>>();

/** Closes what composeApp opened besides the pool (the rate-limit store's connections), after the server stopped. */
export async function releaseApp(app: express.Express): Promise<void> {
  await releases.get(app)?.();
}

