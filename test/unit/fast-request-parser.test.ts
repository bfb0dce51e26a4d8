import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import yaml from 'js-yaml';
import { OpenAPIBackend, type Document } from 'openapi-backend';
import { bath } from 'bath-es5';
import { compilePathParams, compileRequestParser, precompileRequestParsing, sampleParseRequests } from '../../src/http/fast-request-parser.js';
import { hardenRequestSchemas } from '../../src/http/hardening.js';
import { CONTRACT_PATH } from '../../src/paths.js';

const installed = (createRequire(import.meta.url)('openapi-backend/package.json') as { version: string }).version;
const contract = yaml.load(readFileSync(CONTRACT_PATH, 'utf8')) as Document;

async function backendFor(definition: Document) {
  const api = new OpenAPIBackend({ definition: structuredClone(definition), strict: true, quick: true, coerceTypes: true, ajvOpts: { strict: false } });
  api.validateDefinition = () => api.document;
  await api.init();
  return api;
}

const styles: Document = {
  openapi: '3.1.0',
  info: { title: 'parsing', version: '1' },
  paths: {
    '/things/{id}/parts/{part}': {
      get: {
        operationId: 'getPart',
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'part', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'tags', in: 'query', explode: false, schema: { type: 'array', items: { type: 'string' } } },
          { name: 'pipes', in: 'query', explode: false, style: 'pipeDelimited', schema: { type: 'array', items: { type: 'string' } } },
          { name: 'filter', in: 'query', content: { 'application/json': { schema: { type: 'object' } } } },
          { name: 'status', in: 'query', schema: { type: 'array', items: { type: 'string' } } },
        ],
        responses: {},
      },
    },
  },
};

describe('fast-request-parser: parseRequest without the repeated work', () => {
  it(`stands in for the stock parser of the installed openapi-backend ${installed} on the whole contract`, async () => {
    const api = await backendFor(hardenRequestSchemas(structuredClone(contract)));
    const stock = api.router.parseRequest;
    const mode = precompileRequestParsing(api);
    // Failing here means an openapi-backend upgrade changed what src/http/fast-request-parser.ts mirrors (its
    // header comment lists it): the server still parses correctly, with the slower stock parser. Adapt the adapter.
    expect({ version: installed, mode }).toEqual({ version: installed, mode: { adapted: true } });
    expect(api.router.parseRequest).not.toBe(stock);
    expect(sampleParseRequests(api.router.getOperations()).length).toBeGreaterThan(12 * 40);
  });

  it('parses path params, header names, bodies and query styles as the stock parser does', async () => {
    const api = await backendFor(styles);
    const stock = api.router.parseRequest.bind(api.router);
    const fast = compileRequestParser(api.router, stock);
    const operation = api.router.getOperation('getPart');
    const req = {
      method: 'GET',
      path: '/things/a%2Fb/parts/%C3%A9?x=1',
      headers: { 'X-Request-Id': 'r1', authorization: 'Bearer t' },
      query: { tags: 'a,b%2Cc', pipes: 'x|y', filter: '{"q":1}', status: 'open', other: ['1', '2'] },
      body: '{"a":1}',
    };
    const parsed = fast(structuredClone(req), operation);
    expect(parsed).toEqual(stock(structuredClone(req), operation));
    expect(parsed).toMatchObject({
      method: 'get',
      path: '/things/a%2Fb/parts/%C3%A9',
      params: { id: 'a/b', part: 'é' },
      headers: { 'x-request-id': 'r1', authorization: 'Bearer t' },
      query: { tags: ['a', 'b', 'c'], pipes: ['x', 'y'], filter: { q: 1 }, status: 'open', other: ['1', '2'] },
      requestBody: { a: 1 },
    });
    // Each call answers a fresh query: validation turns single values into arrays in its own copy.
    const source = { tags: 'a', status: 'open' };
    const first = fast({ ...req, query: source }, operation);
    (first.query as Record<string, unknown>).status = ['open'];
    expect(source).toEqual({ tags: 'a', status: 'open' });
    expect(fast({ ...req, query: source }, operation).query).toEqual({ tags: ['a'], status: 'open' });
  });

  it('throws where the stock parser throws: a malformed escape in a path parameter', async () => {
    const api = await backendFor(styles);
    const stock = api.router.parseRequest.bind(api.router);
    const fast = compileRequestParser(api.router, stock);
    const operation = api.router.getOperation('getPart');
    const req = { method: 'GET', path: '/things/%ZZ/parts/1', headers: {}, query: {} };
    expect(() => stock(req, operation)).toThrow(URIError);
    expect(() => fast(req, operation)).toThrow(URIError);
  });

  it('hands cookies and non-object queries to the stock parser', async () => {
    const api = await backendFor(styles);
    const calls: unknown[] = [];
    const stock = api.router.parseRequest.bind(api.router);
    const counted = ((req, operation) => {
      calls.push(req);
      return stock(req, operation);
    }) as typeof stock;
    const fast = compileRequestParser(api.router, counted);
    calls.length = 0;
    const withCookie = { method: 'GET', path: '/things/1/parts/2', headers: { cookie: 'a=1; b=2' }, query: {} };
    expect(fast(withCookie).cookies).toEqual({ a: '1', b: '2' });
    expect(fast({ method: 'GET', path: '/things/1/parts/2?tags=a', headers: {} }).query).toEqual({ tags: 'a' });
    expect(fast({ method: 'GET', path: '/things/1/parts/2', headers: {}, query: { n: { deep: 1 } as unknown as string } }).query).toEqual({ n: { deep: 1 } });
    expect(calls).toHaveLength(3);
    expect(fast({ method: 'GET', path: '/things/1/parts/2', headers: {}, query: {} }).cookies).toEqual({});
    expect(calls).toHaveLength(3);
  });

  it('keeps the stock parser, and says why, when the router does not answer like the adapter', async () => {
    const api = await backendFor(styles);
    const stock = api.router.parseRequest.bind(api.router);
    // A stand-in for an upgrade that changes a rule: header names kept as sent.
    const changed = ((req, operation) => ({ ...stock(req, operation), headers: req.headers })) as typeof stock;
    api.router.parseRequest = changed;
    const mode = precompileRequestParsing(api);
    expect(mode).toEqual({ adapted: false, reason: expect.stringContaining('the stock parser answers') });
    expect(api.router.parseRequest).toBe(changed);
  });

  it('is what handleRequest parses with: the handler sees what it sees with the stock parser', async () => {
    const answers = [];
    for (const adapt of [false, true]) {
      const api = await backendFor(styles);
      api.register('getPart', (c) => ({ params: c.request.params, query: c.request.query, valid: c.validation.valid }));
      if (adapt) expect(precompileRequestParsing(api)).toEqual({ adapted: true });
      answers.push(await api.handleRequest({ method: 'GET', path: '/things/7/parts/main', headers: {}, query: { tags: 'a,b', status: 'x' } }));
    }
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[1]).toEqual({ params: { id: '7', part: 'main' }, query: { tags: ['a', 'b'], status: ['x'] }, valid: true });
  });

  // The router extracts path parameters with bath; the adapter compiles the same rules once per template.
  it.each([
    ['/api/tasks/{task_id}', ['/api/tasks/12', '/api/tasks/', '/api/tasks/a%20b', '/api/tasks/%ZZ', '/api/tasks/1/2', '/api/tasks/%2F']],
    ['/things/{id}/parts/{part}', ['/things/1/parts/2', '/things//parts/', '/things/1/parts']],
    ['/a/{x}/b/{x}', ['/a/1/b/1', '/a/1/b/2', '/a/%31/b/1']],
    ['/a/{__proto__}/{constructor}', ['/a/1/2']],
    ['/files/{name}.json', ['/files/a.json', '/files/ajson', '/files/a-json']],
    ['/no-params', ['/no-params', '/other']],
  ])('extracts the path parameters of %s as bath does', (template, paths) => {
    const ours = compilePathParams(template);
    const theirs = bath(template).params;
    const outcome = (f: (p: string) => unknown, p: string) => {
      try {
        return { value: f(p) };
      } catch (err) {
        return { threw: String(err) };
      }
    };
    for (const path of paths) expect([path, outcome(ours, path)]).toEqual([path, outcome(theirs, path)]);
  });
});
