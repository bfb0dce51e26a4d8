/** getWebhook: one webhook without its secret, its version as ETag (304 with If-None-Match); 404, 403, 422, 401. */
import type { TestApp } from '../helpers/app.js';
import { expectProblem, setupTestApp, type SignedIn } from '../helpers/factories.js';
import { FAST, newWebhook, type Webhook, type WebhookList } from './support.js';

let t: TestApp;
let alice: SignedIn; // owner
let bob: SignedIn; // member
let carol: SignedIn; // outsider
let project: number;

beforeAll(async () => ({ t, alice, bob, carol, project } = await setupTestApp({ env: FAST })));
afterAll(() => t.close());

describe('getWebhook', () => {
  it('answers the webhook without its secret', async () => {
    const hook = await newWebhook(alice, project, 'https://hooks.example.com/taskflow', { event_types: ['task.created'] });
    const got = await alice.request<Webhook>('GET', `/api/projects/${project}/webhooks/${hook.id}`);
    expect(got.status).toBe(200);
    const { secret, ...rest } = hook;
    expect(secret).toEqual(expect.any(String));
    expect(got.body).toEqual(rest);
    expect(got.body).not.toHaveProperty('secret');
  });

  it('carries version (also in the list) as its ETag; If-None-Match with it is a 304 until the webhook changes', async () => {
    const hook = await newWebhook(alice, project, 'https://hooks.example.com/versioned');
    expect(hook.version).toBe(1);
    const list = await alice.request<WebhookList>('GET', `/api/projects/${project}/webhooks`);
    expect(list.body.items.find((w) => w.id === hook.id)).toMatchObject({ version: 1 });
    const path = `/api/projects/${project}/webhooks/${hook.id}`;
    const got = await alice.request<Webhook>('GET', path);
    expect(got.headers.get('etag')).toBe('"1"');
    const unchanged = await alice.request('GET', path, { headers: { 'if-none-match': '"1"' } });
    expect(unchanged.status).toBe(304);
    expect(unchanged.headers.get('etag')).toBe('"1"');
    const patched = await alice.request<Webhook>('PATCH', path, { body: { active: false }, headers: { 'if-match': '"1"' } });
    expect(patched.body.version).toBe(2);
    const changed = await alice.request<Webhook>('GET', path, { headers: { 'if-none-match': '"1"' } });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ active: false, version: 2 });
  });

  it('404 webhook-not-found for a missing one or one of another project, project-not-found for an outsider; 403, 422, 401', async () => {
    const hook = await newWebhook(alice, project, 'https://hooks.example.com/hidden');
    expectProblem(await alice.request('GET', `/api/projects/${project}/webhooks/999999`), 404, 'webhook-not-found');
    expectProblem(await alice.request('GET', `/api/projects/${alice.projectId}/webhooks/${hook.id}`), 404, 'webhook-not-found');
    expectProblem(await carol.request('GET', `/api/projects/${project}/webhooks/${hook.id}`), 404, 'project-not-found');
    expectProblem(await bob.request('GET', `/api/projects/${project}/webhooks/${hook.id}`), 403, 'forbidden');
    expect(expectProblem(await alice.request('GET', `/api/projects/${project}/webhooks/abc`), 422, 'validation-failed').errors?.[0]?.pointer).toBe('/path/webhook_id');
    expectProblem(await t.request('GET', `/api/projects/${project}/webhooks/${hook.id}`), 401, 'unauthorized');
  });
});
