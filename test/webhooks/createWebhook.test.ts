/**
 * createWebhook: a webhook with its secret shown once, for owners only; URLs that could reach the server's own
 * network refused (this server runs with WEBHOOK_ALLOW_PRIVATE off, as in production); 422, 403, 404, 401.
 */
import type { TestApp } from '../helpers/app.js';
import { expectBodyRefusals, expectProblem, rowCounts, setupTestApp, type SignedIn } from '../helpers/factories.js';
import { type Webhook } from './support.js';

// A public address literal: accepted without a DNS lookup. No task event happens in this file, so nothing is sent to it.
const PUBLIC_URL = 'https://93.184.215.14/taskflow';

let t: TestApp;
let alice: SignedIn; // owner
let bob: SignedIn; // member
let carol: SignedIn; // outsider
let project: number;

beforeAll(async () => ({ t, alice, bob, carol, project } = await setupTestApp({ env: { WEBHOOK_ALLOW_PRIVATE: 'false' } })));
afterAll(() => t.close());

describe('createWebhook', () => {
  it('creates a webhook with a secret shown once, a Location and version 1', async () => {
    const res = await alice.request<Webhook>('POST', `/api/projects/${project}/webhooks`, {
      body: { url: PUBLIC_URL, event_types: ['task.created'] },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/api/projects/${project}/webhooks/${res.body.id}`);
    expect(res.body).toMatchObject({ project_id: project, url: PUBLIC_URL, event_types: ['task.created'], active: true, version: 1 });
    expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const got = await alice.request<Webhook>('GET', `/api/projects/${project}/webhooks/${res.body.id}`);
    expect(got.body).not.toHaveProperty('secret');
  });

  it('refuses loopback, private, link-local and metadata URLs unless WEBHOOK_ALLOW_PRIVATE', async () => {
    for (const url of ['http://127.0.0.1:9/x', 'http://localhost/x', 'http://10.1.2.3/x', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/x', 'http://[fd00:ec2::254]/x']) {
      const res = await alice.request('POST', `/api/projects/${project}/webhooks`, { body: { url } });
      expectProblem(res, 422, 'validation-failed');
      expect(res.body.errors[0].pointer).toBe('/body/url');
    }
  });

  it('refuses unknown event types and URLs that are not http(s), naming the field; nothing written', async () => {
    const before = await rowCounts(t.pool);
    const bad = await alice.request('POST', `/api/projects/${project}/webhooks`, { body: { url: PUBLIC_URL, event_types: ['task.exploded'] } });
    expect(expectProblem(bad, 422, 'validation-failed').errors?.[0]?.pointer).toMatch(/^\/body\/event_types/);
    const ftp = await alice.request('POST', `/api/projects/${project}/webhooks`, { body: { url: 'ftp://files.example.com/' } });
    expect(expectProblem(ftp, 422, 'validation-failed').errors?.[0]?.pointer).toBe('/body/url');
    expect(await rowCounts(t.pool)).toEqual(before);
  });

  it('403 forbidden for a member, 404 project-not-found for an outsider, 401 without a token; 400, 415, 413', async () => {
    const body = { url: PUBLIC_URL };
    expectProblem(await bob.request('POST', `/api/projects/${project}/webhooks`, { body }), 403, 'forbidden');
    expectProblem(await carol.request('POST', `/api/projects/${project}/webhooks`, { body }), 404, 'project-not-found');
    expectProblem(await t.request('POST', `/api/projects/${project}/webhooks`, { body }), 401, 'unauthorized');
    expect((await alice.request<{ items: Webhook[] }>('GET', `/api/projects/${project}/webhooks`)).body.items.map((w) => w.url)).toEqual([PUBLIC_URL]);
    await expectBodyRefusals(t, alice, 'POST', `/api/projects/${project}/webhooks`);
  });

  it('an Idempotency-Key retry answers the same webhook, secret included, without creating another', async () => {
    const headers = { 'idempotency-key': `create-hook-${project}` };
    const first = await alice.request<Webhook>('POST', `/api/projects/${project}/webhooks`, { body: { url: `${PUBLIC_URL}/once` }, headers });
    expect(first.status).toBe(201);
    const retry = await alice.request<Webhook>('POST', `/api/projects/${project}/webhooks`, { body: { url: `${PUBLIC_URL}/once` }, headers });
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
  });
});
