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
import { inbox, waitForNotification } from '../notifications/support.js';

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

  it('each subtask deleted with its parent gets a task_deleted entry of its own (an event), and its assignee is told', async () => {
    const root = await createTask(alice, project, { title: 'Epic' });
    const child = await createSubtask(alice, root.id, { title: 'Child', assignee_id: alice.workerId });
    const grandchild = await createSubtask(alice, child.id, { title: 'Grandchild', assignee_id: bob.workerId });
    expect((await alice.request('DELETE', `/api/tasks/${root.id}`)).status).toBe(204);
    expect((await taskAudit(t, child.id)).at(-1)).toMatchObject({
      action: 'task_deleted', actor_id: alice.workerId, project_id: project,
      details: { title: 'Child', parent_task_id: root.id, created_by_id: alice.workerId, assignee_id: alice.workerId, deleted_with: root.id },
    });
    expect((await taskAudit(t, grandchild.id)).at(-1)).toMatchObject({
      action: 'task_deleted', actor_id: alice.workerId,
      details: { title: 'Grandchild', parent_task_id: child.id, assignee_id: bob.workerId, deleted_with: root.id },
    });
    // Bob worked on the grandchild: his inbox says it is gone (alice deleted it, so she is not told of her own change).
    await waitForNotification(bob, (n) => n.type === 'task_deleted' && n.task_id === grandchild.id && n.task_title === 'Grandchild');
    expect((await inbox(alice)).filter((n) => [root.id, child.id, grandchild.id].includes(n.task_id!))).toEqual([]);
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
    const before = await alice.request<Task>('GET', `/api/tasks/${next!}`);
    expect(before.body.recurring_root_id).toBe(root.id);
    expect((await alice.request('DELETE', `/api/tasks/${root.id}`)).status).toBe(204);
    expect(next).toBeDefined();
    expect(await taskRow(t, next!)).toMatchObject({ recurring_root_id: null, spawned_from_id: null, status: 'pending' });
    // Losing its series root is a change of the occurrence: a new version (ETag) and updated_at, and an entry.
    const after = await alice.request<Task>('GET', `/api/tasks/${next!}`, { headers: { 'if-none-match': before.headers.get('etag')! } });
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ recurring_root_id: null, version: before.body.version + 1 });
    expect(Date.parse(after.body.updated_at)).toBeGreaterThan(Date.parse(before.body.updated_at));
    expect((await taskAudit(t, next!)).at(-1)).toMatchObject({
      action: 'task_updated', actor_id: alice.workerId, details: { recurring_root_id: { before: root.id, after: null } },
    });
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
