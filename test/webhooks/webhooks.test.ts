/** Webhooks: management (owners only), signed at-least-once deliveries with backoff, restarts, disabling, SSRF. */
import { sql } from 'slonik';
import { z } from 'zod';
import type { components } from '../../generated/api.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/pg.js';
import { createTask, expectProblem, newProject, setStatus, signIn, type SignedIn } from '../tasks/support.js';
import { startReceiver, verifyStandardWebhook, type Receiver } from './support.js';

// Events appear once every older transaction of the PostgreSQL cluster has finished: while other suites run
// long transactions on the shared test server (an import holds one for a minute), they wait. Never skip.
const LONG = 240_000;

type Webhook = components['schemas']['Webhook'];
type DeliveryList = components['schemas']['WebhookDeliveryList'];
type Payload = components['schemas']['WebhookPayload'];

const FAST = {
  WEBHOOK_ALLOW_PRIVATE: 'true',
  WEBHOOK_RETRY_DELAYS_MS: '0,300,300,300,300,300,300,300',
  JOBS_POLL_INTERVAL_SECONDS: '0.5',
  EVENTS_POLL_INTERVAL_MS: '200',
};

let t: TestApp;
let alice: SignedIn; // owner
let bob: SignedIn; // member
let carol: SignedIn; // outsider
let project: number;
const receivers: Receiver[] = [];

beforeAll(async () => {
  t = await startTestApp({ env: FAST });
  alice = await signIn(t, 'alice');
  bob = await signIn(t, 'bob');
  carol = await signIn(t, 'carol');
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

async function createWebhook(url: string, body: Record<string, unknown> = {}, app = t, owner = alice, projectId = project) {
  void app;
  const res = await owner.request<Webhook>('POST', `/api/projects/${projectId}/webhooks`, { body: { url, ...body } });
  expect(res.status).toBe(201);
  return res.body;
}

const deliveriesOf = async (hook: Webhook, user = alice) =>
  (await user.request<DeliveryList>('GET', `/api/projects/${hook.project_id}/webhooks/${hook.id}/deliveries`)).body.items;

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, ms = 180_000): Promise<T> {
  for (const deadline = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 100))) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
  }
}

describe('webhook management', () => {
  it('creates a webhook with a secret shown once, lists and reads it without, for the owner only', async () => {
    const res = await alice.request<Webhook>('POST', `/api/projects/${project}/webhooks`, {
      body: { url: 'https://hooks.example.com/taskflow', event_types: ['task.created'] },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/api/projects/${project}/webhooks/${res.body.id}`);
    expect(res.body).toMatchObject({ project_id: project, url: 'https://hooks.example.com/taskflow', event_types: ['task.created'], active: true });
    expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);

    const got = await alice.request<Webhook>('GET', `/api/projects/${project}/webhooks/${res.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body).not.toHaveProperty('secret');
    const list = await alice.request('GET', `/api/projects/${project}/webhooks`);
    expect(list.body.items.map((w: Webhook) => w.id)).toContain(res.body.id);
    expect(list.body.items.every((w: Webhook) => !('secret' in w))).toBe(true);

    expectProblem(await bob.request('GET', `/api/projects/${project}/webhooks`), 403, 'forbidden');
    expectProblem(await bob.request('POST', `/api/projects/${project}/webhooks`, { body: { url: 'https://x.example.com/h' } }), 403, 'forbidden');
    expectProblem(await carol.request('GET', `/api/projects/${project}/webhooks/${res.body.id}`), 404, 'project-not-found');
    expectProblem(await alice.request('GET', `/api/projects/${project}/webhooks/999999`), 404, 'webhook-not-found');
    expectProblem(await alice.request('GET', `/api/projects/${alice.projectId}/webhooks/${res.body.id}`), 404, 'webhook-not-found');

    const patched = await alice.request<Webhook>('PATCH', `/api/projects/${project}/webhooks/${res.body.id}`, { body: { active: false, event_types: [] } });
    expect(patched.body).toMatchObject({ active: false, event_types: [] });
    expect(patched.body).not.toHaveProperty('secret');
    expect((await alice.request('DELETE', `/api/projects/${project}/webhooks/${res.body.id}`)).status).toBe(204);
    expectProblem(await alice.request('GET', `/api/projects/${project}/webhooks/${res.body.id}`), 404, 'webhook-not-found');
  }, LONG);

  it('carries version (also in the list) as its ETag; If-None-Match with it is a 304 until the webhook changes', async () => {
    const hook = await createWebhook('https://hooks.example.com/versioned');
    expect(hook.version).toBe(1);
    const list = await alice.request<components['schemas']['WebhookList']>('GET', `/api/projects/${project}/webhooks`);
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
  }, LONG);

  it('refuses unknown event types, empty patches and URLs that are not http(s)', async () => {
    const bad = await alice.request('POST', `/api/projects/${project}/webhooks`, { body: { url: 'https://h.example.com/x', event_types: ['task.exploded'] } });
    expectProblem(bad, 422, 'validation-failed');
    expectProblem(await alice.request('POST', `/api/projects/${project}/webhooks`, { body: { url: 'ftp://files.example.com/' } }), 422, 'validation-failed');
    const hook = await createWebhook('https://hooks.example.com/empty-patch');
    expectProblem(await alice.request('PATCH', `/api/projects/${project}/webhooks/${hook.id}`, { body: {} }), 422, 'validation-failed');
  }, LONG);
});

describe('webhook deliveries', () => {
  it('fails 3 times, is delivered on the 4th with the same webhook-id, signed per Standard Webhooks, every attempt listed', async () => {
    const r = await receiver((n) => (n < 3 ? 503 : 200));
    const hook = await createWebhook(r.url, { event_types: ['task.created'] });
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

  it('a ping retried with the same Idempotency-Key replays the first answer and queues no second ping', async () => {
    const r = await receiver();
    const hook = await createWebhook(r.url, { event_types: ['task.deleted'] });
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

describe('webhook safety', () => {
  it('refuses loopback, private, link-local and metadata URLs unless WEBHOOK_ALLOW_PRIVATE, and http in production', async () => {
    const strict = await startTestApp({ env: { WEBHOOK_ALLOW_PRIVATE: 'false' } });
    try {
      const owner = await signIn(strict, 'olga');
      for (const url of ['http://127.0.0.1:9/x', 'http://localhost/x', 'http://10.1.2.3/x', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/x', 'http://[fd00:ec2::254]/x']) {
        const res = await owner.request('POST', `/api/projects/${owner.projectId}/webhooks`, { body: { url } });
        expectProblem(res, 422, 'validation-failed');
        expect(res.body.errors[0].pointer).toBe('/body/url');
      }
    } finally {
      await strict.close();
    }
  }, LONG);

  it('disables a webhook whose endpoint keeps failing past WEBHOOK_DISABLE_AFTER_MS, with the reason visible', async () => {
    const app = await startTestApp({ env: { ...FAST, WEBHOOK_DISABLE_AFTER_MS: '500' } });
    const r = await receiver(() => 500);
    try {
      const owner = await signIn(app, 'dora');
      const hook = (await owner.request<Webhook>('POST', `/api/projects/${owner.projectId}/webhooks`, { body: { url: r.url } })).body;
      await createTask(owner, owner.projectId, { title: 'Nobody listens' });
      const disabled = await until(
        async () => (await owner.request<Webhook>('GET', `/api/projects/${owner.projectId}/webhooks/${hook.id}`)).body,
        (w) => !w.active,
      );
      expect(disabled).toMatchObject({ active: false, disabled_reason: expect.stringContaining('HTTP 500') });
      expect(disabled.disabled_at).not.toBeNull();
      const deliveries = (await owner.request<DeliveryList>('GET', `/api/projects/${owner.projectId}/webhooks/${hook.id}/deliveries`)).body.items;
      expect(deliveries[0]!.status).toBe('failed');
      const count = await app.pool.oneFirst(sql.type(z.object({ n: z.number() }))`select count(*)::int as n from webhook_delivery where webhook_id = ${hook.id}`);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(r.received.length).toBe(count); // nothing more is sent once disabled
      const enabled = await owner.request<Webhook>('PATCH', `/api/projects/${owner.projectId}/webhooks/${hook.id}`, { body: { active: true } });
      expect(enabled.body).toMatchObject({ active: true, disabled_reason: null, disabled_at: null });
    } finally {
      await app.close();
    }
  }, LONG);
});
