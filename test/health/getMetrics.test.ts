/**
 * getMetrics: Prometheus text with request and pool metrics; with METRICS_TOKEN set, only for the scraper that
 * sends it (401 with a Bearer challenge otherwise). Open without a token: the suites that read /metrics
 * (reliability/overload, reliability/support) run that way.
 */
import { startTestApp, type TestApp } from '../helpers/app.js';
import { expectProblem } from '../helpers/factories.js';

const METRICS_TOKEN = 'metrics-token-for-the-scraper';
const scraper = { headers: { authorization: `Bearer ${METRICS_TOKEN}` } };

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { METRICS_TOKEN } });
});
afterAll(() => t?.close());

describe('getMetrics', () => {
  it('exposes Prometheus metrics to the scraper with the token', async () => {
    await t.request('GET', '/health');
    const res = await t.request<string>('GET', '/metrics', scraper);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.body).toContain('taskflow_http_requests_total');
    expect(res.body).toContain('taskflow_db_pool_connections');
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
