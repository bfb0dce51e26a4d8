import type { Config } from '../config.js';
import type { DatabasePool, Db } from '../db/index.js';
import type { HandlersFor } from '../http/handler.js';
import { ProblemError } from '../http/problem.js';
import type { Metrics } from '../observability/metrics.js';
import type { JwksState } from '../auth/index.js';
import { VERSION } from '../version.js';
import { selectOne } from './health.sql.js';

export interface HealthDeps {
  /** For its connection counts (the metrics' gauges); requests reach the database through their context. */
  pool: DatabasePool;
  chatPool?: DatabasePool;
  config: Config;
  metrics: Metrics;
  authState: () => JwksState;
  overloaded: () => boolean;
}

const READINESS_TIMEOUT_MS = 2_000;

/** `select 1`, but never waits longer than a load balancer would. */
async function databaseReachable(db: Db): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), READINESS_TIMEOUT_MS)));
  const probe = selectOne(db).then(() => true, () => false);
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function refreshGauges({ pool, metrics, authState }: HealthDeps): void {
  const state = pool.state();
  metrics.poolConnections.set({ state: 'active' }, state.acquiredConnections);
  metrics.poolConnections.set({ state: 'idle' }, state.idleConnections);
  metrics.poolConnections.set({ state: 'waiting' }, state.waitingClients);
  const jwks = authState();
  metrics.jwksAge.set(jwks.lastSuccessAt ? (Date.now() - jwks.lastSuccessAt) / 1000 : -1);
  metrics.jwksStale.set(jwks.stale ? 1 : 0);
}

export const healthHandlers = (deps: HealthDeps) =>
  ({
    getHealth: async () => ({ status: 200, body: { status: 'ok', version: VERSION } }),

    getReadiness: async ({ db }) => {
      // Shedding requests right now: a load balancer should send new traffic elsewhere until this passes.
      if (deps.overloaded()) {
        throw new ProblemError('overloaded', { detail: 'The server is refusing requests for lack of capacity', headers: { 'Retry-After': '1' } });
      }
      // The conversations database is optional: when it is down only /chatkit fails, so the instance stays ready.
      const [database, chat] = await Promise.all([
        databaseReachable(db),
        deps.chatPool ? databaseReachable(deps.chatPool) : Promise.resolve(undefined),
      ]);
      if (!database) {
        throw new ProblemError('unavailable', { detail: 'The database does not answer', headers: { 'Retry-After': '5' } });
      }
      const chatDatabase = chat === undefined ? 'not_configured' : chat ? 'ok' : 'unavailable';
      return { status: 200, body: { status: 'ready', database: 'ok', chat_database: chatDatabase } };
    },

    getMetrics: async (c) => {
      const token = deps.config.metricsToken;
      if (token && c.headers.authorization !== `Bearer ${token}`) {
        throw new ProblemError('unauthorized', { detail: 'A valid metrics token is required', headers: { 'WWW-Authenticate': 'Bearer realm="metrics"' } });
      }
      refreshGauges(deps);
      return {
        status: 200,
        body: (await deps.metrics.registry.metrics()) as never,
        headers: { 'Content-Type': deps.metrics.registry.contentType },
      };
    },
  }) satisfies HandlersFor<'getHealth' | 'getReadiness' | 'getMetrics'>;
