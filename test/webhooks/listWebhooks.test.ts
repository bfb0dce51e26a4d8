/** listWebhooks: a project's webhooks with their versions, never a secret, for owners only; paging, 403, 404, 422, 401. */
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

describe('listWebhooks', () => {
  it('lists the project’s webhooks with their version, without secrets', async () => {
    const hook = await newWebhook(alice, project, 'https://hooks.example.com/taskflow', { event_types: ['task.created'] });
    await newWebhook(alice, alice.projectId, 'https://hooks.example.com/elsewhere'); // another project's
    const list = await alice.request<WebhookList>('GET', `/api/projects/${project}/webhooks`);
    expect(list.status).toBe(200);
    expect(list.body.items.map((w: Webhook) => w.id)).toEqual([hook.id]);
    expect(list.body.items[0]).toMatchObject({ url: 'https://hooks.example.com/taskflow', event_types: ['task.created'], active: true, version: 1 });
    expect(list.body.items.every((w: Webhook) => !('secret' in w))).toBe(true);
    await alice.request('PATCH', `/api/projects/${project}/webhooks/${hook.id}`, { body: { active: false } });
    const after = await alice.request<WebhookList>('GET', `/api/projects/${project}/webhooks`);
    expect(after.body.items.find((w) => w.id === hook.id)).toMatchObject({ active: false, version: 2 });
  });

  it('pages with limit and next_cursor', async () => {
    const paged = await newProjectWithHooks(3);
    const first = await alice.request<WebhookList>('GET', `/api/projects/${paged.project}/webhooks`, { query: { limit: 2 } });
    expect(first.body.items).toHaveLength(2);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const rest = await alice.request<WebhookList>('GET', `/api/projects/${paged.project}/webhooks`, { query: { limit: 2, cursor: first.body.next_cursor! } });
    expect(rest.body.next_cursor).toBeNull();
    expect([...first.body.items, ...rest.body.items].map((w) => w.id).sort()).toEqual(paged.ids.sort());
  });

  it('403 forbidden for a member, 404 project-not-found for an outsider, 422 for a bad limit, 401 without a token', async () => {
    expectProblem(await bob.request('GET', `/api/projects/${project}/webhooks`), 403, 'forbidden');
    expectProblem(await carol.request('GET', `/api/projects/${project}/webhooks`), 404, 'project-not-found');
    expect(expectProblem(await alice.request('GET', `/api/projects/${project}/webhooks`, { query: { limit: 0 } }), 422, 'validation-failed').errors?.[0]?.pointer).toBe('/query/limit');
    expectProblem(await t.request('GET', `/api/projects/${project}/webhooks`), 401, 'unauthorized');
  });
});

/** A project of alice's with `count` webhooks. */
async function newProjectWithHooks(count: number) {
  const res = await alice.request<{ id: number }>('POST', '/api/projects', { body: { slug: `hooks-${Date.now().toString(36)}`, name: 'Hooks' } });
  const ids: number[] = [];
  for (let i = 0; i < count; i++) ids.push((await newWebhook(alice, res.body.id, `https://hooks.example.com/${i}`)).id);
  return { project: res.body.id, ids };
}
