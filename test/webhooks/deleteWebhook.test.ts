/** deleteWebhook: 204, then 404; If-Match (412); owners only (403), 404 for outsiders, 422, 401. */
import type { TestApp } from '../helpers/app.js';
import { expectProblem, setupTestApp, type SignedIn } from '../helpers/factories.js';
import { FAST, newWebhook, type WebhookList } from './support.js';

let t: TestApp;
let alice: SignedIn; // owner
let bob: SignedIn; // member
let carol: SignedIn; // outsider
let project: number;

beforeAll(async () => ({ t, alice, bob, carol, project } = await setupTestApp({ env: FAST })));
afterAll(() => t.close());

describe('deleteWebhook', () => {
  it('204 without a body; the webhook is gone from reads and the list', async () => {
    const hook = await newWebhook(alice, project, 'https://hooks.example.com/taskflow');
    const res = await alice.request('DELETE', `/api/projects/${project}/webhooks/${hook.id}`);
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    expectProblem(await alice.request('GET', `/api/projects/${project}/webhooks/${hook.id}`), 404, 'webhook-not-found');
    expect((await alice.request<WebhookList>('GET', `/api/projects/${project}/webhooks`)).body.items.map((w) => w.id)).not.toContain(hook.id);
    expectProblem(await alice.request('DELETE', `/api/projects/${project}/webhooks/${hook.id}`), 404, 'webhook-not-found');
  });

  it('412 with a stale If-Match; the current ETag deletes', async () => {
    const hook = await newWebhook(alice, project, 'https://hooks.example.com/conditional');
    await alice.request('PATCH', `/api/projects/${project}/webhooks/${hook.id}`, { body: { active: false } }); // version 2
    expectProblem(await alice.request('DELETE', `/api/projects/${project}/webhooks/${hook.id}`, { headers: { 'if-match': '"1"' } }), 412, 'precondition-failed');
    expect((await alice.request('GET', `/api/projects/${project}/webhooks/${hook.id}`)).status).toBe(200);
    expect((await alice.request('DELETE', `/api/projects/${project}/webhooks/${hook.id}`, { headers: { 'if-match': '"2"' } })).status).toBe(204);
  });

  it('403 forbidden for a member, 404 for an outsider or a missing webhook, 422 for a bad id, 401 without a token; nothing deleted', async () => {
    const hook = await newWebhook(alice, project, 'https://hooks.example.com/guarded');
    const path = `/api/projects/${project}/webhooks/${hook.id}`;
    expectProblem(await bob.request('DELETE', path), 403, 'forbidden');
    expectProblem(await carol.request('DELETE', path), 404, 'project-not-found');
    expectProblem(await alice.request('DELETE', `/api/projects/${project}/webhooks/999999`), 404, 'webhook-not-found');
    expect(expectProblem(await alice.request('DELETE', `/api/projects/${project}/webhooks/abc`), 422, 'validation-failed').errors?.[0]?.pointer).toBe('/path/webhook_id');
    expectProblem(await t.request('DELETE', path), 401, 'unauthorized');
    expect((await alice.request('GET', path)).status).toBe(200);
  });
});
