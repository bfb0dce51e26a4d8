/**
 * receiveEvent, the operation a receiver implements (the contract's 3.1 `webhooks` section): what arrives, signed
 * per Standard Webhooks, at least once, across restarts, only the subscribed types, every payload exactly as
 * documented; and a webhook whose endpoint keeps failing is disabled. Managing webhooks is tested per operation
 * (createWebhook.test.ts, …, pingWebhook.test.ts, listWebhookDeliveries.test.ts).
 */
import { sql } from 'slonik';
import { z } from 'zod';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { assertMatchesWebhookPayload } from '../helpers/contract.js';
import { createTestDatabase } from '../helpers/pg.js';
import { createTask, newProject, setStatus, signIn, type SignedIn } from '../helpers/factories.js';
import { FAST, LONG, newWebhook, startReceiver, until, verifyStandardWebhook, type DeliveryList, type Payload, type Receiver, type Webhook } from './support.js';

let t: TestApp;
let alice: SignedIn; // owner
let bob: SignedIn; // member
let project: number;
const receivers: Receiver[] = [];

beforeAll(async () => {
  // A webhook failing for longer than half a second is disabled (the disabling test); the others never fail.
  t = await startTestApp({ env: { ...FAST, WEBHOOK_DISABLE_AFTER_MS: '500' } });
  alice = await signIn(t, 'alice');
  bob = await signIn(t, 'bob');
  project = await newProject(t, alice, [bob]);
}, 120_000);
afterAll(async () => {
  await t.close();
  await Promise.all(receivers.map((r) => r.close()));
});

async function receiver(respond?: (n: number) => number) {
  const r = await startReceiver(respond);
  receivers.push(r);
  return r;
}

const createWebhook = (url: string, body: Record<string, unknown> = {}) => newWebhook(alice, project, url, body);

describe('every payload is what receiveEvent documents', () => {
  it('task created, updated, assigned, status changed, progress, deleted: each one signed and matching the contract', async () => {
    const r = await receiver();
    const hook = await createWebhook(r.url);
    const task = await createTask(alice, project, { title: 'Every event' });
    await alice.request('PATCH', `/api/tasks/${task.id}`, { body: { description: 'edited' } });
    await alice.request('PATCH', `/api/tasks/${task.id}/assign`, { body: { assignee_id: bob.workerId } });
    await setStatus(alice, task.id, 'in_progress');
    await bob.request('PATCH', `/api/tasks/${task.id}/progress`, { body: { progress_percent: 50 } });
    await alice.request('DELETE', `/api/tasks/${task.id}`);
    await r.waitFor(6);
    const payloads = r.received.map((x) => JSON.parse(x.body) as Payload);
    expect(payloads.map((p) => p.type).sort()).toEqual(
      ['task.assigned', 'task.created', 'task.deleted', 'task.progress_updated', 'task.status_changed', 'task.updated'],
    );
    for (const [i, x] of r.received.entries()) {
      expect(verifyStandardWebhook(hook.secret!, x)).toBe(true);
      assertMatchesWebhookPayload(payloads[i]);
    }
  }, LONG);
});

describe('webhook deliveries', () => {
  it('delivers only subscribed types, pings on demand, and signs with both secrets after a rotation', async () => {
    const r = await receiver();
    const hook = await createWebhook(r.url, { event_types: ['task.status_changed'] });
    const task = await createTask(alice, project);
    await setStatus(alice, task.id, 'in_progress');
    await r.waitFor(1);

    const ping = await alice.request('POST', `/api/projects/${project}/webhooks/${hook.id}/ping`);
    expect(ping.status).toBe(202);
    await r.waitFor(2);
    expect(r.received[1]!.headers['webhook-id']).toBe(ping.body.message_id);
    expect(JSON.parse(r.received[1]!.body)).toMatchObject({ type: 'webhook.ping', data: { entity: { type: 'webhook', id: hook.id } } });
    expect(r.received.map((x) => JSON.parse(x.body).type)).toEqual(['task.status_changed', 'webhook.ping']);
    for (const x of r.received) assertMatchesWebhookPayload(JSON.parse(x.body));

    const rotated = await alice.request<Webhook>('PATCH', `/api/projects/${project}/webhooks/${hook.id}`, { body: { rotate_secret: true } });
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(hook.secret);
    expect(Date.parse(rotated.body.secret_rotated_until!) - Date.now()).toBeGreaterThan(23 * 3_600_000);
    await alice.request('POST', `/api/projects/${project}/webhooks/${hook.id}/ping`);
    await r.waitFor(3);
    const afterRotation = r.received[2]!;
    expect(afterRotation.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(verifyStandardWebhook(rotated.body.secret!, afterRotation)).toBe(true);
    expect(verifyStandardWebhook(hook.secret!, afterRotation)).toBe(true);
  }, LONG);

  it('a server stopped between attempts loses nothing: the next instance delivers the retry', async () => {
    const r = await receiver((n) => (n === 0 ? 500 : 200));
    const db = await createTestDatabase(); // its own database: no other instance takes the job
    const slow = { ...FAST, WEBHOOK_RETRY_DELAYS_MS: '0,2000,2000' };
    const first = await startTestApp({ databaseUrl: db.url, sso: t.sso, env: slow });
    let second: TestApp | undefined;
    try {
      const erin = await signIn(first, 'erin');
      const hook = (await erin.request<Webhook>('POST', `/api/projects/${erin.projectId}/webhooks`, { body: { url: r.url } })).body;
      await createTask(erin, erin.projectId, { title: 'Survives a restart' });
      await r.waitFor(1);
      await first.close(); // stopped with the retry queued in the database
      expect(r.received).toHaveLength(1);
      second = await startTestApp({ databaseUrl: db.url, sso: t.sso, env: slow });
      await r.waitFor(2);
      expect(r.received[1]!.headers['webhook-id']).toBe(r.received[0]!.headers['webhook-id']);
      expect(r.received[1]!.body).toBe(r.received[0]!.body);
      const erinAgain = await second.user('erin');
      const attempts = await until(async () => (await erinAgain.request<DeliveryList>('GET', `/api/projects/${erin.projectId}/webhooks/${hook.id}/deliveries`)).body.items, (i) => i.length === 2);
      expect(attempts.map((a) => [a.attempt, a.status])).toEqual([[2, 'succeeded'], [1, 'retrying']]);
    } finally {
      await second?.close();
      await db.drop();
    }
  }, 400_000); // two more instances start: ~20 s each on a loaded machine
});

describe('disabling', () => {
  it('disables a webhook whose endpoint keeps failing past WEBHOOK_DISABLE_AFTER_MS, with the reason visible', async () => {
    const r = await receiver(() => 500);
    const owner = await signIn(t, 'dora');
    const created = await owner.request<Webhook>('POST', `/api/projects/${owner.projectId}/webhooks`, { body: { url: r.url } });
    const hook = created.body;
    await createTask(owner, owner.projectId, { title: 'Nobody listens' });
    const disabled = await until(
      async () => (await owner.request<Webhook>('GET', `/api/projects/${owner.projectId}/webhooks/${hook.id}`)).body,
      (w) => !w.active,
    );
    expect(disabled).toMatchObject({ active: false, disabled_reason: expect.stringContaining('HTTP 500') });
    // Being disabled is a change of the webhook: a new version and updated_at, so a copy revalidated with the
    // creation's ETag is answered in full (it said `active: true`), not 304.
    expect(disabled.version).toBe(hook.version + 1);
    expect(Date.parse(disabled.updated_at)).toBeGreaterThan(Date.parse(hook.updated_at));
    const revalidated = await owner.request<Webhook>('GET', `/api/projects/${owner.projectId}/webhooks/${hook.id}`, {
      headers: { 'if-none-match': created.headers.get('etag')! },
    });
    expect([revalidated.status, revalidated.body?.active]).toEqual([200, false]);
    expect(disabled.disabled_at).not.toBeNull();
    const deliveries = (await owner.request<DeliveryList>('GET', `/api/projects/${owner.projectId}/webhooks/${hook.id}/deliveries`)).body.items;
    expect(deliveries[0]!.status).toBe('failed');
    const count = await t.pool.oneFirst(sql.type(z.object({ n: z.number() }))`select count(*)::int as n from webhook_delivery where webhook_id = ${hook.id}`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(r.received.length).toBe(count); // nothing more is sent once disabled
    const enabled = await owner.request<Webhook>('PATCH', `/api/projects/${owner.projectId}/webhooks/${hook.id}`, { body: { active: true } });
    expect(enabled.body).toMatchObject({ active: true, disabled_reason: null, disabled_at: null });
  }, LONG);
});
