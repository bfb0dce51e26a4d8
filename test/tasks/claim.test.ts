/** claimTask and claimNextTask: taking work, the order claim-next picks in, races, and allowed_transitions. */
import { sql } from 'slonik';
import { z } from 'zod';
import { keyedAgent } from '../helpers/agents.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import {
  auditOf,
  createSubtask,
  createTask,
  expectProblem,
  forceStatus,
  newProject,
  rowCounts,
  setStatus,
  signIn,
  taskRow,
  type SignedIn,
  type Task,
} from './support.js';

let t: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let carol: SignedIn; // not a member
let project: number;

beforeAll(async () => {
  t = await startTestApp();
  alice = await signIn(t, 'alice');
  bob = await signIn(t, 'bob');
  carol = await signIn(t, 'carol');
  project = await newProject(t, alice, [bob]);
});
afterAll(() => t.close());

const claim = (user: { request: SignedIn['request'] }, taskId: number, headers: Record<string, string> = {}) =>
  user.request<Task>('POST', `/api/tasks/${taskId}/claim`, { headers });
const claimNext = (user: { request: SignedIn['request'] }, projectId: number, query: Record<string, any> = {}) =>
  user.request<Task>('POST', `/api/projects/${projectId}/tasks/claim-next`, { query });

describe('claimTask', () => {
  it('assigns the caller and starts the task in one step, one audit entry', async () => {
    const task = await createTask(alice, project, { title: 'Take me' });
    const res = await claim(bob, task.id);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: task.id, status: 'in_progress', assignee_id: bob.workerId, assignee_handle: '@bob', allowed_transitions: ['review', 'completed', 'blocked'] });
    expect(res.headers.get('etag')).toBe('"2"');
    expect(await taskRow(t, task.id)).toMatchObject({ status: 'in_progress', assignee_id: bob.workerId, started_at: expect.any(String), version: 2 });
    expect((await auditOf(t, task.id)).slice(1)).toEqual([
      expect.objectContaining({ action: 'claimed', actor_id: bob.workerId, details: { assignee_id: { before: null, after: bob.workerId }, status: { before: 'pending', after: 'in_progress' } } }),
    ]);
  });

  it('claiming your own task again is a 200 no-op', async () => {
    const task = await createTask(alice, project);
    await claim(bob, task.id);
    const before = await rowCounts(t);
    const again = await claim(bob, task.id);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'in_progress', assignee_id: bob.workerId });
    expect(await rowCounts(t)).toEqual(before);
    expect((await taskRow(t, task.id))!.version).toBe(2);
  });

  it('starts a pending task already assigned to the caller', async () => {
    const task = await createTask(alice, project, { assignee_id: bob.workerId });
    expect((await claim(bob, task.id)).body).toMatchObject({ status: 'in_progress', assignee_id: bob.workerId });
  });

  it('409 already-claimed naming the holder, nothing written', async () => {
    const task = await createTask(alice, project);
    await claim(bob, task.id);
    const before = await rowCounts(t);
    const problem = expectProblem(await claim(alice, task.id), 409, 'already-claimed');
    expect(problem).toMatchObject({ assignee_handle: '@bob' });
    expect(problem.detail).toContain('@bob');
    expect(await rowCounts(t)).toEqual(before);
  });

  it('409 invalid-transition with allowed_transitions for a task that is not pending', async () => {
    const task = await createTask(alice, project);
    await forceStatus(t, task.id, 'review');
    const problem = expectProblem(await claim(bob, task.id), 409, 'invalid-transition');
    expect(problem.allowed_transitions).toEqual(['in_progress', 'completed']);
  });

  it('404 for a task outside your projects, 412 for a stale If-Match', async () => {
    const task = await createTask(alice, project);
    expectProblem(await claim(carol, task.id), 404, 'task-not-found');
    expectProblem(await claim(bob, task.id, { 'if-match': '"7"' }), 412, 'precondition-failed');
    expectProblem(await claim(bob, 0), 422, 'validation-failed');
  });
});

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

  it('concurrent claims of one task: one winner, the rest already-claimed', async () => {
    const task = await createTask(alice, project, { title: 'contested' });
    const a = await keyedAgent(t, alice, [project]);
    const results = await Promise.all([claim(a, task.id), claim(bob, task.id), claim(alice, task.id)]);
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409).every((r) => (r.body as unknown as { type: string }).type.endsWith('/already-claimed'))).toBe(true);
    expect((await auditOf(t, task.id)).filter((e) => e.action === 'claimed')).toHaveLength(1);
  });
});

describe('allowed_transitions', () => {
  it('leaves out completed while a subtask at any depth is open, in lists and single tasks', async () => {
    const p = await newProject(t, alice);
    const parent = await createTask(alice, p, { title: 'parent' });
    const child = await createSubtask(alice, parent.id, { title: 'child' });
    const grandchild = await createSubtask(alice, child.id, { title: 'grandchild' });
    await forceStatus(t, child.id, 'completed'); // a completed child with an open grandchild still blocks
    const got = await alice.request<Task>('GET', `/api/tasks/${parent.id}`);
    expect(got.body.allowed_transitions).toEqual(['in_progress', 'blocked']);
    const list = await alice.request('GET', `/api/projects/${p}/tasks`, { query: { parent_task_id: 'none' } });
    expect(list.body.items.find((x: Task) => x.id === parent.id).allowed_transitions).toEqual(['in_progress', 'blocked']);
    const refused = expectProblem(await setStatus(alice, parent.id, 'review'), 409, 'invalid-transition');
    expect(refused.allowed_transitions).toEqual(['in_progress', 'blocked']);
    await forceStatus(t, grandchild.id, 'completed');
    expect((await alice.request<Task>('GET', `/api/tasks/${parent.id}`)).body.allowed_transitions).toEqual(['in_progress', 'blocked', 'completed']);
  });
});
