import type { Request, Response } from 'express';
import type { Config } from '../config.js';
import { hasBearerScheme, isAgentKey, readBearerToken, type Identity } from '../auth/index.js';
import { ProblemError } from '../http/problem.js';
import { createRateLimit } from '../http/rate-limit.js';
import type { RateLimitStore } from '../http/rate-limit-store.js';
import type { Principal } from '../http/principal.js';
import type { PrincipalResolver } from '../identity/resolve.js';
import { DISPATCH_HEADER, InternalClients } from '../mcp/dispatch.js';
import { contract, operationsMarked } from './contract.js';

/** Clients only an in-process dispatch can act for (the chat assistant's tool calls). */
const INTERNAL_CLIENTS: ReadonlySet<string> = new Set(['chat']);

export interface CallerDeps {
  config: Config;
  authenticate: (authorization: string | undefined) => Promise<Identity>;
  resolvePrincipal: PrincipalResolver;
  verifyAgentKey: (token: string) => Promise<Principal>;
  rateLimitStore: RateLimitStore;
}

export interface CallerOptions {
  authorization?: string | undefined;
  operationId?: string;
  limitUser?: boolean;
}

export interface Callers {
  /**
   * Who is calling: an agent by its API key, or a human by a JWT (or dev mode). Throws 401/503 problems.
   * The bearerAuth scheme, POST /chatkit and /mcp all authenticate through this one function.
   */
  authenticateCaller(req: Request, res: Response, options?: CallerOptions): Promise<Principal>;
  /** In-process tool calls (the chat assistant's) and the client they act for; see mcp/dispatch.ts. */
  internalClients: InternalClients;
}

/**
 * Authentication and per-caller limits. Failed authentications are limited per IP, so guessing tokens or keys
 * is slow; authenticated callers per user (unless `limitUser` is false: /mcp counts each tool call's own request
 * instead). A valid token is never refused for its IP: behind a NAT or an untrusted proxy many users share one,
 * and one client's bad token must not lock the others out. An identity provider outage (503) costs no budget.
 */
export function createCallers(deps: CallerDeps): Callers {
  const { config } = deps;
  const userLimit = createRateLimit('user', config.rateLimit.perUserPerMinute, deps.rateLimitStore);
  const anonymousLimit = createRateLimit('anonymous', config.rateLimit.perIpPerMinute, deps.rateLimitStore);
  const forbiddenForAgents = operationsMarked(contract, 'x-forbidden-for-agents');
  const internalClients = new InternalClients();

  const identify = async (authorization: string | undefined): Promise<Principal> => {
    if (hasBearerScheme(authorization)) {
      const token = readBearerToken(authorization);
      if (isAgentKey(token)) return deps.verifyAgentKey(token);
    }
    return deps.resolvePrincipal(await deps.authenticate(authorization));
  };

  const authenticateCaller = async (req: Request, res: Response, options: CallerOptions = {}): Promise<Principal> => {
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

  return { authenticateCaller, internalClients };
}
