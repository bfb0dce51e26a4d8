import { agentKeyHandlers } from './agent-keys/agent-keys.handlers.js';
import { agentHandlers } from './agents/agents.handlers.js';
import { auditHandlers } from './audit-log/audit-log.handlers.js';
import type { Config } from './config.js';
import type { DatabasePool } from './db/index.js';
import { eventHandlers, type EventHub } from './events/index.js';
import type { JobQueue } from './jobs/index.js';
import { webhookHandlers } from './webhooks/index.js';
import { healthHandlers } from './health/health.handlers.js';
import type { Handlers } from './http/handler.js';
import { identityHandlers } from './identity/index.js';
import { memberHandlers } from './members/members.handlers.js';
import { notificationHandlers } from './notifications/index.js';
import type { Metrics } from './observability/metrics.js';
import type { JwksState } from './auth/index.js';
import { projectHandlers } from './projects/projects.handlers.js';
import { taskHandlers } from './tasks/tasks.handlers.js';

export interface HandlerDeps {
  /** Readiness reports its connection counts; handlers run their SQL on their context's `db`, never on this. */
  pool: DatabasePool;
  /** The conversations database, when configured (readiness reports it). */
  chatPool?: DatabasePool;
  config: Config;
  metrics: Metrics;
  authState: () => JwksState;
  /** True while admission control is refusing requests (readiness reports it). */
  overloaded: () => boolean;
  events: EventHub;
  jobs: JobQueue;
}

/**
 * One handler per operationId of the contract; `Handlers` makes a missing or extra one a compile error. Handlers
 * get the database with each request (`c.db`), so a handler shows which transaction it runs in.
 */
export const buildHandlers = (deps: HandlerDeps): Handlers => ({
  ...healthHandlers(deps),
  ...identityHandlers(),
  ...projectHandlers(),
  ...memberHandlers(),
  ...agentHandlers(),
  ...agentKeyHandlers(),
  ...taskHandlers(),
  ...auditHandlers(),
  ...eventHandlers({ hub: deps.events }),
  ...webhookHandlers(deps),
  ...notificationHandlers(),
});
