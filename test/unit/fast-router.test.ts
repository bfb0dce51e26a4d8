import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import yaml from 'js-yaml';
import { OpenAPIBackend, type Document } from 'openapi-backend';
import { compileMatcher, precompileRouting, routeOutcome, sampleRequests } from '../../src/http/fast-router.js';
import { CONTRACT_PATH } from '../../src/paths.js';

const installed = (createRequire(import.meta.url)('openapi-backend/package.json') as { version: string }).version;
const contract = yaml.load(readFileSync(CONTRACT_PATH, 'utf8')) as Document;

/** An openapi-backend set up like app.ts's (the 3.1 contract is not checked against its 3.0 meta-schema). */
async function backendFor(definition: Document, options: { apiRoot?: string } = {}) {
  const api = new OpenAPIBackend({ definition: structuredClone(definition), strict: true, quick: true, validate: false, ...options });
  api.validateDefinition = () => api.document;
  await api.init();
  return api;
}

const tiny: Document = {
  openapi: '3.1.0',
  info: { title: 'routing', version: '1' },
  paths: {
    '/things/{id}': { get: { operationId: 'getThing', responses: {} }, delete: { operationId: 'deleteThing', responses: {} } },
    '/things/search': { get: { operationId: 'searchThings', responses: {} } },
    '/things/{id}/parts/{part}': { get: { operationId: 'getPart', responses: {} } },
    '/things/{id}/parts/main': { put: { operationId: 'putMainPart', responses: {} } },
  },
};

describe('fast-router: the precompiled matcher over openapi-backend', () => {
  it(`stands in for the stock matcher of the installed openapi-backend ${installed} on the whole contract`, async () => {
    const api = await backendFor(contract);
    const stock = api.router.matchOperation.bind(api.router);
    const operations = api.router.getOperations();
    const mode = precompileRouting(api);
    // Failing here means an openapi-backend upgrade changed what src/http/fast-router.ts relies on (its header
    // comment lists it): the server still routes correctly, with the slower stock matcher. Adapt the adapter.
    expect({ version: installed, mode }).toEqual({ version: installed, mode: { adapted: true } });
    expect(api.router.matchOperation).not.toBe(stock);
    const requests = sampleRequests(operations);
    expect(requests.length).toBeGreaterThan(5 * 30);
    for (const req of requests) expect({ req, outcome: routeOutcome(api.router.matchOperation, req) }).toEqual({ req, outcome: routeOutcome(stock, req) });
  });

  it('is what handleRequest routes with: operations, 404 and 405 reach their handlers', async () => {
    const api = await backendFor(tiny);
    const reached: string[] = [];
    for (const id of ['getThing', 'deleteThing', 'searchThings', 'getPart', 'putMainPart']) api.register(id, () => id);
    api.register('notFound', () => '404');
    api.register('methodNotAllowed', () => '405');
    expect(precompileRouting(api)).toEqual({ adapted: true });
    const adapted = api.router.matchOperation;
    api.router.matchOperation = ((req, strict) => {
      reached.push(`${req.method} ${req.path}`);
      return adapted(req, strict);
    }) as typeof adapted;

    const answer = (method: string, path: string) => api.handleRequest({ method, path, headers: {} }) as Promise<string>;
    expect(await answer('GET', '/things/search')).toBe('searchThings'); // exact path before the template
    expect(await answer('GET', '/things/7')).toBe('getThing');
    expect(await answer('DELETE', '/things/7/')).toBe('deleteThing'); // trailing slash ignored
    expect(await answer('GET', '/things/7/parts/main')).toBe('getPart'); // exact path, other method: the template
    expect(await answer('PUT', '/things/7/parts/main')).toBe('putMainPart');
    expect(await answer('POST', '/things/7')).toBe('405');
    expect(await answer('GET', '/nothing/here')).toBe('404');
    expect(reached).toHaveLength(7);
  });

  it('keeps the stock matcher, and says why, when the router does not answer like the adapter', async () => {
    const api = await backendFor(tiny);
    // A stand-in for an upgrade that changes the rules: templates win over exact paths.
    const stock = api.router.matchOperation.bind(api.router);
    const getThing = api.router.getOperation('getThing');
    const changed = ((req, strict) =>
      api.router.normalizeRequest(req).path === '/things/search' ? getThing : stock(req, strict)) as typeof stock;
    api.router.matchOperation = changed;
    const mode = precompileRouting(api);
    expect(mode).toEqual({ adapted: false, reason: expect.stringContaining('/things/search') });
    expect(api.router.matchOperation).toBe(changed);

    const rooted = await backendFor(tiny, { apiRoot: '/v1' });
    expect(precompileRouting(rooted)).toEqual({ adapted: false, reason: 'apiRoot is /v1, not /' });

    const broken = await backendFor(tiny);
    (broken.router as unknown as { normalizePath?: unknown }).normalizePath = undefined;
    expect(precompileRouting(broken)).toEqual({ adapted: false, reason: expect.stringContaining('normalizePath') });
  });

  it('leaves routing failures in the shape handleRequest reads (404/405 message prefixes)', async () => {
    const api = await backendFor(tiny);
    const fast = compileMatcher(api.router, api.router.getOperations());
    expect(() => fast({ method: 'PATCH', path: '/things/1', headers: {} }, true)).toThrow(/^405-methodNotAllowed/);
    expect(() => fast({ method: 'GET', path: '/elsewhere', headers: {} }, true)).toThrow(/^404-notFound/);
    expect(fast({ method: 'GET', path: '/elsewhere', headers: {} }, false)).toBeUndefined();
  });
});
