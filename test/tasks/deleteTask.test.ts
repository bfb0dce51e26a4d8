/** deleteTask: the task and its subtasks at every depth go, one audit entry counts them; 404 after. */
import type { TestApp } from '../helpers/app.js';
import {
  rowCounts,
  setupTestApp,
  spawnedFrom,
  taskAudit,
  taskRow,
  createTask,
  createSubtask,
  expectProblem,
  type SignedIn,
  type Task,
} from '../helpers/factories.js';

let t: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let carol: SignedIn;
let project: number;

beforeAll(async () => ({ t, alice, bob, carol, project } = await setupTestApp()));
afterAll(() => t.close());

describe('deleteTask', () => {
  it('204, deletes the subtasks at every depth, and one task_deleted entry counts them', async () => {
    const root = await createTask(alice, project, { title: 'Root' });
    const child = await createSubtask(alice, root.id);
    const grandchild = await createSubtask(alice, child.id);
    const sibling = await createSubtask(alice, root.id);
    const res = await bob.request('DELETE', `/api/tasks/${root.id}`);
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    for (const id of [root.id, child.id, grandchild.id, sibling.id]) expect(await taskRow(t, id)).toBeNull();
    expect((await taskAudit(t, root.id)).at(-1)).toMatchObject({
      action: 'task_deleted',
      actor_id: bob.workerId,
      project_id: project,
      details: { title: 'Root', parent_task_id: null, subtasks_deleted: 3 },
    });
    expectProblem(await alice.request('GET', `/api/tasks/${root.id}`), 404, 'task-not-found');
    expectProblem(await alice.request('DELETE', `/api/tasks/${root.id}`), 404, 'task-not-found');
  });

  it('deleting a subtask leaves its parent, whose subtask count drops', async () => {
    const parent = await createTask(alice, project);
    const sub = await createSubtask(alice, parent.id);
    expect((await alice.request('DELETE', `/api/tasks/${sub.id}`)).status).toBe(204);
    expect((await alice.request<Task>('GET', `/api/tasks/${parent.id}`)).body).toMatchObject({ subtask_count: 0, subtasks: [] });
  });

  it('keeps the occurrences a recurring series already spawned', async () => {
    const root = await createTask(alice, project, { recurrence: { pattern: 'daily' } });
    const done = await alice.request<Task>('PATCH', `/api/tasks/${root.id}/status`, { body: { status: 'completed' } });
    expect(done.status).toBe(200);
    const [next] = (await spawnedFrom(t, root.id)).map((r) => r.id);
    expect((await alice.request('DELETE', `/api/tasks/${root.id}`)).status).toBe(204);
    expect(next).toBeDefined();
    expect(await taskRow(t, next!)).toMatchObject({ recurring_root_id: null, spawned_from_id: null, status: 'pending' });
  });

  it('412 with a stale If-Match, 404 for a non-member and a missing task, 422 for a bad id, 401 without a token; nothing deleted', async () => {
    const task = await createTask(alice, project);
    await alice.request('PATCH', `/api/tasks/${task.id}`, { body: { description: 'bump' } }); // version 2
    const before = await rowCounts(t.pool);
    expectProblem(await alice.request('DELETE', `/api/tasks/${task.id}`, { headers: { 'If-Match': '"1"' } }), 412, 'precondition-failed');
    expectProblem(await carol.request('DELETE', `/api/tasks/${task.id}`), 404, 'task-not-found');
    expectProblem(await alice.request('DELETE', '/api/tasks/999999'), 404, 'task-not-found');
    expect(expectProblem(await alice.request('DELETE', '/api/tasks/abc'), 422, 'validation-failed').errors?.[0]?.pointer).toBe('/path/task_id');
    expectProblem(await t.request('DELETE', `/api/tasks/${task.id}`), 401, 'unauthorized');
    expect(await rowCounts(t.pool)).toEqual(before);
    expect(await taskRow(t, task.id)).toMatchObject({ version: 2 });
  });
});
