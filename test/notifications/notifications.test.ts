/**
 * What fills the inbox: notifications produced from the event log for the people a change concerns, never for
 * the one who made it, and their retention. Reading the inbox is tested per operation (listNotifications.test.ts, …).
 */
import { sql } from 'slonik';
import { z } from 'zod';
import { purgeNotifications } from '../../src/notifications/index.js';
import type { TestApp } from '../helpers/app.js';
import { setupTestApp, addMember, createTask, setStatus, signIn, type SignedIn } from '../helpers/factories.js';
import { FAST, inbox, waitForNotification, type Notification, type NotificationList } from './support.js';

let t: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let carol: SignedIn;
let project: number;

beforeAll(async () => {
  ({ t, alice, bob, carol, project } = await setupTestApp({ env: FAST }));
  await addMember(t, project, carol.workerId);
}, 120_000);
afterAll(async () => {
  await t.close();
});

const about = (taskId: number, type: string) => (n: Notification) => n.task_id === taskId && n.type === type;
const typesFor = async (user: SignedIn, taskId: number) => (await inbox(user)).filter((n) => n.task_id === taskId).map((n) => n.type).sort();

/**
 * A change that does notify bob, made after the changes under test: once bob has it, the producer (which
 * reads the log in order) has handled everything before it, so what is missing is really not produced.
 */
async function sentinel(): Promise<void> {
  const task = await createTask(alice, project, { title: 'Sentinel', assignee_id: bob.workerId });
  await waitForNotification(bob, about(task.id, 'task_assigned'));
}

describe('what produces a notification', () => {
  it('a task created with someone else as assignee: task_assigned for the assignee only, with the actor and title', async () => {
    const task = await createTask(alice, project, { title: 'Write the release notes', assignee_id: bob.workerId });
    const n = await waitForNotification(bob, about(task.id, 'task_assigned'));
    expect(n).toEqual({
      id: expect.any(Number),
      type: 'task_assigned',
      event_id: expect.any(Number),
      project_id: project,
      task_id: task.id,
      task_title: 'Write the release notes',
      actor: { id: alice.workerId, handle: alice.me.worker.handle, type: 'human' },
      data: {},
      read_at: null,
      created_at: expect.stringMatching(/Z$/),
    });
    await sentinel();
    expect(await typesFor(alice, task.id)).toEqual([]);
  });

  it('assigning and reassigning: each new assignee is told; unassigning and assigning yourself tell no one', async () => {
    const task = await createTask(alice, project, { title: 'Triage the bug reports' });
    expect((await alice.request('PATCH', `/api/tasks/${task.id}/assign`, { body: { assignee_id: bob.workerId } })).status).toBe(200);
    await waitForNotification(bob, about(task.id, 'task_assigned'));
    expect((await alice.request('PATCH', `/api/tasks/${task.id}/assign`, { body: { assignee_id: carol.workerId } })).status).toBe(200);
    await waitForNotification(carol, about(task.id, 'task_assigned'));
    expect((await alice.request('PATCH', `/api/tasks/${task.id}/assign`, { body: { assignee_id: null } })).status).toBe(200);
    expect((await alice.request('PATCH', `/api/tasks/${task.id}/assign`, { body: { assignee_id: alice.workerId } })).status).toBe(200);
    await sentinel();
    expect(await typesFor(alice, task.id)).toEqual([]);
    expect(await typesFor(bob, task.id)).toEqual(['task_assigned']);
    expect(await typesFor(carol, task.id)).toEqual(['task_assigned']);
  });

  it('review, rejection (with the reason) and approval reach the creator and the assignee, never the one acting', async () => {
    const task = await createTask(alice, project, { title: 'Draft the launch announcement', assignee_id: bob.workerId });
    expect((await setStatus(bob, task.id, 'in_progress')).status).toBe(200);
    expect((await setStatus(bob, task.id, 'review')).status).toBe(200);
    await waitForNotification(alice, about(task.id, 'task_review'));
    const rejected = await alice.request('POST', `/api/tasks/${task.id}/reject`, { body: { reason: 'The pricing paragraph is out of date' } });
    expect(rejected.status).toBe(200);
    const rejection = await waitForNotification(bob, about(task.id, 'task_rejected'));
    expect(rejection.data).toEqual({ reason: 'The pricing paragraph is out of date' });
    expect((await setStatus(bob, task.id, 'review')).status).toBe(200);
    expect((await alice.request('POST', `/api/tasks/${task.id}/approve`)).status).toBe(200);
    await waitForNotification(bob, about(task.id, 'task_completed'));
    await sentinel();
    expect(await typesFor(alice, task.id)).toEqual(['task_review', 'task_review']);
    expect(await typesFor(bob, task.id)).toEqual(['task_assigned', 'task_completed', 'task_rejected']);
    expect(await typesFor(carol, task.id)).toEqual([]);
  });

  it('completing through the status: the creator is told when the assignee completes', async () => {
    const task = await createTask(alice, project, { title: 'Renew the certificate', assignee_id: bob.workerId });
    expect((await setStatus(bob, task.id, 'completed')).status).toBe(200);
    await waitForNotification(alice, about(task.id, 'task_completed'));
    await sentinel();
    expect(await typesFor(bob, task.id)).toEqual(['task_assigned']);
  });

  it('a deleted task: its creator and assignee are told (but not the one deleting it), with its title', async () => {
    const task = await createTask(carol, project, { title: 'Old landing page', assignee_id: bob.workerId });
    expect((await alice.request('DELETE', `/api/tasks/${task.id}`)).status).toBe(204);
    const forBob = await waitForNotification(bob, about(task.id, 'task_deleted'));
    expect(forBob).toMatchObject({ task_title: 'Old landing page', actor: { id: alice.workerId } });
    await waitForNotification(carol, about(task.id, 'task_deleted'));
    await sentinel();
    expect(await typesFor(alice, task.id)).toEqual([]);
  });

  it("the next occurrence of a recurring task: its creator is told when the assignee completes this one", async () => {
    const task = await createTask(alice, project, {
      title: 'Weekly report', assignee_id: bob.workerId, due_date: '2031-03-03T09:00:00Z', recurrence: { pattern: 'weekly' },
    });
    expect((await setStatus(bob, task.id, 'completed')).status).toBe(200);
    const spawned = await waitForNotification(alice, (n) => n.type === 'task_spawned' && n.data.spawned_from_id === task.id);
    expect(spawned).toMatchObject({ task_title: 'Weekly report', data: { spawned_from_id: task.id } });
    expect(Date.parse(String(spawned.data.due_date))).toBe(Date.parse('2031-03-10T09:00:00Z'));
    expect(spawned.task_id).not.toBe(task.id);
    await sentinel();
    expect((await inbox(bob)).filter((n) => n.type === 'task_spawned')).toEqual([]);
  });

  it('changes that concern no one else tell no one: edits, progress, starting, creating without an assignee', async () => {
    const task = await createTask(alice, project, { title: 'Quiet task', assignee_id: alice.workerId });
    expect((await alice.request('PATCH', `/api/tasks/${task.id}`, { body: { title: 'Quiet task, renamed', priority: 'high' } })).status).toBe(200);
    expect((await setStatus(alice, task.id, 'in_progress')).status).toBe(200);
    expect((await alice.request('PATCH', `/api/tasks/${task.id}/progress`, { body: { progress_percent: 40 } })).status).toBe(200);
    expect((await setStatus(alice, task.id, 'review')).status).toBe(200);
    const unassigned = await createTask(bob, project, { title: 'Nobody yet' });
    await sentinel();
    for (const user of [alice, bob, carol]) {
      expect(await typesFor(user, task.id)).toEqual([]);
      expect(await typesFor(user, unassigned.id)).toEqual([]);
    }
  });

  it('agents are notified like people: a task assigned to an agent lands in its inbox', async () => {
    const agent = await alice.request('POST', '/api/agents', { body: { handle: '@triage-bot', name: 'Triage bot', agent_type: 'claude' } });
    expect(agent.status).toBe(201);
    await t.pool.query(sql.unsafe`insert into member (project_id, worker_id) values (${project}, ${agent.body.id})`);
    const task = await createTask(alice, project, { title: 'Label the new issues', assignee_id: agent.body.id });
    await sentinel();
    const rows = await t.pool.any(sql.type(z.object({ type: z.string() }))`
      select type from notification where recipient_id = ${agent.body.id} and task_id = ${task.id}`);
    expect(rows).toEqual([{ type: 'task_assigned' }]);
    // The agent reads it itself, with an API key, like any worker.
    const key = await alice.request('POST', `/api/agents/${agent.body.id}/keys`, { body: { name: 'inbox' } });
    expect(key.status).toBe(201);
    const asAgent = { headers: { Authorization: `Bearer ${key.body.secret}` } };
    const list = await t.request<NotificationList>('GET', '/api/notifications', asAgent);
    expect(list.status).toBe(200);
    const theirs = list.body.items.filter((n) => n.task_id === task.id);
    expect(theirs).toEqual([
      expect.objectContaining({ type: 'task_assigned', task_id: task.id, read_at: null, actor: expect.objectContaining({ id: alice.workerId }) }),
    ]);
    const read = await t.request<Notification>('POST', `/api/notifications/${theirs[0]!.id}/read`, asAgent);
    expect(read.status).toBe(200);
    expect(read.body.read_at).not.toBeNull();
  });

  it('each event notifies each person once, even when the producer runs again over it', async () => {
    const counts = await t.pool.any(sql.type(z.object({ n: z.number() }))`
      select count(*)::int as n from notification group by event_id, recipient_id having count(*) > 1`);
    expect(counts).toEqual([]);
  });
});

describe('retention', () => {
  it('purges notifications older than the retention period and keeps the rest', async () => {
    const frank = await signIn(t, 'frank');
    const insert = (daysAgo: number, title: string) => t.pool.query(sql.unsafe`
      insert into notification (tenant_id, recipient_id, event_id, type, task_title, actor_handle, actor_type, created_at)
      values ('default', ${frank.workerId}, ${900_000_000 + daysAgo}, 'task_assigned', ${title}, '@alice', 'human',
              now() - make_interval(days => ${daysAgo}))`);
    await insert(120, 'Four months old');
    await insert(91, 'Just past retention');
    await insert(89, 'Just within retention');
    await insert(0, 'Today');
    expect(await purgeNotifications(t.pool, t.config.notifications.retentionDays)).toBe(2);
    expect((await inbox(frank)).map((n) => n.task_title)).toEqual(['Today', 'Just within retention']);
    expect(await purgeNotifications(t.pool, 90)).toBe(0);
  });
});
