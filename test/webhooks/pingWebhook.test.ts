/** pingWebhook: 202 with the message id, a signed webhook.ping delivered; Idempotency-Key replays; 403, 404, 422, 401. */
import type { TestApp } from '../helpers/app.js';
import { assertMatchesWebhookPayload } from '../helpers/contract.js';
import { expectProblem, setupTestApp, type SignedIn } from '../helpers/factories.js';
import { FAST, LONG, newWebhook, startReceiver, verifyStandardWebhook, type Receiver } from './support.js';

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

describe('pingWebhook', () => {
  it('202 with the message id; the receiver gets a signed webhook.ping about this webhook', async () => {
    const r = await receiver();
    const hook = await newWebhook(alice, project, r.url, { event_types: ['task.deleted'] });
    const ping = await alice.request<{ message_id: string }>('POST', `/api/projects/${project}/webhooks/${hook.id}/ping`);
    expect(ping.status).toBe(202);
    expect(ping.body.message_id).toEqual(expect.any(String));
    await r.waitFor(1);
    expect(r.received[0]!.headers['webhook-id']).toBe(ping.body.message_id);
    expect(verifyStandardWebhook(hook.secret!, r.received[0]!)).toBe(true);
    const payload = JSON.parse(r.received[0]!.body);
    expect(payload).toMatchObject({ type: 'webhook.ping', data: { entity: { type: 'webhook', id: hook.id } } });
    assertMatchesWebhookPayload(payload);
  }, LONG);

  it('a ping retried with the same Idempotency-Key replays the first answer and queues no second ping', async () => {
    const r = await receiver();
    const hook = await newWebhook(alice, project, r.url, { event_types: ['task.deleted'] });
    const path = `/api/projects/${project}/webhooks/${hook.id}/ping`;
    const key = `ping-${hook.id}`;
    const first = await alice.request('POST', path, { headers: { 'idempotency-key': key } });
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const retry = await alice.request('POST', path, { headers: { 'idempotency-key': key } });
    expect(retry.status).toBe(202);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    await r.waitFor(1);
    // A ping sent after the retry, without a key, arrives after the first: nothing was queued in between.
    const later = await alice.request('POST', path);
    await r.waitFor(2);
    expect(r.received.map((x) => x.headers['webhook-id'])).toEqual([first.body.message_id, later.body.message_id]);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(r.received).toHaveLength(2);
  }, LONG);

  it('403 forbidden for a member, 404 for an outsider or a missing webhook, 422 for a bad id, 401 without a token; nothing sent', async () => {
    const r = await receiver();
    const hook = await newWebhook(alice, project, r.url, { event_types: ['task.deleted'] });
    const path = `/api/projects/${project}/webhooks/${hook.id}/ping`;
    expectProblem(await bob.request('POST', path), 403, 'forbidden');
    expectProblem(await carol.request('POST', path), 404, 'project-not-found');
    expectProblem(await alice.request('POST', `/api/projects/${project}/webhooks/999999/ping`), 404, 'webhook-not-found');
    expect(expectProblem(await alice.request('POST', `/api/projects/${project}/webhooks/abc/ping`), 422, 'validation-failed').errors?.[0]?.pointer).toBe('/path/webhook_id');
    expectProblem(await t.request('POST', path), 401, 'unauthorized');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(r.received).toHaveLength(0);
  }, LONG);
});
