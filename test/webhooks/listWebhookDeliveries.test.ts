/**
 * listWebhookDeliveries: every attempt of every delivery, newest first, with status, code, latency, a capped
 * response body and the next retry; paging; 403, 404, 422, 401.
 */
import type { TestApp } from '../helpers/app.js';
import { createTask, expectProblem, setupTestApp, type SignedIn } from '../helpers/factories.js';
import { FAST, LONG, newWebhook, startReceiver, until, verifyStandardWebhook, type DeliveryList, type Payload, type Receiver, type Webhook } from './support.js';

let t: TestApp;
let alice: SignedIn; // owner
let bob: SignedIn; // member
let carol: SignedIn; // outsider
let project: number;
const receivers: Receiver[] = [];

beforeAll(async () => ({ t, alice, bob, carol, project } = await setupTestApp({ env: FAST })), 120_000);
afterAll(async () => {
  await t.close();
  await Promise.all(receivers.map((r) => r.close()));
});

async function receiver(respond?: (n: number) => number) {
  const r = await startReceiver(respond);
  receivers.push(r);
  return r;
}

const deliveriesOf = async (hook: Webhook, user = alice) =>
  (await user.request<DeliveryList>('GET', `/api/projects/${hook.project_id}/webhooks/${hook.id}/deliveries`)).body.items;

describe('listWebhookDeliveries', () => {
  it('fails 3 times, is delivered on the 4th with the same webhook-id, signed per Standard Webhooks, every attempt listed', async () => {
    const r = await receiver((n) => (n < 3 ? 503 : 200));
    const hook = await newWebhook(alice, project, r.url, { event_types: ['task.created'] });
    const task = await createTask(alice, project, { title: 'Announce the launch' });
    await r.waitFor(4);

    const ids = new Set(r.received.map((x) => x.headers['webhook-id']));
    expect(ids).toEqual(new Set([`msg_evt_${(JSON.parse(r.received[0]!.body) as Payload).data.id}`]));
    for (const x of r.received) expect(verifyStandardWebhook(hook.secret!, x)).toBe(true);
    expect(verifyStandardWebhook('whsec_' + Buffer.alloc(24, 1).toString('base64'), r.received[3]!)).toBe(false);
    const payload = JSON.parse(r.received[3]!.body) as Payload;
    expect(payload).toMatchObject({ type: 'task.created', data: { type: 'task.created', entity: { type: 'task', id: task.id }, data: { task: { id: task.id } } } });
    expect(new Set(r.received.map((x) => x.body)).size).toBe(1); // every retry sends the same bytes

    const attempts = await until(() => deliveriesOf(hook), (items) => items.length === 4);
    expect(attempts.map((a) => [a.attempt, a.status, a.status_code])).toEqual([
      [4, 'succeeded', 200], [3, 'retrying', 503], [2, 'retrying', 503], [1, 'retrying', 503],
    ]);
    expect(attempts[1]!.next_retry_at).not.toBeNull();
    expect(attempts[0]!.next_retry_at).toBeNull();
    expect(Buffer.byteLength(attempts[1]!.response_body!)).toBeLessThanOrEqual(1024); // the receiver sent ~2 KiB
    expect(attempts.every((a) => a.event_id === payload.data.id && a.latency_ms! >= 0)).toBe(true);
  }, LONG);

  it('pages with limit and next_cursor', async () => {
    const r = await receiver();
    const hook = await newWebhook(alice, project, r.url, { event_types: ['task.deleted'] });
    for (let i = 0; i < 3; i++) await alice.request('POST', `/api/projects/${project}/webhooks/${hook.id}/ping`);
    const all = await until(() => deliveriesOf(hook), (items) => items.length === 3);
    expect(all).toHaveLength(3);
    const path = `/api/projects/${project}/webhooks/${hook.id}/deliveries`;
    const first = await alice.request<DeliveryList>('GET', path, { query: { limit: 2 } });
    expect(first.body.items.map((d) => d.id)).toEqual(all.slice(0, 2).map((d) => d.id));
    const rest = await alice.request<DeliveryList>('GET', path, { query: { limit: 2, cursor: first.body.next_cursor! } });
    expect(rest.body.items.map((d) => d.id)).toEqual([all[2]!.id]);
    expect(rest.body.next_cursor).toBeNull();
  }, LONG);

  it('403 forbidden for a member, 404 for an outsider or a missing webhook, 422 for a bad limit, 401 without a token', async () => {
    const hook = await newWebhook(alice, project, 'https://hooks.example.com/quiet');
    const path = `/api/projects/${project}/webhooks/${hook.id}/deliveries`;
    expect(await deliveriesOf(hook)).toEqual([]);
    expectProblem(await bob.request('GET', path), 403, 'forbidden');
    expectProblem(await carol.request('GET', path), 404, 'project-not-found');
    expectProblem(await alice.request('GET', `/api/projects/${project}/webhooks/999999/deliveries`), 404, 'webhook-not-found');
    expect(expectProblem(await alice.request('GET', path, { query: { limit: 0 } }), 422, 'validation-failed').errors?.[0]?.pointer).toBe('/query/limit');
    expectProblem(await t.request('GET', path), 401, 'unauthorized');
  });
});
