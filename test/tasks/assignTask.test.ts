/** assignTask: assign, reassign, unassign; 422 for a non-member assignee, 404; racing a member’s removal. */
import { sql } from 'slonik';
import { z } from 'zod';
import type { TestApp } from '../helpers/app.js';
import {
  expectBodyRefusals,
  setupTestApp,
  signIn,
  rowCounts,
  taskAudit,
  taskRow,
  createTask,
  expectProblem,
  type SignedIn,
  type Task,
  deadlockCount,
  projectWithMember,
  whileMembershipRemoved,
} from '../helpers/factories.js';

const assign = (user: SignedIn, id: number, assigneeId: number | null) =>
  user.request<Task>('PATCH', `/api/tasks/${id}/assign`, { body: { assignee_id: assigneeId } });

let t: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let carol: SignedIn; // not a member
let project: number;

beforeAll(async () => ({ t, alice, bob, carol, project } = await setupTestApp()));
afterAll(() => t.close());

describe('assignTask', () => {
  it('assigns a member, reassigns, unassigns — each with an assigned entry', async () => {
    const task = await createTask(alice, project);
    const res = await assign(alice, task.id, bob.workerId);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ assignee_id: bob.workerId, assignee_handle: '@bob' });
    expect(res.headers.get('etag')).toBe('"2"');
    expect((await assign(alice, task.id, alice.workerId)).body).toMatchObject({ assignee_id: alice.workerId, assignee_handle: '@alice' });
    expect((await assign(alice, task.id, null)).body).toMatchObject({ assignee_id: null, assignee_handle: null });
    expect((await taskAudit(t, task.id)).slice(1).map((a) => a.details)).toEqual([
      { assignee_id: { before: null, after: bob.workerId } },
      { assignee_id: { before: bob.workerId, after: alice.workerId } },
      { assignee_id: { before: alice.workerId, after: null } },
    ]);
    expect(await taskRow(t, task.id)).toMatchObject({ assignee_id: null, version: 4 });
  });

  it('422 at /body/assignee_id for a non-member or a worker that does not exist; nothing written', async () => {
    const task = await createTask(alice, project, { assignee_id: bob.workerId });
    const counts = await rowCounts(t.pool);
    for (const id of [carol.workerId, 999999]) {
      const problem = expectProblem(await assign(alice, task.id, id), 422, 'validation-failed');
      expect(problem.errors).toEqual([{ pointer: '/body/assignee_id', message: expect.stringContaining(String(id)) }]);
    }
    expect(expectProblem(await alice.request('PATCH', `/api/tasks/${task.id}/assign`, { body: {} }), 422, 'validation-failed').errors?.[0]?.pointer).toBe(
      '/body/assignee_id',
    );
    expect(await taskRow(t, task.id)).toMatchObject({ assignee_id: bob.workerId, version: 1 });
    expect(await rowCounts(t.pool)).toEqual(counts);
  });

  it('404 for a non-member, even assigning themselves', async () => {
    const task = await createTask(alice, project);
    expectProblem(await assign(carol, task.id, carol.workerId), 404, 'task-not-found');
  });

  it('412 with a stale If-Match, 404 for a missing task, 401 without a token; 400, 415 and 413 for a bad body; nothing written', async () => {
    const task = await createTask(alice, project);
    await assign(alice, task.id, bob.workerId); // version 2
    const counts = await rowCounts(t.pool);
    const body = { assignee_id: alice.workerId };
    expectProblem(await alice.request('PATCH', `/api/tasks/${task.id}/assign`, { body, headers: { 'If-Match': '"1"' } }), 412, 'precondition-failed');
    expectProblem(await alice.request('PATCH', '/api/tasks/999999/assign', { body }), 404, 'task-not-found');
    expectProblem(await t.request('PATCH', `/api/tasks/${task.id}/assign`, { body }), 401, 'unauthorized');
    expect(await rowCounts(t.pool)).toEqual(counts);
    await expectBodyRefusals(t, alice, 'PATCH', `/api/tasks/${task.id}/assign`);
    expect(await taskRow(t, task.id)).toMatchObject({ assignee_id: bob.workerId, version: 2 });
  });
});

describe('assignTask racing removeProjectMember', () => {
  // Odd rounds start with the task assigned to the member already: the removal's unassignment then needs the task
  // row the assignment holds, so the two deadlock unless the assignment waits for the project before the task.
  it('never deadlocks: each race ends with the member gone and the task unassigned or refused', async () => {
    const owner = await signIn(t, 'race-owner');
    const before = await deadlockCount(t);
    for (let round = 0; round < 20; round++) {
      const helper = await signIn(t, `race-helper-${round}`);
      const { projectId, memberId } = await projectWithMember(t, owner, helper.workerId);
      const task = await createTask(owner, projectId, round % 2 === 1 ? { assignee_id: helper.workerId } : {});
      const [assign, remove] = await Promise.all([
        owner.request('PATCH', `/api/tasks/${task.id}/assign`, { body: { assignee_id: helper.workerId } }),
        owner.request('DELETE', `/api/projects/${projectId}/members/${memberId}`),
      ]);
      expect(remove.status).toBe(204);
      expect([200, 422]).toContain(assign.status); // 422: the member was already gone when the assignment ran
      const assignee = await t.pool.oneFirst(sql.type(z.object({ a: z.number().nullable() }))`
        select assignee_id as a from task where id = ${task.id}`);
      expect(assignee).toBeNull(); // removal always wins in the end: its FK unassigns
    }
    expect(await deadlockCount(t)).toBe(before);
  });
});

describe('assignTask waiting for the project', () => {
  it('an assignee removed while it waited is a 422, nothing written', async () => {
    const helper = await signIn(t, 'assign-held-helper');
    const { answer, taskId } = await whileMembershipRemoved(t, alice, helper, ({ taskId }) => assign(alice, taskId, helper.workerId));
    expect(expectProblem(answer, 422, 'validation-failed').errors).toEqual([{ pointer: '/body/assignee_id', message: expect.stringContaining(String(helper.workerId)) }]);
    expect(await taskRow(t, taskId)).toMatchObject({ assignee_id: null, version: 1 });
    expect((await taskAudit(t, taskId)).map((a) => a.action)).toEqual(['task_created']);
  });

  it('a caller removed while it waited is a 404, nothing written', async () => {
    const helper = await signIn(t, 'assign-held-caller');
    const { answer, taskId } = await whileMembershipRemoved(t, alice, helper, ({ taskId }) => assign(helper, taskId, alice.workerId));
    expectProblem(answer, 404, 'task-not-found');
    expect(await taskRow(t, taskId)).toMatchObject({ assignee_id: null, version: 1 });
  });
});
