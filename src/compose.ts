import type express from 'express';
import { buildApp } from './app.js';
import { createAuthenticator } from './auth/index.js';
import type { Config } from './config.js';
import type { DatabasePool } from './db/index.js';
import { buildHandlers } from './handlers.js';
import { createPrincipalResolver } from './identity/resolve.js';
import type { Logger } from './observability/logger.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { createChatModel, createToolsBridge } from './chat/index.js';
import type { Request } from 'express';

/** Wires the app from its parts: the same wiring for the server process and for tests. */
export async function composeApp(parts: {
  config: Config;
  pool: DatabasePool;
  /** The conversations database, when one is configured. */
  chatPool?: DatabasePool;
  logger: Logger;
  metrics?: Metrics;
}): Promise<express.Express> {
  const { config, pool, chatPool, logger } = parts;
  const metrics = parts.metrics ?? createMetrics();
  const authenticator = createAuthenticator(config.auth, {
    onRefreshFailure: (err) => {
      metrics.jwksRefreshFailures.inc();
      logger.warn({ err: String(err) }, 'JWKS refresh failed');
    },
    onStale: (ageMs) => logger.warn({ ageMs }, 'verifying tokens with stale JWKS keys: the SSO is unreachable'),
  });
  return buildApp({
    config,
    pool,
    authenticate: authenticator.authenticate,
    resolvePrincipal: createPrincipalResolver(pool),
    handlers: buildHandlers({ pool, chatPool, config, metrics, authState: authenticator.state }),
    logger,
    metrics,
    chat: { pool: chatPool, model: await createChatModel(config), toolsFor: (req) => createToolsBridge(ownAddress(req)) },
  });
}

/** The address a request came in on: this server, as the tools bridge calls it back. */
function ownAddress(req: Request): string {
  const address = (req.socket.localAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  return `http://${address.includes(':') ? `[${address}]` : address}:${req.socket.localPort}`;
}
