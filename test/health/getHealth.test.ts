/** getHealth: the liveness probe, without auth, with the request id every response carries; and the routes outside the contract. */
import { startTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.close());

describe('getHealth', () => {
  it('answers 200 without auth', async () => {
    const res = await t.request('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', version: expect.any(String) });
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('echoes a sane X-Request-Id and replaces an insane one', async () => {
    const ok = await t.request('GET', '/health', { headers: { 'x-request-id': 'abc-123' } });
    expect(ok.headers.get('x-request-id')).toBe('abc-123');
    const bad = await t.request('GET', '/health', { headers: { 'x-request-id': 'x'.repeat(500) } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('outside the operations', () => {
  it('serves the contract and the reference page', async () => {
    const json = await fetch(`${t.url}/openapi.json`);
    expect(((await json.json()) as { openapi: string }).openapi).toMatch(/^3\.1/);
    const yaml = await fetch(`${t.url}/openapi.yaml`);
    expect(await yaml.text()).toContain('operationId: getTask');
    const docs = await fetch(`${t.url}/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger-ui-bundle.js');
    expect((await fetch(`${t.url}/docs/assets/swagger-ui-bundle.js`)).status).toBe(200);
  });

  it('unknown routes are 404 and wrong methods 405, as problems', async () => {
    const missing = await t.request('GET', '/api/nope');
    expect(missing).toMatchObject({ status: 404, body: { type: 'https://taskflow.dev/problems/not-found' } });
    const wrong = await t.request('DELETE', '/health');
    expect(wrong).toMatchObject({ status: 405, body: { type: 'https://taskflow.dev/problems/method-not-allowed' } });
  });
});
