/**
 * getMetrics: Prometheus text with request and pool metrics, open when METRICS_TOKEN is not set; with it set,
 * only for the scraper that sends it (401 with a Bearer challenge otherwise).
 */
import { startTestApp, type TestApp } from '../helpers/app.js';
import { expectProblem } from '../helpers/factories.js';

const METRICS_TOKEN = 'metrics-token-for-the-scraper';

describe('getMetrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('exposes Prometheus metrics', async () => {
    await t.request('GET', '/health');
    const res = await t.request('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.body).toContain('taskflow_http_requests_total');
    expect(res.body).toContain('taskflow_db_pool_connections');
  });
});

describe('getMetrics with METRICS_TOKEN', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { METRICS_TOKEN } });
  });
  afterAll(() => t?.close());

  it('answers the scraper that sends the token', async () => {
    const res = await t.request<string>('GET', '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.body).toContain('taskflow_http_requests_total');
  });

  it.each([
    ['no token', {}],
    ['another token', { headers: { authorization: 'Bearer not-the-metrics-token' } }],
    ['a user token', undefined],
  ])('401 with %s, and a Bearer challenge', async (_name, options) => {
    const opts = options ?? { headers: { authorization: `Bearer ${await t.sso.mint({ sub: 'alice' })}` } };
    const res = await t.request('GET', '/metrics', opts);
    expectProblem(res, 401, 'unauthorized');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });
});
