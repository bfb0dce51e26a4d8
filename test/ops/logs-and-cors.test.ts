import { startTestApp, type TestApp } from '../helpers/app.js';

describe('request logs', () => {
  const lines: Record<string, unknown>[] = [];
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ logDestination: { write: (line) => void lines.push(JSON.parse(line)) } });
  });
  afterAll(() => t?.close());

  it('writes one JSON line per request with request id, operationId, status, duration and user id, and no token', async () => {
    const alice = await t.user('log-alice');
    const res = await alice.request('GET', '/api/me', { headers: { 'x-request-id': 'trace-me-42' } });
    expect(res.status).toBe(200);
    const line = lines.find((l) => (l.req as { id?: string } | undefined)?.id === 'trace-me-42');
    expect(line).toMatchObject({
      level: 30,
      operationId: 'getMe',
      userId: 'log-alice',
      res: { statusCode: 200 },
      responseTime: expect.any(Number),
      req: { method: 'GET', url: '/api/me' },
    });
    expect(lines.filter((l) => (l.req as { id?: string } | undefined)?.id === 'trace-me-42')).toHaveLength(1);
    expect(JSON.stringify(lines)).not.toContain(alice.token);
  });

  it('logs failed authentication without the offending token', async () => {
    const forged = (await t.sso.mint({ sub: 'x' })).slice(0, -4) + 'AAAA';
    await t.request('GET', '/api/me', { headers: { authorization: `Bearer ${forged}`, 'x-request-id': 'forged-1' } });
    const line = lines.find((l) => (l.req as { id?: string } | undefined)?.id === 'forged-1');
    expect(line).toMatchObject({ res: { statusCode: 401 }, operationId: 'getMe' });
    expect(JSON.stringify(lines)).not.toContain(forged);
  });
});

describe('CORS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CORS_ORIGINS: 'https://app.taskflow.test, https://admin.taskflow.test' } });
  });
  afterAll(() => t?.close());

  const preflight = (origin: string) =>
    fetch(`${t.url}/api/projects`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });

  it('allows listed origins, with credentials and the headers a client needs to read', async () => {
    const res = await preflight('https://app.taskflow.test');
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.taskflow.test');
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    const alice = await t.user('cors-alice');
    const get = await fetch(`${t.url}/api/me`, { headers: { origin: 'https://admin.taskflow.test', authorization: `Bearer ${alice.token}` } });
    expect(get.headers.get('access-control-allow-origin')).toBe('https://admin.taskflow.test');
    expect(get.headers.get('access-control-expose-headers')).toContain('ETag');
  });

  it('gives other origins no CORS grant at all', async () => {
    const res = await preflight('https://evil.example');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });
});
