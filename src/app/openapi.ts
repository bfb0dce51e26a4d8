import addFormats from 'ajv-formats';
import type { NextFunction, Request, Response } from 'express';
import { OpenAPIBackend, type Context } from 'openapi-backend';
import type { DatabasePool } from '../db/index.js';
import { precompileRequestParsing } from '../http/fast-request-parser.js';
import { precompileRouting } from '../http/fast-router.js';
import type { HandlerContext, Handlers, OperationId, ProtocolOperationId, Reply } from '../http/handler.js';
import { addHardeningKeywords, hardenRequestSchemas } from '../http/hardening.js';
import { ProblemError } from '../http/problem.js';
import { sendReply } from '../http/reply.js';
import { toFieldErrors } from '../http/validation.js';
import { idempotencyStep } from '../idempotency/index.js';
import type { Callers } from './caller.js';
import { contract, operationsWithHeader } from './contract.js';

/**
 * openapi-backend over the contract: routing, coercion and validation (failures become 422 problems), the
 * bearerAuth security handler (401), and the refusals of what the contract does not have (404, 405).
 */
export function createOpenApi(callers: Callers): OpenAPIBackend {
  const api = new OpenAPIBackend({
    definition: hardenRequestSchemas(structuredClone(contract)),
    strict: true,
    // Validators are compiled on an operation's first request instead of all ~50 at start-up (3–5 s of CPU on
    // a small machine, paid again by every test file that starts an app); the contract is dereferenced
    // synchronously. Whether every request schema compiles is checked in make test (test/unit/contract-compile).
    quick: true,
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
        callers.authenticateCaller(req, res, {
          authorization: c.request.headers.authorization as string | undefined,
          ...(c.operation?.operationId ? { operationId: c.operation.operationId } : {}),
        }),
    },
  });
  // openapi-backend only knows the OpenAPI 3.0 meta-schema; the 3.1 contract is linted by redocly instead.
  api.validateDefinition = () => api.document;
  return api;
}

type Handled = Exclude<OperationId, ProtocolOperationId>;
type AnyHandler = (c: HandlerContext<Handled>) => Promise<Reply<Handled>>;

/**
 * One registration per operationId: the typed context (with `db`, the pool), the steps around the handler —
 * the idempotency step for the operations whose contract takes an Idempotency-Key — and the reply.
 */
export async function registerHandlers(api: OpenAPIBackend, handlers: Handlers, pool: DatabasePool): Promise<void> {
  const idempotent = operationsWithHeader(contract, 'idempotency-key');
  for (const [operationId, handler] of Object.entries(handlers) as [Handled, AnyHandler][]) {
    const run = idempotent.has(operationId) ? idempotencyStep(pool, operationId, handler) : handler;
    api.register(operationId, async (c: Context, _req: Request, res: Response) => {
      const context = {
        // openapi-backend re-reads path params from the URL after validation; the coerced ones are typed.
        params: (c.validation?.coerced as { params?: unknown } | undefined)?.params ?? c.request.params,
        query: c.request.query,
        headers: c.request.headers,
        body: c.request.requestBody,
        principal: c.security?.bearerAuth,
        db: pool,
        raw: c,
        response: res,
      } as HandlerContext<Handled>;
      sendReply(res, await run(context));
    });
  }
  await api.init();
  precompileRouting(api);
  precompileRequestParsing(api);
}

/** The express route into openapi-backend: a plain request object (see stack notes), errors to the error handler. */
export const openApiRoute = (api: OpenAPIBackend) => (req: Request, res: Response, next: NextFunction) => {
  const query = { ...(req.query as Record<string, string | string[]>) };
  res.locals.query = query; // the object openapi-backend validates; postRoutingHandler may trim it
  api
    .handleRequest(
      { method: req.method, path: req.path, query, headers: req.headers as Record<string, string>, body: req.body },
      req,
      res,
    )
    .catch(next);
};

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
