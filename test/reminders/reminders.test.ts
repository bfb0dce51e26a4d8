/**
 * Due-date reminders with tiers of 3 s and 1 s: scheduled on create, re-date and (re)assignment, cancelled by
 * completion, deletion and unassignment, past tiers skipped, stale reminders re-checked when they fall due.
 * Each becomes a `task.reminder_due` event by the system and a notification for the assignee.
 */
import { sql } from 'slonik';
import { z } from 'zod';
import type { components } from '../../generated/api.js';
import type { TestApp } from '../helpers/app.js';
import { inbox, sleep, waitForNotification } from '../notifications/support.js';
import { setupTestApp, addMember, createTask, setStatus, type SignedIn } from '../helpers/factories.js';
import { dueIn, reminderEvents, SHORT_TIERS } from './support.js';

type EventList = components['schemas']['EventList'];

let t: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let carol: SignedIn;
let project: number;

beforeAll(async () => {
  ({ t, alice, bob, carol, project } = await setupTestApp({ env: SHORT_TIERS }));
  await addMember(t, project, carol.workerId);
}, 120_000);
afterAll(async () => {
  await t.close();
});

const eventually = async <T>(probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> => {
  for (const started = Date.now(); Date.now() - started < ms; await sleep(100)) {
    const value = await probe();
    if (value !== undefined) return value;
  }
  throw new Error(`not reached within ${ms} ms`);
};
const firedTiers = async (taskId: number) => (await reminderEvents(t.pool, [taskId])).map((e) => e.details.tier);
const pendingReminders = (taskId: number) =>
  t.pool.anyFirst(sql.type(z.object({ tier: z.number() }))`
    select tier_seconds as tier from reminder where task_id = ${taskId} and fired_at is null order by tier_seconds desc`);

it('fires each tier once, as a system event saying how late it fired, and notifies the assignee', async () => {
  const due = dueIn(5_000);
  const task = await createTask(alice, project, { title: 'Ship the beta', assignee_id: bob.workerId, due_date: due });
  const events = await eventually(async () => {
    const e = await reminderEvents(t.pool, [task.id]);
    return e.length === 2 ? e : undefined;
  });
  expect(events.map((e) => e.details.tier)).toEqual(['3s', '1s']);
  for (const e of events) {
    expect(e).toMatchObject({ actorId: null, actorHandle: 'system', actorType: 'system' });
    expect(e.details).toMatchObject({ tier_seconds: expect.any(Number), assignee_id: bob.workerId, late_by_ms: expect.any(Number) });
    expect(Date.parse(String(e.details.due_date))).toBe(Date.parse(task.due_date!));
    expect(Date.parse(String(e.details.scheduled_for))).toBe(Date.parse(task.due_date!) - Number(e.details.tier_seconds) * 1000);
    expect(e.details.late_by_ms).toBeGreaterThanOrEqual(0);
    expect(e.details.late_by_ms).toBeLessThan(5_000); // one sweep interval plus a busy machine, not an outage
  }
  // In the feed, streams and webhooks: task.reminder_due by the system, with the task. The feed serves an
  // event once every transaction older than it has finished (its visibility horizon), so the second tier may
  // appear there a moment after its row is committed, while a background worker's transaction is still open.
  const mine = await eventually(async () => {
    const feed = await alice.request<EventList>('GET', '/api/events', { query: { types: 'task.reminder_due', project_id: project } });
    const found = feed.body.items.filter((e) => e.entity.id === task.id);
    return found.length === 2 ? found : undefined;
  });
  expect(mine.map((e) => [e.type, e.actor, e.data.changes.tier])).toEqual([
    ['task.reminder_due', { id: null, handle: 'system', type: 'system', client: null }, '3s'],
    ['task.reminder_due', { id: null, handle: 'system', type: 'system', client: null }, '1s'],
  ]);
  // The assignee's inbox: one task_reminder per tier; the creator gets none.
  await waitForNotification(bob, (n) => n.task_id === task.id && n.type === 'task_reminder' && n.data.tier === '1s');
  const reminders = (await inbox(bob)).filter((n) => n.task_id === task.id && n.type === 'task_reminder');
  expect(reminders.map((n) => [n.data.tier, n.actor.type])).toEqual([['1s', 'system'], ['3s', 'system']]);
  expect((await inbox(alice)).filter((n) => n.task_id === task.id)).toEqual([]);
  expect(await pendingReminders(task.id)).toEqual([]);
});

it('skips tiers already past when the task is created: due in 2 s → only the 1 s reminder', async () => {
  const task = await createTask(alice, project, { title: 'Short notice', assignee_id: bob.workerId, due_date: dueIn(2_000) });
  await eventually(async () => ((await firedTiers(task.id)).length ? true : undefined));
  await sleep(1_500); // past the due date: nothing more can come
  expect(await firedTiers(task.id)).toEqual(['1s']);
});

it('no reminders for a task without an assignee or without a due date', async () => {
  const unassigned = await createTask(alice, project, { title: 'Nobody on it', due_date: dueIn(3_500) });
  const undated = await createTask(alice, project, { title: 'Whenever', assignee_id: bob.workerId });
  const sentinel = await createTask(alice, project, { title: 'Sentinel', assignee_id: bob.workerId, due_date: dueIn(3_500) });
  await eventually(async () => ((await firedTiers(sentinel.id)).length === 2 ? true : undefined));
  expect(await reminderEvents(t.pool, [unassigned.id, undated.id])).toEqual([]);
});

it('re-dating reschedules: the old date never fires, the new one does', async () => {
  const task = await createTask(alice, project, { title: 'Moved deadline', assignee_id: bob.workerId, due_date: dueIn(60_000) });
  await eventually(async () => ((await pendingReminders(task.id)).length === 2 ? true : undefined));
  const newDue = dueIn(4_500);
  expect((await alice.request('PATCH', `/api/tasks/${task.id}`, { body: { due_date: newDue } })).status).toBe(200);
  const events = await eventually(async () => {
    const e = await reminderEvents(t.pool, [task.id]);
    return e.length === 2 ? e : undefined;
  });
  for (const e of events) expect(Date.parse(String(e.details.due_date))).toBe(Date.parse(newDue));
  expect(await pendingReminders(task.id)).toEqual([]); // the reminders of the old date are gone
});

it('completing, deleting or unassigning cancels; reassigning moves the reminder to the new assignee', async () => {
  const due = dueIn(6_000); // the first tier falls due 3 s from now: after the changes below
  const completed = await createTask(alice, project, { title: 'Done early', assignee_id: bob.workerId, due_date: due });
  const deleted = await createTask(alice, project, { title: 'Dropped', assignee_id: bob.workerId, due_date: due });
  const unassigned = await createTask(alice, project, { title: 'Given back', assignee_id: bob.workerId, due_date: due });
  const reassigned = await createTask(alice, project, { title: 'Handed over', assignee_id: bob.workerId, due_date: due });
  expect((await setStatus(bob, completed.id, 'completed')).status).toBe(200);
  expect((await alice.request('DELETE', `/api/tasks/${deleted.id}`)).status).toBe(204);
  expect((await alice.request('PATCH', `/api/tasks/${unassigned.id}/assign`, { body: { assignee_id: null } })).status).toBe(200);
  expect((await alice.request('PATCH', `/api/tasks/${reassigned.id}/assign`, { body: { assignee_id: carol.workerId } })).status).toBe(200);

  const moved = await eventually(async () => {
    const e = await reminderEvents(t.pool, [reassigned.id]);
    return e.length === 2 ? e : undefined;
  }, 10_000);
  expect(moved.map((e) => e.details.assignee_id)).toEqual([carol.workerId, carol.workerId]);
  await waitForNotification(carol, (n) => n.task_id === reassigned.id && n.type === 'task_reminder' && n.data.tier === '1s');
  expect(await reminderEvents(t.pool, [completed.id, deleted.id, unassigned.id])).toEqual([]);
  expect((await inbox(bob)).filter((n) => n.type === 'task_reminder' && [completed.id, deleted.id, unassigned.id, reassigned.id].includes(n.task_id!))).toEqual([]);
});

it('a reminder that no longer applies when it falls due is dropped, not fired (the task is re-checked then)', async () => {
  const task = await createTask(alice, project, { title: 'Closed behind the scheduler', assignee_id: bob.workerId, due_date: dueIn(4_000) });
  await eventually(async () => ((await pendingReminders(task.id)).length === 2 ? true : undefined));
  // Completed without an event the scheduler would see: only the check at firing time can catch it.
  await t.pool.query(sql.unsafe`update task set status = 'completed', completed_at = now() where id = ${task.id}`);
  await eventually(async () => ((await pendingReminders(task.id)).length === 0 ? true : undefined), 6_000);
  expect(await reminderEvents(t.pool, [task.id])).toEqual([]);
});

it('re-opening a completed task before its due date schedules its reminders again', async () => {
  const task = await createTask(alice, project, { title: 'Reopened', assignee_id: bob.workerId, due_date: dueIn(60_000) });
  await eventually(async () => ((await pendingReminders(task.id)).length === 2 ? true : undefined), 15_000);
  expect((await setStatus(bob, task.id, 'completed')).status).toBe(200);
  await eventually(async () => ((await pendingReminders(task.id)).length === 0 ? true : undefined), 15_000);
  expect((await setStatus(alice, task.id, 'review')).status).toBe(200);
  expect(await eventually(async () => {
    const p = await pendingReminders(task.id);
    return p.length === 2 ? p : undefined;
  }, 15_000)).toEqual([3, 1]);
}, 60_000);

it('claiming an unassigned task with a due date schedules its reminders for the one who claimed it', async () => {
  const byId = await createTask(alice, project, { title: 'Up for grabs', due_date: dueIn(60_000) });
  const next = await createTask(alice, project, { title: 'Next in line', priority: 'critical', tags: ['claim-me'], due_date: dueIn(60_000) });
  // Nobody is assigned yet: nothing to remind anyone of.
  const sentinel = await createTask(alice, project, { title: 'Scheduler went past', assignee_id: bob.workerId, due_date: dueIn(60_000) });
  await eventually(async () => ((await pendingReminders(sentinel.id)).length === 2 ? true : undefined));
  expect(await pendingReminders(byId.id)).toEqual([]);
  expect(await pendingReminders(next.id)).toEqual([]);

  expect((await carol.request('POST', `/api/tasks/${byId.id}/claim`)).status).toBe(200);
  const claimed = await carol.request<{ id: number }>('POST', `/api/projects/${project}/tasks/claim-next`, { query: { tags: 'claim-me' } });
  expect([claimed.status, claimed.body.id]).toEqual([200, next.id]);
  for (const task of [byId, next]) {
    expect(await eventually(async () => {
      const p = await pendingReminders(task.id);
      return p.length === 2 ? p : undefined;
    })).toEqual([3, 1]);
  }
}, 60_000);
