/** claimTask: take one task (assign yourself and start it); 409 when someone holds it or it is not pending, 404, 412. */
import { keyedAgent } from '../helpers/agents.js';
import type { TestApp } from '../helpers/app.js';
import {
  setupTestApp,
  rowCounts,
  taskAudit,
  taskRow,
  createTask,
  forceStatus,
  expectProblem,
  type SignedIn,
  type Task,
  deadlockCount,
  projectWithMember,
  signIn,
  whileChangeHeld,
} from '../helpers/factories.js';

const claim = (user: { request: SignedIn['request'] }, taskId: number, headers: Record<string, string> = {}) =>
  user.request<Task>('POST', `/api/tasks/${taskId}/claim`, { headers });

let t: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let carol: SignedIn; // not a member
let project: number;

beforeAll(async () => ({ t, alice, bob, carol, project } = await setupTestApp()));
afterAll(() => t.close());

describe('claimTask', () => {
  it('assigns the caller and starts the task in one step, one audit entry', async () => {
    const task = await createTask(alice, project, { title: 'Take me' });
    const res = await claim(bob, task.id);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: task.id, status: 'in_progress', assignee_id: bob.workerId, assignee_handle: '@bob', allowed_transitions: ['review', 'completed', 'blocked'] });
    expect(res.headers.get('etag')).toBe('"2"');
    expect(await taskRow(t, task.id)).toMatchObject({ status: 'in_progress', assignee_id: bob.workerId, started_at: expect.any(String), version: 2 });
    expect((await taskAudit(t, task.id)).slice(1)).toEqual([
      expect.objectContaining({ action: 'claimed', actor_id: bob.workerId, details: { assignee_id: { before: null, after: bob.workerId }, status: { before: 'pending', after: 'in_progress' } } }),
    ]);
  });

  it('claiming your own task again is a 200 no-op', async () => {
    const task = await createTask(alice, project);
    await claim(bob, task.id);
    const before = await rowCounts(t.pool);
    const again = await claim(bob, task.id);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'in_progress', assignee_id: bob.workerId });
    expect(await rowCounts(t.pool)).toEqual(before);
    expect((await taskRow(t, task.id))!.version).toBe(2);
  });

  it('starts a pending task already assigned to the caller', async () => {
    const task = await createTask(alice, project, { assignee_id: bob.workerId });
    expect((await claim(bob, task.id)).body).toMatchObject({ status: 'in_progress', assignee_id: bob.workerId });
  });

  it('409 already-claimed naming the holder, nothing written', async () => {
    const task = await createTask(alice, project);
    await claim(bob, task.id);
    const before = await rowCounts(t.pool);
    const problem = expectProblem(await claim(alice, task.id), 409, 'already-claimed');
    expect(problem).toMatchObject({ assignee_handle: '@bob' });
    expect(problem.detail).toContain('@bob');
    expect(await rowCounts(t.pool)).toEqual(before);
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

  it('concurrent claims of one task: one winner, the rest already-claimed', async () => {
    const task = await createTask(alice, project, { title: 'contested' });
    const a = await keyedAgent(t, alice, [project]);
    const results = await Promise.all([claim(a, task.id), claim(bob, task.id), claim(alice, task.id)]);
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409).every((r) => (r.body as unknown as { type: string }).type.endsWith('/already-claimed'))).toBe(true);
    expect((await taskAudit(t, task.id)).filter((e) => e.action === 'claimed')).toHaveLength(1);
  });

  it('claims waiting on the row lock are judged on the state it was released with: taken meanwhile, all already-claimed', async () => {
    const task = await createTask(alice, project);
    const answers = await whileChangeHeld(t, {
      text: `update task set assignee_id = $2, status = 'in_progress', started_at = now(), version = version + 1 where id = $1`, values: [task.id, alice.workerId],
    }, 2, () => [claim(bob, task.id), claim(bob, task.id)]);
    for (const refused of answers) expect(expectProblem(refused, 409, 'already-claimed')).toMatchObject({ assignee_handle: '@alice' });
    expect(await taskRow(t, task.id)).toMatchObject({ assignee_id: alice.workerId, version: 2 });
    expect((await taskAudit(t, task.id)).map((a) => a.action)).toEqual(['task_created']);
  });

  it('a stale If-Match is a 412 even for the caller\'s own task in progress (the no-op)', async () => {
    const task = await createTask(alice, project);
    await claim(bob, task.id); // version 2
    expectProblem(await claim(bob, task.id, { 'if-match': '"1"' }), 412, 'precondition-failed');
    expect((await claim(bob, task.id, { 'if-match': '"2"' })).status).toBe(200);
  });

  it('401 without a token; nothing written', async () => {
    const task = await createTask(alice, project);
    const before = await rowCounts(t.pool);
    expectProblem(await t.request('POST', `/api/tasks/${task.id}/claim`), 401, 'unauthorized');
    expect(await rowCounts(t.pool)).toEqual(before);
  });
});

describe('claimTask racing removeProjectMember', () => {
  // Odd rounds claim a pending task already assigned to the claimer: the removal's unassignment then needs the
  // task row the claim holds, so the two deadlock unless the claim waits for the project before taking the task.
  it('never deadlocks, and never leaves a removed member holding the task', async () => {
    const owner = await signIn(t, 'claim-one-race-owner');
    const before = await deadlockCount(t);
    for (let round = 0; round < 20; round++) {
      const helper = await signIn(t, `claim-one-race-helper-${round}`);
      const { projectId, memberId } = await projectWithMember(t, owner, helper.workerId);
      const task = await createTask(owner, projectId, round % 2 === 1 ? { assignee_id: helper.workerId } : {});
      const [claimed, removed] = await Promise.all([
        claim(helper, task.id),
        owner.request('DELETE', `/api/projects/${projectId}/members/${memberId}`),
      ]);
      expect(removed.status).toBe(204);
      expect([200, 404]).toContain(claimed.status); // 404: the membership was already gone when the claim ran
      expect(await taskRow(t, task.id)).toMatchObject({ assignee_id: null });
    }
    expect(await deadlockCount(t)).toBe(before);
  });
});
