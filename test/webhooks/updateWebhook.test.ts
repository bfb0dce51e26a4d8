/** updateWebhook: changes fields, bumps the version, rotates the secret; If-Match (412); 422 for an empty patch; 403, 404, 401. */
import type { TestApp } from '../helpers/app.js';
import { expectBodyRefusals, expectProblem, setupTestApp, type SignedIn } from '../helpers/factories.js';
import { FAST, newWebhook, type Webhook } from './support.js';

let t: TestApp;
let alice: SignedIn; // owner
let bob: SignedIn; // member
let carol: SignedIn; // outsider
let project: number;

beforeAll(async () => ({ t, alice, bob, carol, project } = await setupTestApp({ env: FAST })));
afterAll(() => t.close());

const patch = (user: SignedIn, hook: Webhook, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  user.request<Webhook>('PATCH', `/api/projects/${hook.project_id}/webhooks/${hook.id}`, { body, headers });

describe('updateWebhook', () => {
  it('changes the given fields, bumps the version, never shows the secret', async () => {
    const hook = await newWebhook(alice, project, 'https://hooks.example.com/taskflow', { event_types: ['task.created'] });
    const patched = await patch(alice, hook, { active: false, event_types: [] });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ active: false, event_types: [], url: 'https://hooks.example.com/taskflow', version: 2 });
    expect(patched.headers.get('etag')).toBe('"2"');
    expect(patched.body).not.toHaveProperty('secret');
    const moved = await patch(alice, hook, { url: 'https://hooks.example.com/moved', active: true });
    expect(moved.body).toMatchObject({ url: 'https://hooks.example.com/moved', active: true, version: 3 });
  });

  it('rotate_secret shows the new secret once and keeps the old one valid for 24 hours', async () => {
    const hook = await newWebhook(alice, project, 'https://hooks.example.com/rotating');
    const rotated = await patch(alice, hook, { rotate_secret: true });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(hook.secret);
    expect(Date.parse(rotated.body.secret_rotated_until!) - Date.now()).toBeGreaterThan(23 * 3_600_000);
    const got = await alice.request<Webhook>('GET', `/api/projects/${project}/webhooks/${hook.id}`);
    expect(got.body).not.toHaveProperty('secret');
  });

  it('412 with a stale If-Match and nothing changed; the current ETag succeeds', async () => {
    const hook = await newWebhook(alice, project, 'https://hooks.example.com/conditional');
    await patch(alice, hook, { active: false }); // version 2
    expectProblem(await patch(alice, hook, { active: true }, { 'if-match': '"1"' }), 412, 'precondition-failed');
    expect((await alice.request<Webhook>('GET', `/api/projects/${project}/webhooks/${hook.id}`)).body).toMatchObject({ active: false, version: 2 });
    expect((await patch(alice, hook, { active: true }, { 'if-match': '"2"' })).status).toBe(200);
  });

  it('422 for an empty patch, an unknown event type or a URL that is not http(s), naming the field', async () => {
    const hook = await newWebhook(alice, project, 'https://hooks.example.com/empty-patch');
    expectProblem(await patch(alice, hook, {}), 422, 'validation-failed');
    expect(expectProblem(await patch(alice, hook, { event_types: ['task.exploded'] }), 422, 'validation-failed').errors?.[0]?.pointer).toMatch(/^\/body\/event_types/);
    expect(expectProblem(await patch(alice, hook, { url: 'ftp://files.example.com/' }), 422, 'validation-failed').errors?.[0]?.pointer).toBe('/body/url');
    expect((await alice.request<Webhook>('GET', `/api/projects/${project}/webhooks/${hook.id}`)).body.version).toBe(1);
  });

  it('403 forbidden for a member, 404 for an outsider or a missing webhook, 401 without a token; 400, 415, 413', async () => {
    const hook = await newWebhook(alice, project, 'https://hooks.example.com/guarded');
    expectProblem(await patch(bob, hook, { active: false }), 403, 'forbidden');
    expectProblem(await patch(carol, hook, { active: false }), 404, 'project-not-found');
    expectProblem(await patch(alice, { ...hook, id: 999999 }, { active: false }), 404, 'webhook-not-found');
    expectProblem(await t.request('PATCH', `/api/projects/${project}/webhooks/${hook.id}`, { body: { active: false } }), 401, 'unauthorized');
    await expectBodyRefusals(t, alice, 'PATCH', `/api/projects/${project}/webhooks/${hook.id}`);
    expect((await alice.request<Webhook>('GET', `/api/projects/${project}/webhooks/${hook.id}`)).body).toMatchObject({ active: true, version: 1 });
  });
});
