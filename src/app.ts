import { readFileSync } from 'node:fs';
import addFormats from 'ajv-formats';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import yaml from 'js-yaml';
import { OpenAPIBackend, type Context, type Document } from 'openapi-backend';
import { pinoHttp } from 'pino-http';
import type { Config } from './config.js';
import type { DatabasePool } from './db/index.js';
import { toProblem } from './http/errors.js';
import type { Handlers, HandlerContext, OperationId, ProtocolOperationId } from './http/handler.js';
import { ProblemError } from './http/problem.js';
import { sendProblem, sendReply } from './http/reply.js';
import { toFieldErrors } from './http/validation.js';
import { precompileRouting } from './http/fast-router.js';
import { addHardeningKeywords, hardenRequestSchemas } from './http/hardening.js';
import type { Identity } from './auth/index.js';
import type { PrincipalResolver } from './identity/index.js';
import type { Principal } from './http/principal.js';
import { hasBearerScheme, isAgentKey, readBearerToken } from './auth/index.js';
import { mcpEndpoint } from './mcp/endpoint.js';
import type { Logger } from './observability/logger.js';
import type { Metrics } from './observability/metrics.js';
import { CONTRACT_PATH } from './paths.js';
import { docsPage } from './http/docs.js';
import { requestId } from './http/request-id.js';
import { requestDeadline } from './http/deadline.js';
import { createRateLimit } from './http/rate-limit.js';
import { createFailureSampler, describeFailure, failureKey } from './observability/failure-log.js';
import type { Admission } from './http/admission.js';
import type { RateLimitStore } from './http/rate-limit-store.js';
import { isTransactionScoped, requestHash, runIdempotent } from './idempotency/index.js';
import { chatKitHandler, contractChatTools, type ChatKitDeps } from './chat/index.js';
import { DISPATCH_HEADER, InternalClients } from './mcp/dispatch.js';

export interface AppDeps {
  config: Config;
  /** transactionScoped(pool), the same object the handlers were built with (idempotent requests need it). */
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

/** Clients only an in-process dispatch can act for (the chat assistant's tool calls). */
const INTERNAL_CLIENTS: ReadonlySet<string> = new Set(['chat']);

const contractText = readFileSync(CONTRACT_PATH, 'utf8');
export const contract = yaml.load(contractText) as Document;
const contractJson = JSON.stringify(contract);

const BODY_LIMIT = '1mb';
const JSON_TYPES = ['application/json', 'application/*+json'];

/** Builds the express app: no listen, no globals, so tests run many side by side. */
export async function buildApp(deps: AppDeps): Promise<express.Express> {
  const { config, logger, metrics } = deps;
  if (!isTransactionScoped(deps.pool)) {
    throw new Error('buildApp needs transactionScoped(pool), shared with the handlers, so an idempotent creation and its key commit together');
  }
  const userLimit = createRateLimit('user', config.rateLimit.perUserPerMinute, deps.rateLimitStore);
  const anonymousLimit = createRateLimit('anonymous', config.rateLimit.perIpPerMinute, deps.rateLimitStore);
  const forbiddenForAgents = operationsMarked(contract, 'x-forbidden-for-agents');
  // In-process tool calls (the chat assistant's) and the client they act for; see mcp/dispatch.ts.
  const internalClients = new InternalClients();
  /**
   * Who is calling: an agent by its API key, or a human by a JWT (or dev mode). Throws 401/503 problems.
   * The bearerAuth scheme, POST /chatkit and /mcp all authenticate through this one function.
   * Failed authentications are limited per IP, so guessing tokens or keys is slow; authenticated callers per user
   * (unless `limitUser` is false: /mcp counts each tool call's own request instead). A valid token is never
   * refused for its IP: behind a NAT or an untrusted proxy many users share one, and one client's bad token must
   * not lock the others out. An identity provider outage (503) costs no budget.
   */
  const authenticateCaller = async (
    req: Request,
    res: Response,
    options: { authorization?: string | undefined; operationId?: string; limitUser?: boolean } = {},
  ): Promise<Principal> => {
    const authorization = 'authorization' in options ? options.authorization : req.headers.authorization;
    const principal = await identify(authorization).catch(async (err: unknown) => {
      if (err instanceof ProblemError && err.status === 401) await anonymousLimit.consume(req.ip ?? 'unknown', res);
      throw err;
    });
    res.locals.userId = principal.userId;
    if (options.limitUser !== false) await userLimit.consume(`${principal.tenantId}\u0000${principal.userId}`, res);
    // Data, not code: the operations the contract marks x-forbidden-for-agents (its security table).
    const { operationId } = options;
    if (principal.actorType === 'agent' && operationId && forbiddenForAgents.has(operationId)) {
      throw new ProblemError('forbidden-for-agents', { detail: `${principal.handle} is an agent; ${operationId} is reserved for humans` });
    }
    // The client of an in-process dispatch comes from the server's own registry, never from the request; a token
    // naming a reserved in-process client does not get to claim it.
    const internal = internalClients.take(req.headers[DISPATCH_HEADER]);
    if (internal !== null) return { ...principal, client: internal };
    return principal.client !== null && INTERNAL_CLIENTS.has(principal.client) ? { ...principal, client: null } : principal;
  };
  const identify = async (authorization: string | undefined): Promise<Principal> => {
    if (hasBearerScheme(authorization)) {
      const token = readBearerToken(authorization);
      if (isAgentKey(token)) return deps.verifyAgentKey(token);
    }
    return deps.resolvePrincipal(await deps.authenticate(authorization));
  };
  const api = new OpenAPIBackend({
    definition: hardenRequestSchemas(structuredClone(contract)),
    strict: true,
    quick: false,
    coerceTypes: true,
    ajvOpts: { allErrors: true, strict: false },
    customizeAjv: (ajv) => {
      addFormats.default(ajv);
      return addHardeningKeywords(ajv);
    },
    handlers: {
      validationFail: (c: Context) => {
        throw new ProblemError('validation-failed', {
          detail: 'Some fields are not valid; see errors',
          errors: toFieldErrors(c.validation.errors),
        });
      },
      unauthorizedHandler: (c: Context) => {
        const failure = (c.security?.bearerAuth as { error?: unknown } | undefined)?.error;
        throw failure ?? new ProblemError('unauthorized', { headers: { 'WWW-Authenticate': 'Bearer realm="taskflow"' } });
      },
      notFound: () => {
        throw new ProblemError('not-found', { detail: 'No operation of the API matches this path' });
      },
      methodNotAllowed: () => {
        throw new ProblemError('method-not-allowed', { detail: 'This path does not support this method' });
      },
      notImplemented: () => {
        throw new ProblemError('internal', { detail: 'Operation not implemented' });
      },
      postRoutingHandler: (c: Context, _req: Request, res: Response) => {
        res.locals.operationId = c.operation?.operationId;
        if (c.operation) ignoreUnreportableQuery(c.operation, res.locals.query as Record<string, unknown>);
      },
    },
    securityHandlers: {
      bearerAuth: (c: Context, req: Request, res: Response) =>
        authenticateCaller(req, res, {
          authorization: c.request.headers.authorization as string | undefined,
          ...(c.operation?.operationId ? { operationId: c.operation.operationId } : {}),
        }),
    },
  });
  // openapi-backend only knows the OpenAPI 3.0 meta-schema; the 3.1 contract is linted by redocly instead.
  api.validateDefinition = () => api.document;
  const idempotentOperations = operationsWithHeader(contract, 'idempotency-key');
  type Handled = Exclude<OperationId, ProtocolOperationId>;
  for (const [operationId, handler] of Object.entries(deps.handlers) as [Handled, Handlers[Handled]][]) {
    api.register(operationId, async (c: Context, req: Request, res: Response) => {
      const context = {
        // openapi-backend re-reads path params from the URL after validation; the coerced ones are typed.
        params: (c.validation?.coerced as { params?: unknown } | undefined)?.params ?? c.request.params,
        query: c.request.query,
        headers: c.request.headers,
        body: c.request.requestBody,
        principal: c.security?.bearerAuth,
        raw: c,
        response: res,
      } as HandlerContext<Handled>;
      const run = () => (handler as (c: HandlerContext<Handled>) => Promise<{ status: number }>)(context);
      const key = c.request.headers['idempotency-key'];
      if (typeof key === 'string' && idempotentOperations.has(operationId)) {
        const scope = { tenantId: context.principal.tenantId, userId: context.principal.userId, key };
        const hash = requestHash(operationId, c.request.path, context.body);
        const unjoined = () => req.log?.warn({ operationId }, 'idempotent handler wrote outside the request transaction: key and creation are not atomic');
        sendReply(res, await runIdempotent(deps.pool, scope, hash, run, unjoined));
      } else {
        sendReply(res, await run());
      }
    });
  }
  await api.init();
  precompileRouting(api);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // ETags are the rows' versions, set by handlers; not body hashes
  if (config.trustProxy) app.set('trust proxy', config.trustProxy);

  // A failed request is logged once, on its pino-http line; identical failures in a burst are counted instead.
  const failures = createFailureSampler({
    windowMs: config.logFailureWindowMs,
    report: ({ failure, suppressed, windowMs }) =>
      logger.error({ failure, suppressed, windowMs }, `${suppressed} more identical failure(s) within ${windowMs / 1000} s, not logged one by one`),
  });
  const noteFailure = (res: Response, key: string, failure: Record<string, unknown>) => {
    res.locals.failure = failure;
    res.locals.failureLogged = failures.admit(key, () => failure);
  };
  app.use(requestId());
  // First, before logging, parsing and authentication: a request refused for lack of capacity costs almost nothing.
  if (deps.admission) app.use(deps.admission.middleware);
  app.use(requestDeadline(requestDeadlineMs(config), (res, failure) => noteFailure(res, 'request-deadline', failure)));
  app.use(
    pinoHttp({
      logger,
      genReqId: (req) => (req as unknown as Request).res!.locals.requestId as string,
      customProps: (_req, res) => ({ operationId: res.locals?.operationId, userId: res.locals?.userId }),
      customLogLevel: (_req, res, err) =>
        res.locals?.failureLogged === false ? 'silent' : err || res.statusCode >= 500 ? 'error' : 'info',
      // `failure` is what the error handler recorded (no stack for a database outage), in place of pino-http's
      // `err`, which would be a stand-in "failed with status code 503" with a stack of its own.
      customErrorObject: (_req, res, _error, { err: _standIn, ...line }: Record<string, unknown>) =>
        res.locals?.failure ? { ...line, failure: res.locals.failure } : line,
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      autoLogging: { ignore: (req) => req.url === '/health' || req.url === '/metrics' },
    }),
  );
  app.use((req, res, next) => {
    const stop = metrics.duration.startTimer();
    res.on('finish', () => {
      if (req.method !== 'GET' && req.method !== 'HEAD' && res.statusCode < 300) deps.afterWrite?.();
      const labels = { operation: (res.locals.operationId as string | undefined) ?? 'unmatched', status: String(res.statusCode) };
      stop(labels);
      metrics.requests.inc(labels);
    });
    next();
  });
  app.use(helmet({ contentSecurityPolicy: false }));
  app.use(
    cors({
      origin: (origin, callback) => callback(null, origin !== undefined && config.corsOrigins.includes(origin)),
      credentials: true,
      exposedHeaders: ['ETag', 'Location', 'X-Request-Id', 'RateLimit', 'RateLimit-Policy', 'Retry-After', 'WWW-Authenticate'],
      maxAge: 600,
    }),
  );

  app.get('/openapi.json', (_req, res) => void res.type('application/json').send(contractJson));
  app.get('/openapi.yaml', (_req, res) => void res.type('application/yaml').send(contractText));
  app.use('/docs', docsPage());

  // MCP: every /api operation as a tool, dispatched back through this app (src/mcp/).
  app.use('/mcp', mcpEndpoint({ contract, authenticate: (authorization, req, res) => authenticateCaller(req, res, { authorization, limitUser: false }), logger }));

  app.use(rejectUnsupportedMediaType);
  app.use(express.json({ limit: BODY_LIMIT, type: JSON_TYPES, strict: false }));
  // A streaming protocol endpoint, documented in the contract but answered outside the typed handler map
  // (see src/chat/chatkit.handlers.ts); authentication, limits and problems are the ones above and below.
  app.post(
    '/chatkit',
    chatKitHandler({ ...deps.chat, toolsFor: contractChatTools(contract, internalClients), authenticate: (req, res) => authenticateCaller(req, res) }),
  );
  app.use((req: Request, res: Response, next: NextFunction) => {
    const query = { ...(req.query as Record<string, string | string[]>) };
    res.locals.query = query; // the object openapi-backend validates; postRoutingHandler may trim it
    api
      .handleRequest(
        { method: req.method, path: req.path, query, headers: req.headers as Record<string, string>, body: req.body },
        req,
        res,
      )
      .catch(next);
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { problem: body, headers, unexpected } = toProblem(bodyParserProblem(err) ?? err);
    if (unexpected) {
      const outage = body.status === 503; // the database away: class, code and message say it all
      const sentAlready = res.headersSent; // e.g. after the request deadline answered: its line is written
      noteFailure(res, failureKey(body.type, err), describeFailure(err, outage));
      if (sentAlready && res.locals.failureLogged) req.log?.warn({ failure: res.locals.failure }, 'request failed after its response was sent');
    }
    sendProblem(req, res, body, headers);
  });
  return app;
}

/**
 * A request may take as long as its slowest statement may (DB_STATEMENT_TIMEOUT_MS) or a connection attempt,
 * plus a second; a statement timeout of 0 (off) turns the deadline off too.
 */
export const requestDeadlineMs = (config: Config): number =>
  config.database.statementTimeoutMs > 0 ? Math.max(config.database.statementTimeoutMs, config.database.connectTimeoutMs) + 1_000 : 0;

/** A body that is not JSON is refused before anything reads it. */
function rejectUnsupportedMediaType(req: Request, _res: Response, next: NextFunction): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.is(JSON_TYPES)) {
    next(new ProblemError('unsupported-media-type', { detail: `Send JSON with Content-Type: application/json (got ${req.headers['content-type'] ?? 'none'})` }));
    return;
  }
  next();
}

/** body-parser's errors carry a `type`; they become the problems the contract documents. */
function bodyParserProblem(err: unknown): ProblemError | undefined {
  const type = (err as { type?: unknown })?.type;
  if (type === 'entity.parse.failed') return new ProblemError('malformed-json', { detail: 'The request body is not valid JSON' });
  if (type === 'entity.too.large') return new ProblemError('payload-too-large', { detail: `Request bodies are limited to ${BODY_LIMIT}` });
  if (type === 'charset.unsupported' || type === 'encoding.unsupported')
    return new ProblemError('unsupported-media-type', { detail: 'Unsupported body charset or encoding' });
  return undefined;
}

/**
 * openapi-backend refuses query parameters an operation does not declare, with a 422. Operations whose contract
 * documents no 422 (health, readiness, metrics, me) could not send one, and a cache-buster such as
 * `/health?_=1700000000` should not fail a load balancer's check: there, undeclared parameters are ignored.
 */
function ignoreUnreportableQuery(operation: Context['operation'], query: Record<string, unknown> | undefined): void {
  if (!query || (operation.responses ?? {})['422']) return;
  const declared = new Set((operation.parameters ?? []).filter((p) => 'in' in p && p.in === 'query').map((p) => ('name' in p ? p.name : '')));
  for (const name of Object.keys(query)) if (!declared.has(name)) delete query[name];
}

/** operationIds the contract marks with an `x-` extension set to true, such as x-forbidden-for-agents. */
export function operationsMarked(doc: Document, extension: `x-${string}`): Set<string> {
  const ids = new Set<string>();
  for (const item of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(item ?? {}) as Record<string, unknown>[]) {
      if (op && typeof op === 'object' && op[extension] === true && typeof op.operationId === 'string') ids.add(op.operationId);
    }
  }
  return ids;
}

/** operationIds whose contract declares a given request header (resolving $ref'd parameters). */
function operationsWithHeader(doc: Document, header: string): Set<string> {
  const resolve = (p: unknown): { in?: string; name?: string } => {
    const ref = (p as { $ref?: string }).$ref;
    if (!ref) return p as { in?: string; name?: string };
    return ref.split('/').slice(1).reduce<any>((node, key) => node?.[key], doc) ?? {};
  };
  const ids = new Set<string>();
  for (const item of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(item ?? {}) as { operationId?: string; parameters?: unknown[] }[]) {
      if (!op?.operationId) continue;
      if ((op.parameters ?? []).map(resolve).some((p) => p.in === 'header' && p.name?.toLowerCase() === header)) ids.add(op.operationId);
    }
  }
  return ids;
}
