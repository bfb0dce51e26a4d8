/** claimNextTask: take the most urgent unassigned pending task of a project, with filters; 204 when none, 404; races. */
import { sql } from 'slonik';
import { z } from 'zod';
import { keyedAgent } from '../helpers/agents.js';
import type { TestApp } from '../helpers/app.js';
import {
  setupTestApp,
  signIn,
  taskRow,
  newProject,
  createTask,
  createSubtask,
  forceStatus,
  expectProblem,
  type SignedIn,
  type Task,
  deadlockCount,
  projectWithMember,
  whileChangeHeld,
  whileMembershipRemoved,
} from '../helpers/factories.js';

const claimNext = (user: { request: SignedIn['request'] }, projectId: number, query: Record<string, any> = {}) =>
  user.request<Task>('POST', `/api/projects/${projectId}/tasks/claim-next`, { query });

let t: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let carol: SignedIn; // not a member
let project: number;

beforeAll(async () => ({ t, alice, bob, carol, project } = await setupTestApp()));
afterAll(() => t.close());

describe('claimNextTask', () => {
  it('takes the most urgent: priority, then due date (none last), then age', async () => {
    const p = await newProject(t, alice, [bob]);
    const low = await createTask(alice, p, { title: 'low', priority: 'low' });
    const highLate = await createTask(alice, p, { title: 'high, due later', priority: 'high', due_date: '2030-02-01T00:00:00Z' });
    const highNoDue = await createTask(alice, p, { title: 'high, no due date', priority: 'high' });
    const highSoon = await createTask(alice, p, { title: 'high, due soon', priority: 'high', due_date: '2030-01-01T00:00:00Z' });
    const critical = await createTask(alice, p, { title: 'critical', priority: 'critical' });
    const taken = await createTask(alice, p, { title: 'assigned already', priority: 'critical', assignee_id: alice.workerId });
    const started = await createTask(alice, p, { title: 'in progress', priority: 'critical' });
    await forceStatus(t, started.id, 'in_progress');
    const order = [];
    for (let i = 0; i < 5; i++) order.push((await claimNext(bob, p)).body.id);
    expect(order).toEqual([critical.id, highSoon.id, highLate.id, highNoDue.id, low.id]);
    const none = await claimNext(bob, p);
    expect(none.status).toBe(204);
    expect(none.body).toBeUndefined();
    expect((await taskRow(t, taken.id))!.status).toBe('pending');
  });

  it('filters by tags (all of them), priority and parent_task_id', async () => {
    const p = await newProject(t, alice, [bob]);
    const parent = await createTask(alice, p, { title: 'parent', priority: 'low' });
    const sub = await createSubtask(alice, parent.id, { title: 'sub', priority: 'low', tags: ['copy'] });
    const both = await createTask(alice, p, { title: 'both tags', priority: 'medium', tags: ['copy', 'launch'] });
    await createTask(alice, p, { title: 'one tag', priority: 'critical', tags: ['copy'] });
    expect((await claimNext(bob, p, { tags: ['copy', 'launch'] })).body.id).toBe(both.id);
    expect((await claimNext(bob, p, { parent_task_id: parent.id })).body.id).toBe(sub.id);
    expect((await claimNext(bob, p, { priority: ['low'] })).body.id).toBe(parent.id);
    expect((await claimNext(bob, p, { priority: ['low'] })).status).toBe(204);
    expectProblem(await claimNext(bob, p, { priority: ['urgent'] }), 422, 'validation-failed');
  });

  it('404 for a project you are not a member of', async () => {
    expectProblem(await claimNext(carol, project), 404, 'project-not-found');
  });

  it('20 parallel claimers on 10 tasks: each task claimed exactly once, 10 × 204, audit complete', async () => {
    const p = await newProject(t, alice);
    const agents = [];
    for (let i = 0; i < 20; i++) agents.push(await keyedAgent(t, alice, [p]));
    const tasks = [];
    for (let i = 0; i < 10; i++) tasks.push(await createTask(alice, p, { title: `race ${i}` }));
    const results = await Promise.all(agents.map((a) => claimNext(a, p)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([...Array(10).fill(200), ...Array(10).fill(204)]);
    const claimed = results.filter((r) => r.status === 200).map((r) => r.body.id).sort((a, b) => a - b);
    expect(claimed).toEqual(tasks.map((x) => x.id).sort((a, b) => a - b));
    const rows = await t.pool.any(sql.type(z.object({ entity_id: z.number(), actor_id: z.number(), actor_type: z.string() }))`
      select entity_id, actor_id, actor_type from audit_log where action = 'claimed' and project_id = ${p} order by entity_id`);
    expect(rows.map((r) => r.entity_id)).toEqual(claimed);
    expect(new Set(rows.map((r) => r.actor_id)).size).toBe(10);
    expect(rows.every((r) => r.actor_type === 'agent')).toBe(true);
    for (const r of results.filter((x) => x.status === 200)) {
      expect(rows.find((row) => row.entity_id === r.body.id)!.actor_id).toBe(r.body.assignee_id);
    }
  });

  it('422 for a bad project id or filter, 401 without a token; nothing claimed', async () => {
    const p = await newProject(t, alice, [bob]);
    const waiting = await createTask(alice, p, { title: 'waiting' });
    expect(expectProblem(await claimNext(bob, 0 as number), 422, 'validation-failed').errors?.[0]?.pointer).toBe('/path/project_id');
    expect(expectProblem(await claimNext(bob, p, { tags: [''] }), 422, 'validation-failed').errors?.[0]?.pointer).toMatch(/^\/query\/tags/);
    expectProblem(await t.request('POST', `/api/projects/${p}/tasks/claim-next`), 401, 'unauthorized');
    expect(await taskRow(t, waiting.id)).toMatchObject({ status: 'pending', assignee_id: null });
  });
});

describe('claimNextTask waiting for the project', () => {
  it('skips a task taken while it waited, and claims the next one', async () => {
    const p = await newProject(t, alice, [bob]);
    const first = await createTask(alice, p, { title: 'most urgent', priority: 'critical' });
    const second = await createTask(alice, p, { title: 'next', priority: 'high' });
    // An owner's change holds the project; in the same transaction the most urgent task is taken.
    const [claimed] = await whileChangeHeld(t, {
      text: `select id from project where id = ${p} for update; update task set assignee_id = ${alice.workerId}, status = 'in_progress' where id = ${first.id}`, values: [],
    }, 1, () => [claimNext(bob, p)]);
    expect(claimed!.status).toBe(200);
    expect(claimed!.body).toMatchObject({ id: second.id, assignee_id: bob.workerId, status: 'in_progress' });
    expect(await taskRow(t, first.id)).toMatchObject({ assignee_id: alice.workerId });
  });

  it('a membership removed while it waited is a 404, nothing claimed', async () => {
    const helper = await signIn(t, 'claim-next-held-helper');
    const { answer, taskId } = await whileMembershipRemoved(t, alice, helper, ({ projectId }) => claimNext(helper, projectId));
    expectProblem(answer, 404, 'project-not-found');
    expect(await taskRow(t, taskId)).toMatchObject({ assignee_id: null, status: 'pending' });
  });
});

describe('claimNextTask racing removeProjectMember', () => {
  it('never deadlocks, and never leaves a removed member holding a task', async () => {
    const owner = await signIn(t, 'claim-race-owner');
    const before = await deadlockCount(t);
    for (let round = 0; round < 10; round++) {
      const helper = await signIn(t, `claim-race-helper-${round}`);
      const { projectId, memberId } = await projectWithMember(t, owner, helper.workerId);
      const task = await createTask(owner, projectId);
      const [claimed, remove] = await Promise.all([
        claimNext(helper, projectId),
        owner.request('DELETE', `/api/projects/${projectId}/members/${memberId}`),
      ]);
      expect(remove.status).toBe(204);
      expect([200, 404]).toContain(claimed.status); // 404: the membership was already gone when the claim ran
      expect(await taskRow(t, task.id)).toMatchObject({ assignee_id: null }); // the removal unassigns what they held
    }
    expect(await deadlockCount(t)).toBe(before);
  });
});
