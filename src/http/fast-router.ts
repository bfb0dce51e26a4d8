import type { OpenAPIBackend, Operation, Request as OBRequest } from 'openapi-backend';

/**
 * A faster operation matcher for openapi-backend: an adapter over its router, not a fork of it.
 *
 * Why: openapi-backend's `OpenAPIRouter.matchOperation` rebuilds every operation object (lodash chains over the
 * definition, in `getOperations()`) and a RegExp per path template on each request: measured at ~7 % of the CPU
 * of a list request. The definition is fixed after `init()`, so the table is compiled once here and requests are
 * routed with the same rules: an exact path first, then templates by specificity (longest literal part first),
 * a path that matches with another method is a 405, none at all a 404.
 *
 * What it relies on in openapi-backend's internals (verified with 5.21.2):
 * - `api.router` is the `OpenAPIRouter` instance that `handleRequest` routes with, through
 *   `this.router.matchOperation(req, true)`, and `getOperation(id)` goes through `this.getOperations()`: both are
 *   instance methods, so assigning them on the instance takes effect.
 * - `router.normalizeRequest(req)` (leading slash, no query string, lowercase method) and
 *   `router.normalizePath(path)` (apiRoot and trailing slashes stripped) are the normalisation the stock matcher
 *   uses; the default apiRoot `/` is assumed (every path is under it).
 * - A routing failure in strict mode is an Error whose message starts with `404` or `405`: `handleRequest` picks
 *   the notFound or methodNotAllowed handler from that prefix.
 *
 * Guard: `precompileRouting` first checks that the router has that shape and that the compiled table answers
 * exactly as the stock matcher does for every operation of the definition (its own method, a method it lacks,
 * a trailing slash, an unknown path). If anything differs it leaves the stock matcher in place (slower, still
 * correct) and says why. test/unit/fast-router.test.ts fails when that happens with the installed version, so an
 * upgrade that changes what this relies on is noticed in `make test`, not in production.
 */

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const METHOD_SET: ReadonlySet<string> = new Set(METHODS);
const escapeRegExp = (literal: string) => literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const slashes = (path: string): number => {
  let n = 0;
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) n++;
  return n;
};

type Router = OpenAPIBackend['router'];
type Matcher = Router['matchOperation'];

export type RoutingMode = { adapted: true } | { adapted: false; reason: string };

/** Builds the precompiled matcher over a fixed list of operations, with the router's own normalisation. */
export function compileMatcher(router: Router, operations: readonly Operation[]): Matcher {
  const exact = new Map<string, Operation>();
  const templates: { pattern: RegExp; specificity: number; op: Operation }[] = [];
  for (const op of operations) {
    if (!METHOD_SET.has(op.method)) continue;
    if (op.path.includes('{')) {
      const pattern = new RegExp(`^${op.path.replace(/\{[^}]+\}/g, '\0').split('\0').map(escapeRegExp).join('[^/]+')}$`);
      templates.push({ pattern, specificity: op.path.replace(/\{.*?\}/g, '').length, op });
    } else {
      exact.set(`${op.method} ${op.path}`, op);
    }
  }
  templates.sort((a, b) => b.specificity - a.specificity);
  // A template's parameters never match a '/', so only templates with as many slashes as the path can match it.
  const bySlashes = new Map<number, typeof templates>();
  for (const t of templates) {
    const n = slashes(t.op.path);
    bySlashes.set(n, [...(bySlashes.get(n) ?? []), t]);
  }
  const exactPaths = new Set(operations.map((op) => op.path));

  return ((req: OBRequest, strict?: boolean) => {
    const normalized = router.normalizeRequest(req);
    const path = router.normalizePath(normalized.path);
    const found = exact.get(`${normalized.method} ${path}`);
    if (found) return found;
    let pathMatched = exactPaths.has(path);
    for (const { pattern, op } of bySlashes.get(slashes(path)) ?? []) {
      if (!pattern.test(path)) continue;
      if (op.method === normalized.method) return op;
      pathMatched = true;
    }
    if (!strict) return undefined;
    throw Error(pathMatched ? '405-methodNotAllowed: this method is not registered for the route' : '404-notFound: no route matches request');
  }) as Matcher;
}

/** What a matcher answers for a request: the operationId, or the 404/405 prefix of the routing error. */
export function routeOutcome(match: Matcher, req: OBRequest): string {
  try {
    const op = match(req, true);
    return op ? `${op.method} ${op.path} ${op.operationId ?? ''}` : 'none';
  } catch (err) {
    return err instanceof Error ? err.message.slice(0, 3) : 'thrown';
  }
}

/** Requests that exercise every routing rule for these operations: the equivalence check's sample. */
export function sampleRequests(operations: readonly Operation[]): OBRequest[] {
  const headers = {};
  const requests: OBRequest[] = [{ method: 'GET', path: '/no/such/path', headers }, { method: 'GET', path: '/', headers }];
  for (const op of operations) {
    const path = op.path.replace(/\{[^}]+\}/g, '42');
    const other = METHODS.find((m) => !operations.some((o) => o.path === op.path && o.method === m)) ?? 'trace';
    requests.push(
      { method: op.method.toUpperCase(), path, headers },
      { method: op.method, path: `${path}/`, headers },
      { method: op.method, path: `${path}?a=1`, headers },
      { method: other.toUpperCase(), path, headers },
      { method: op.method, path: `${path}/extra`, headers },
    );
  }
  return requests;
}

/** Why the adapter cannot stand in for the stock matcher on this router, or null when it can. */
export function unsupportedReason(router: Router, stock: Matcher, fast: Matcher, operations: readonly Operation[]): string | null {
  for (const method of ['matchOperation', 'getOperations', 'getOperation', 'normalizeRequest', 'normalizePath'] as const) {
    if (typeof (router as unknown as Record<string, unknown>)[method] !== 'function') return `router.${method} is not a function`;
  }
  if (router.apiRoot !== '/') return `apiRoot is ${router.apiRoot}, not /`;
  for (const req of sampleRequests(operations)) {
    const expected = routeOutcome(stock, req);
    const actual = routeOutcome(fast, req);
    if (expected !== actual) return `${req.method} ${req.path}: the stock matcher answers "${expected}", the adapter "${actual}"`;
  }
  return null;
}

/**
 * Replaces the router's matcher with the precompiled one (after `api.init()`), if it answers exactly as the stock
 * matcher does; otherwise keeps the stock matcher. Returns which one routes from now on.
 */
export function precompileRouting(api: OpenAPIBackend): RoutingMode {
  const router = api.router;
  let operations: Operation[];
  let fast: Matcher;
  const stock: Matcher = router.matchOperation.bind(router);
  try {
    operations = router.getOperations();
    fast = compileMatcher(router, operations);
    const reason = unsupportedReason(router, stock, fast, operations);
    if (reason) return { adapted: false, reason };
  } catch (err) {
    return { adapted: false, reason: `checking the adapter failed: ${(err as Error).message}` };
  }
  router.getOperations = () => operations;
  router.matchOperation = fast;
  return { adapted: true };
}
