/**
 * Webhook changes are audited like every other change, in the same transaction: created, updated (a rotation
 * as `secret_rotated`), deleted, and disabled by the server. The trail shows the URL's origin only and never a
 * secret; the entries are `webhook.*` events of the project.
 */
import type { components } from '../../generated/api.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTask, newProject, signIn, type SignedIn } from '../helpers/factories.js';
import { startReceiver, type Receiver } from './support.js';

const LONG = 240_000;

type Webhook = components['schemas']['Webhook'];
type AuditList = components['schemas']['AuditList'];
type AuditEntry = components['schemas']['AuditEntry'];
type EventList = components['schemas']['EventList'];

let t: TestApp;
let alice: SignedIn; // owner
let bob: SignedIn; // member
let project: number;
let r: Receiver | undefined;

beforeAll(async () => {
  t = await startTestApp({
    env: {
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_RETRY_DELAYS_MS: '0,300,300,300,300,300,300,300',
      WEBHOOK_DISABLE_AFTER_MS: '500',
      JOBS_POLL_INTERVAL_SECONDS: '0.5',
      EVENTS_POLL_INTERVAL_MS: '200',
    },
  });
  alice = await signIn(t, 'alice');
  bob = await signIn(t, 'bob');
  project = await newProject(t, alice, [bob]);
}, 120_000);
afterAll(async () => {
  await t.close();
  await r?.close();
});

const webhookEntries = async (user: SignedIn, projectId: number, webhookId: number): Promise<AuditEntry[]> => {
  const res = await user.request<AuditList>('GET', `/api/projects/${projectId}/audit`, { query: { entity_type: 'webhook', limit: 100 } });
  expect(res.status).toBe(200);
  return res.body.items.filter((e) => e.entity_id === webhookId).sort((a, b) => a.id - b.id);
};

describe('webhook changes in the audit trail', () => {
  it('records create, update, rotation and delete with the origin only, never a secret, and members read them as events', async () => {
    const created = await alice.request<Webhook>('POST', `/api/projects/${project}/webhooks`, {
      body: { url: 'https://hooks.example.com/taskflow?token=s3cr3t', event_types: ['task.created'] },
    });
    expect(created.status).toBe(201);
    const hook = created.body;
    const path = `/api/projects/${project}/webhooks/${hook.id}`;
    const rotated = await alice.request<Webhook>('PATCH', path, { body: { rotate_secret: true, event_types: ['task.created', 'task.assigned'] } });
    expect(rotated.status).toBe(200);
    const moved = await alice.request<Webhook>('PATCH', path, { body: { url: 'https://hooks.example.com/other?token=n3w' } });
    expect(moved.status).toBe(200);
    expect((await alice.request('DELETE', path)).status).toBe(204);

    // bob is a member, not an owner: he cannot manage webhooks but reads the project's trail.
    const entries = await webhookEntries(bob, project, hook.id);
    expect(entries.map((e) => [e.action, e.actor_id, e.actor_type])).toEqual([
      ['webhook_created', alice.workerId, 'human'],
      ['webhook_updated', alice.workerId, 'human'],
      ['webhook_updated', alice.workerId, 'human'],
      ['webhook_deleted', alice.workerId, 'human'],
    ]);
    expect(entries[0]!.details).toEqual({
      url: { before: null, after: 'https://hooks.example.com' },
      event_types: { before: null, after: ['task.created'] },
      active: { before: null, after: true },
    });
    expect(entries[1]!.details).toEqual({
      event_types: { before: ['task.created'], after: ['task.created', 'task.assigned'] },
      secret_rotated: true,
    });
    expect(entries[2]!.details).toEqual({ url_path_changed: true });
    expect(entries[3]!.details).toEqual({
      url: { before: 'https://hooks.example.com', after: null },
      event_types: { before: ['task.created', 'task.assigned'], after: null },
      active: { before: true, after: null },
    });
    const text = JSON.stringify(entries);
    for (const secret of [hook.secret!, rotated.body.secret!, 's3cr3t', 'n3w', '/taskflow', '/other']) expect(text).not.toContain(secret);

    // The same entries are the project's webhook.* events (they show once older transactions of the cluster ended).
    const webhookEvents = async () => {
      const feed = await bob.request<EventList>('GET', '/api/events', {
        query: { project_id: project, types: ['webhook.created', 'webhook.updated', 'webhook.deleted'], limit: 500 },
      });
      expect(feed.status).toBe(200);
      return feed.body.items.filter((e) => e.entity.id === hook.id).map((e) => e.type);
    };
    let types = await webhookEvents();
    for (const deadline = Date.now() + 180_000; types.length < 4 && Date.now() < deadline; types = await webhookEvents()) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(types).toEqual(['webhook.created', 'webhook.updated', 'webhook.updated', 'webhook.deleted']);
  }, LONG);

  it('delivers webhook.* events only to webhooks that list them; an empty list means every other type', async () => {
    const own = await newProject(t, alice);
    const listening = await startReceiver();
    const everything = await startReceiver();
    try {
      const watcher = await alice.request<Webhook>('POST', `/api/projects/${own}/webhooks`, { body: { url: listening.url, event_types: ['webhook.created', 'task.created'] } });
      const all = await alice.request<Webhook>('POST', `/api/projects/${own}/webhooks`, { body: { url: everything.url } });
      expect([watcher.status, all.status]).toEqual([201, 201]);
      await createTask(alice, own, { title: 'Seen by both' });
      await listening.waitFor(3, 180_000);
      await everything.waitFor(1, 180_000);
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // anything else would have arrived by now
      const types = (r: Receiver) => r.received.map((x) => (JSON.parse(x.body) as { type: string }).type).sort();
      // The watcher lists webhook.created: it gets the creation of both webhooks (its own included) and the task.
      expect(types(listening)).toEqual(['task.created', 'webhook.created', 'webhook.created']);
      expect(types(everything)).toEqual(['task.created']);
    } finally {
      await listening.close();
      await everything.close();
    }
  }, LONG);

  it('an update that changes nothing visible writes no entry', async () => {
    const hook = (await alice.request<Webhook>('POST', `/api/projects/${project}/webhooks`, { body: { url: 'https://hooks.example.com/same' } })).body;
    const same = await alice.request<Webhook>('PATCH', `/api/projects/${project}/webhooks/${hook.id}`, { body: { active: true } });
    expect(same.status).toBe(200);
    expect((await webhookEntries(alice, project, hook.id)).map((e) => e.action)).toEqual(['webhook_created']);
  }, LONG);

  it('the server disabling a failing endpoint is an entry of its own (actor system, with the reason)', async () => {
    r = await startReceiver(() => 500);
    const own = await newProject(t, alice);
    const hook = (await alice.request<Webhook>('POST', `/api/projects/${own}/webhooks`, { body: { url: r.url } })).body;
    await createTask(alice, own, { title: 'Nobody listens' });
    let entries: AuditEntry[] = [];
    for (const deadline = Date.now() + 180_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 200))) {
      entries = await webhookEntries(alice, own, hook.id);
      if (entries.some((e) => e.action === 'webhook_disabled')) break;
    }
    const disabled = entries.filter((e) => e.action === 'webhook_disabled');
    expect(disabled).toHaveLength(1);
    expect(disabled[0]).toMatchObject({
      actor_id: null,
      actor_handle: 'system',
      actor_type: 'system',
      details: { active: { before: true, after: false }, reason: expect.stringContaining('HTTP 500') },
    });
    const now = await alice.request<Webhook>('GET', `/api/projects/${own}/webhooks/${hook.id}`);
    expect(now.body).toMatchObject({ active: false, disabled_reason: disabled[0]!.details.reason });
  }, LONG);
});
