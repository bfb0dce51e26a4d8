import { isDeepStrictEqual } from 'node:util';
import type { OpenAPIBackend, Operation, ParsedRequest, Request as OBRequest } from 'openapi-backend';

/**
 * A cheaper `parseRequest` for openapi-backend: an adapter over its router, as fast-router.ts is for matching.
 *
 * Why: `handleRequest` parses every request four times (before routing, after it, in `validateRequest`,
 * and once more with the coerced values), and each parse lower-cases the headers through lodash, serialises the query object into a
 * query string it then does not use, deep-clones the query with lodash, and compiles the operation's path
 * template into fresh RegExps (bath). Measured at about 5 % of the main thread on getTask. This adapter keeps the
 * four calls and their results, and drops the repeated work: path templates are compiled once per operation,
 * headers are copied by a loop, the query is copied by hand, the result is built in one object literal, and path
 * parameters are matched by a matcher compiled here per template to bath's own regular expression and rules
 * (bath, which the router uses, builds an array of objects and merges one-property objects on every call): the
 * four parses of a createTask request take 3–5 µs, against 9–10 µs with bath and 65–80 µs for the stock parser.
 *
 * What it mirrors (openapi-backend 5.21.2, `OpenAPIRouter.parseRequest`), step by step:
 * - a body that is not an object is parsed as JSON when it is JSON, and kept as it is otherwise;
 * - header names are lower-cased;
 * - cookies: a request with a Cookie header goes to the stock parser (the API takes no cookie); without one the
 *   result is the stock parser's empty cookie object, copied;
 * - a query object is copied (primitive values, and arrays of them: what a request carries, and what validation
 *   coerced it to when `handleRequest` parses the coerced request a fourth time); a query with objects, a query
 *   that is a string, or none, goes to the stock parser;
 * - the request is normalised as the router's `normalizeRequest` does it (trimmed path with a leading slash and
 *   without its query string, trimmed lower-case method), the path for matching by the router's `normalizePath`;
 * - with an operation: path params as bath (the library the router matches with) extracts them — its regular
 *   expression for the template, every value URI-decoded (a malformed escape throws, as there), a name given
 *   twice with two values is no match — and the query parameters' styles (JSON content, non-exploded arrays)
 *   decoded as the stock loop does.
 *
 * Guard: `precompileRequestParsing` compares the adapter with the stock parser for sample requests of every
 * operation (with and without the operation, odd header cases, bodies, array and JSON query values) and keeps
 * the stock parser, saying why, when anything differs. test/unit/fast-request-parser.test.ts fails when that
 * happens with the installed version.
 */

type Router = OpenAPIBackend['router'];
type Parser = Router['parseRequest'];
export type ParsingMode = { adapted: true } | { adapted: false; reason: string };

type QueryParameter = { name: string; in: string; explode?: boolean; style?: string; content?: Record<string, unknown> };
type Query = Record<string, string | string[] | unknown>;

const isPrimitive = (v: unknown): boolean => v === null || (typeof v !== 'object' && typeof v !== 'function');
/** A query this adapter copies itself: values that are primitives (coerced ones too), or arrays of them. */
const isSimpleQuery = (query: unknown): query is Record<string, unknown> =>
  typeof query === 'object' && query !== null && !Array.isArray(query) &&
  Object.values(query).every((v) => isPrimitive(v) || (Array.isArray(v) && v.every(isPrimitive)));

/** The stock loop over query parameters with a style (openapi-backend's router.js, after path params). */
function decodeStyledQuery(query: Query, parameters: readonly QueryParameter[]): void {
  for (const queryParam in query) {
    if (!query[queryParam]) continue;
    const parameter = parameters.find((p) => !('$ref' in p) && p?.in === 'query' && p?.name === queryParam);
    if (!parameter) continue;
    if (parameter.content && parameter.content['application/json']) {
      const rawValue = query[queryParam];
      if (typeof rawValue === 'string') {
        try {
          query[queryParam] = JSON.parse(rawValue);
        } catch {
          // left as it is: validation reports malformed JSON
        }
      }
    } else if (parameter.explode === false) {
      const rawValue = query[queryParam];
      if (Array.isArray(rawValue) && rawValue.length > 1) continue;
      const value = Array.isArray(rawValue) ? rawValue[0] : rawValue;
      if (typeof value !== 'string') continue;
      let decoded = value.replace(/%2C/g, ',');
      if (parameter.style === 'spaceDelimited') decoded = decoded.replace(/ /g, ',').replace(/%20/g, ',');
      if (parameter.style === 'pipeDelimited') decoded = decoded.replace(/\|/g, ',').replace(/%7C/g, ',');
      query[queryParam] = decoded.split(',');
    }
  }
}

/** bath's `params(template)` without user patterns (what the router calls), compiled once per template. */
export function compilePathParams(template: string): (pathname: string) => Record<string, string> | null {
  const pattern = new RegExp(`^${template.replace(/\{[A-Za-z0-9_-]+\}/g, '([^\\/]*)')}$`);
  const names = (template.match(/\{[A-Za-z0-9_-]+\}/g) ?? []).map((x) => x.slice(1, -1));
  return (pathname) => {
    const m = pattern.exec(pathname);
    if (m === null) return null;
    const values = names.map((_, i) => decodeURIComponent(m[i + 1]!));
    for (let i = 0; i < names.length; i++) {
      for (let j = 0; j < i; j++) if (names[j] === names[i] && values[j] !== values[i]) return null;
    }
    const params: Record<string, string> = {};
    for (let i = 0; i < names.length; i++) params[names[i]!] = values[i]!;
    return params;
  };
}

/** Builds the adapter over the router's stock parser (kept for the cases it does not take). */
export function compileRequestParser(router: Router, stock: Parser): Parser {
  const emptyCookies = stock({ method: 'get', path: '/', headers: {} }).cookies;
  const cookiesProto = Object.getPrototypeOf(emptyCookies) as object | null;
  const pathParams = new Map<string, (path: string) => Record<string, string> | null>();
  const paramsFor = (template: string) => {
    let match = pathParams.get(template);
    if (!match) pathParams.set(template, (match = compilePathParams(template)));
    return match;
  };

  return ((req: OBRequest, operation?: Operation) => {
    const sourceHeaders = req.headers ?? {};
    if (sourceHeaders.cookie !== undefined || sourceHeaders.Cookie !== undefined || !isSimpleQuery(req.query)) {
      return stock(req, operation);
    }
    let requestBody = req.body;
    if (req.body && typeof req.body !== 'object') {
      try {
        requestBody = JSON.parse(String(req.body));
      } catch {
        // kept as it is: validation reports it
      }
    }
    const headers: Record<string, string | string[]> = {};
    for (const name of Object.keys(sourceHeaders)) headers[name.toLowerCase()] = sourceHeaders[name] as string | string[];
    const sourceQuery = req.query as Record<string, unknown>;
    const query: Query = {};
    for (const name of Object.keys(sourceQuery)) {
      const value = sourceQuery[name];
      query[name] = Array.isArray(value) ? [...value] : value;
    }
    let path = req.path?.trim() || '';
    if (!path.startsWith('/')) path = `/${path}`;
    path = path.split('?')[0]!;
    const method = req.method.trim().toLowerCase();
    let params: Record<string, string> = {};
    if (operation) {
      params = paramsFor(operation.path)(router.normalizePath(path)) ?? {};
      decodeStyledQuery(query, (operation.parameters ?? []) as QueryParameter[]);
    }
    const cookies = Object.assign(Object.create(cookiesProto) as object, emptyCookies);
    return { ...req, path, method, params, headers, query, cookies, requestBody } as ParsedRequest;
  }) as Parser;
}

/** Requests that exercise every step of the parser for these operations: the equivalence check's sample. */
export function sampleParseRequests(operations: readonly Operation[]): { req: OBRequest; operation?: Operation }[] {
  const headers = { Authorization: 'Bearer x', 'content-type': 'application/json', 'X-Multi': ['a', 'b'] as unknown as string };
  const samples: { req: OBRequest; operation?: Operation }[] = [];
  for (const operation of operations) {
    const path = operation.path.replace(/\{[^}]+\}/g, 'a%20b');
    const query: Record<string, string | string[]> = {};
    for (const p of (operation.parameters ?? []) as QueryParameter[]) {
      if (p.in !== 'query') continue;
      query[p.name] = p.content ? '{"a":1}' : p.explode === false ? 'a,b%2Cc' : 'x';
    }
    const requests: OBRequest[] = [
      { method: operation.method.toUpperCase(), path, headers, query },
      { method: operation.method, path: `${path}/`, headers: {}, query: { other: ['1', '2'], empty: '' } },
      { method: operation.method, path: `${path}?ignored=1`, headers, query: {}, body: { a: [1] } },
      { method: ` ${operation.method} `, path: path.slice(1), headers, query, body: '{"json":true}' },
      { method: operation.method, path, headers, query: {}, body: 'not json' },
      { method: operation.method, path: operation.path.replace(/\{[^}]+\}/g, '%ZZ'), headers, query: {} },
      // the coerced request handleRequest parses last: numbers, booleans, arrays of them, and params already set
      { method: operation.method, path, headers, query: { limit: 20, done: false, ids: [1, 2], none: null }, params: { id: 7 } } as unknown as OBRequest,
    ];
    for (const req of requests) samples.push({ req }, { req, operation });
  }
  return samples;
}

/**
 * What a parser answers (or the error it throws), comparable with isDeepStrictEqual. Each parser gets its own
 * copy of the request (JSON, not structuredClone: the copy's objects must come from this realm, as a request's do).
 */
const outcomeOf = (parse: Parser, req: OBRequest, operation?: Operation): unknown => {
  try {
    return { parsed: parse(JSON.parse(JSON.stringify(req)) as OBRequest, operation) };
  } catch (err) {
    return { threw: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
};

/** Why the adapter cannot stand in for the stock parser, or null when it can. */
export function unsupportedParsing(router: Router, stock: Parser, fast: Parser, operations: readonly Operation[]): string | null {
  for (const method of ['parseRequest', 'normalizePath'] as const) {
    if (typeof (router as unknown as Record<string, unknown>)[method] !== 'function') return `router.${method} is not a function`;
  }
  for (const { req, operation } of sampleParseRequests(operations)) {
    const expected = outcomeOf(stock, req, operation);
    const actual = outcomeOf(fast, req, operation);
    if (!isDeepStrictEqual(expected, actual)) {
      return `${req.method} ${req.path}${operation ? ` as ${operation.operationId}` : ''}: the stock parser answers ${JSON.stringify(expected)}, the adapter ${JSON.stringify(actual)}`;
    }
  }
  return null;
}

/** Replaces the router's parseRequest with the adapter (after `api.init()`) if it answers exactly as the stock one. */
export function precompileRequestParsing(api: OpenAPIBackend): ParsingMode {
  const router = api.router;
  try {
    const stock: Parser = router.parseRequest.bind(router);
    const operations = router.getOperations();
    const fast = compileRequestParser(router, stock);
    const reason = unsupportedParsing(router, stock, fast, operations);
    if (reason) return { adapted: false, reason };
    router.parseRequest = fast;
    return { adapted: true };
  } catch (err) {
    return { adapted: false, reason: `checking the adapter failed: ${(err as Error).message}` };
  }
}
