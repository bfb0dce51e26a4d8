import express from 'express';
import type { Config } from './config.js';
import type { DatabasePool } from './db/index.js';
import type { Handlers } from './http/handler.js';
import type { Identity } from './auth/index.js';
import type { PrincipalResolver } from './identity/index.js';
import type { Principal } from './http/principal.js';
import { mcpEndpoint } from './mcp/endpoint.js';
import type { Logger } from './observability/logger.js';
import type { Metrics } from './observability/metrics.js';
import type { Admission } from './http/admission.js';
import type { RateLimitStore } from './http/rate-limit-store.js';
import { chatKitHandler, contractChatTools, type ChatKitDeps } from './chat/index.js';
import { createCallers } from './app/caller.js';
import { contract } from './app/contract.js';
import { docsRoutes } from './app/docs-routes.js';
import { errorHandler, jsonBody } from './app/errors.js';
import { failureNotes } from './app/failures.js';
import { middlewares } from './app/middlewares.js';
import { createOpenApi, openApiRoute, registerHandlers } from './app/openapi.js';

export { contract, operationsMarked } from './app/contract.js';

export interface AppDeps {
  config: Config;
  /** Every handler gets it as its `db` (or a transaction of it, when a step such as idempotency opened one). */
  pool: DatabasePool;
  authenticate: (authorization: string | undefined) => Promise<Identity>;
  resolvePrincipal: PrincipalResolver;
  /** The principal of an agent API key (`Bearer tfa_…`); throws a 401 ProblemError for anything else. */
  verifyAgentKey: (token: string) => Promise<Principal>;
  handlers: Handlers;
  logger: Logger;
  metrics: Metrics;
  /** The conversations endpoint (POST /chatkit); without it /chatkit answers 503 chat-unavailable. */
  chat?: Omit<ChatKitDeps, 'authenticate' | 'toolsFor'>;
  /** Admission control for /api requests (see http/admission.ts); none: every request is admitted. */
  admission?: Admission;
  /** Where rate-limit counters live (memory, Redis, PostgreSQL). */
  rateLimitStore: RateLimitStore;
  /** Called after every successful write request (live updates wake up without waiting for their poll). */
  afterWrite?: () => void;
}

/**
 * Builds the express app: no listen, no globals, so tests run many side by side. A request meets, in order:
 * the middlewares (id, admission, deadline, log, metrics, headers, CORS), the docs routes or /mcp, the JSON
 * body parser, POST /chatkit or openapi-backend (route, validate, authenticate, then the operation's steps and
 * handler: see app/openapi.ts), and the error handler for anything thrown. Each step is a file in src/app/.
 */
export async function buildApp(deps: AppDeps): Promise<express.Express> {
  const callers = createCallers(deps);
  const api = createOpenApi(callers);
  await registerHandlers(api, deps.handlers, deps.pool);
  const noteFailure = failureNotes(deps.config, deps.logger);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // ETags are the rows' versions, set by handlers; not body hashes
  if (deps.config.trustProxy) app.set('trust proxy', deps.config.trustProxy);

  app.use(middlewares(deps, noteFailure));
  docsRoutes(app);
  // MCP: every /api operation as a tool, dispatched back through this app (src/mcp/).
  app.use('/mcp', mcpEndpoint({ contract, logger: deps.logger, authenticate: (authorization, req, res) => callers.authenticateCaller(req, res, { authorization, limitUser: false }) }));
  app.use(jsonBody());
  // A streaming protocol endpoint, documented in the contract but answered outside the typed handler map
  // (see src/chat/chatkit.handlers.ts); authentication, limits and problems are the ones above and below.
  app.post('/chatkit', chatKitHandler({
    ...deps.chat,
    toolsFor: contractChatTools(contract, callers.internalClients),
    authenticate: (req, res) => callers.authenticateCaller(req, res),
  }));
  app.use(openApiRoute(api));
  app.use(errorHandler(noteFailure));
  return app;
}
