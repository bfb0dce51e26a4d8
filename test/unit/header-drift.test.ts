/**
 * The header-drift check of the contract-checking client (test/contract/header-drift.cjs, used by
 * test/helpers/contract.ts and the Dredd hooks), and its allow-list of known gaps.
 */
import { assertMatchesContract, contractDocument, headerDrift } from '../helpers/contract.js';

const health = { method: 'GET', path: '/health', status: 200, contentType: 'application/json', body: { status: 'ok', version: '1.0.0' } };

describe('undeclared response headers', () => {
  it.each(headerDrift.DRIFT_HEADERS)('fail the check when %s is sent without being declared', async (name) => {
    await expect(assertMatchesContract({ ...health, headers: new Headers({ [name]: '1', 'X-Request-Id': 'r' }) })).rejects.toThrow(
      `GET /health → 200: ${name} sent but not declared by the contract for getHealth 200`,
    );
  });

  it('pass when the contract declares them (Location and ETag on createProject 201)', async () => {
    const body = { id: 7, slug: 'website', name: 'Website', description: null, created_at: '2026-02-02T16:05:00Z', updated_at: '2026-02-02T16:05:00Z' };
    await expect(
      assertMatchesContract({
        method: 'POST', path: '/api/projects', status: 201, contentType: 'application/json', body,
        headers: new Headers({ Location: '/api/projects/7', ETag: '"1"', 'X-Request-Id': 'r' }),
      }),
    ).rejects.not.toThrow(/not declared/);
  });

  it('ignore headers outside the list (X-Powered-By is not a promise to clients)', async () => {
    await expect(assertMatchesContract({ ...health, headers: new Headers({ 'X-Powered-By': 'x', 'X-Request-Id': 'r' }) })).resolves.toBeUndefined();
  });

  it('report a known gap instead of failing it, and only that exact operation, status and header', () => {
    const known = new Set(['getTask 503 retry-after']);
    const check = (operationId: string, status: number, received: string[]) =>
      headerDrift.undeclaredHeaders({ operationId, status, declared: ['X-Request-Id'], received }, known);
    expect(check('getTask', 503, ['Retry-After', 'x-request-id'])).toEqual({ failures: [], known: ['Retry-After'] });
    expect(check('getTask', 500, ['Retry-After'])).toEqual({ failures: ['Retry-After'], known: [] });
    expect(check('getProject', 503, ['retry-after'])).toEqual({ failures: ['Retry-After'], known: [] });
    expect(check('getTask', 503, ['Retry-After', 'RateLimit'])).toEqual({ failures: ['RateLimit'], known: ['Retry-After'] });
  });
});

describe('known-undeclared-headers.yaml', () => {
  type Response = { headers?: Record<string, unknown>; $ref?: string };
  const doc = contractDocument as unknown as { paths: Record<string, Record<string, { operationId?: string; responses?: Record<string, Response> }>>; components: { responses: Record<string, Response> } };
  const responsesOf = new Map<string, Record<string, Response>>();
  for (const item of Object.values(doc.paths)) for (const op of Object.values(item)) if (op?.operationId) responsesOf.set(op.operationId, op.responses ?? {});
  const deref = (r: Response): Response => (r.$ref ? deref(doc.components.responses[r.$ref.split('/').pop()!]!) : r);

  const entries = [...headerDrift.loadKnownUndeclaredHeaders()].map((key) => key.split(' ') as [string, string, string]);

  it('lists only gaps that exist: a real operation and status whose response does not declare the header', () => {
    const stale = entries.filter(([operationId, status, header]) => {
      const response = responsesOf.get(operationId)?.[status];
      if (!response) return true;
      return Object.keys(deref(response).headers ?? {}).some((name) => name.toLowerCase() === header);
    });
    expect(stale.map((e) => e.join(' '))).toEqual([]);
  });

  it('lists only headers the check looks at', () => {
    const names = new Set(headerDrift.DRIFT_HEADERS.map((h) => h.toLowerCase()));
    expect(entries.filter(([, , header]) => !names.has(header))).toEqual([]);
  });
});
