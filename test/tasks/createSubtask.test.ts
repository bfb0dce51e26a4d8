/** createSubtask: a subtask in the parent’s project at any depth, and what is refused. */
import type { TestApp } from '../helpers/app.js';
import {
  expectBodyRefusals,
  setupTestApp,
  actionsOf,
  rowCounts,
  taskAudit,
  createTask,
  createSubtask,
  expectProblem,
  type SignedIn,
  type Task,
} from '../helpers/factories.js';

let t: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let carol: SignedIn; // same tenant, member of nothing of alice’s
let project: number;

beforeAll(async () => ({ t, alice, bob, carol, project } = await setupTestApp()));
afterAll(() => t.close());

describe('createSubtask', () => {
  it('creates a subtask in the parent’s project, at any depth, each with task_created', async () => {
    const root = await createTask(alice, project, { title: 'Root' });
    const res = await bob.request<Task>('POST', `/api/tasks/${root.id}/subtasks`, {
      body: { title: ' Level 1 ', assignee_id: alice.workerId, tags: ['a'] },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/api/tasks/${res.body.id}`);
    expect(res.headers.get('etag')).toBe('"1"');
    expect(res.body).toMatchObject({ title: 'Level 1', parent_task_id: root.id, project_id: project, created_by_id: bob.workerId, assignee_handle: '@alice' });
    const level2 = await createSubtask(alice, res.body.id, { title: 'Level 2' });
    expect(level2.parent_task_id).toBe(res.body.id);
    expect(await actionsOf(t, level2.id)).toEqual(['task_created']);
    expect((await taskAudit(t, level2.id))[0]!.details).toMatchObject({ parent_task_id: res.body.id });
  });

  it('422 at /body/assignee_id when the assignee is not a member of the parent’s project; nothing written', async () => {
    const parent = await createTask(alice, project);
    const before = await rowCounts(t.pool);
    const res = await alice.request('POST', `/api/tasks/${parent.id}/subtasks`, { body: { title: 'x', assignee_id: carol.workerId } });
    expect(expectProblem(res, 422, 'validation-failed').errors).toEqual([{ pointer: '/body/assignee_id', message: expect.any(String) }]);
    expect(await rowCounts(t.pool)).toEqual(before);
  });

  it('has no parent_task_id field (422), and 404 task-not-found for a parent the caller cannot see', async () => {
    const parent = await createTask(alice, project);
    const res = await alice.request('POST', `/api/tasks/${parent.id}/subtasks`, { body: { title: 'x', parent_task_id: parent.id } });
    expect(expectProblem(res, 422, 'validation-failed').errors?.[0]?.pointer).toBe('/body/parent_task_id');
    const before = await rowCounts(t.pool);
    expectProblem(await carol.request('POST', `/api/tasks/${parent.id}/subtasks`, { body: { title: 'x' } }), 404, 'task-not-found');
    expectProblem(await alice.request('POST', '/api/tasks/999999/subtasks', { body: { title: 'x' } }), 404, 'task-not-found');
    expect(await rowCounts(t.pool)).toEqual(before);
  });

  it('422 for a bad parent id or a blank title, 401 without a token; 400, 415 and 413 for a bad body; nothing written', async () => {
    const parent = await createTask(alice, project);
    const before = await rowCounts(t.pool);
    expect(expectProblem(await alice.request('POST', '/api/tasks/abc/subtasks', { body: { title: 'x' } }), 422, 'validation-failed').errors?.[0]?.pointer).toBe('/path/task_id');
    expect(expectProblem(await alice.request('POST', `/api/tasks/${parent.id}/subtasks`, { body: { title: '  ' } }), 422, 'validation-failed').errors?.[0]?.pointer).toBe('/body/title');
    expectProblem(await t.request('POST', `/api/tasks/${parent.id}/subtasks`, { body: { title: 'x' } }), 401, 'unauthorized');
    expect(await rowCounts(t.pool)).toEqual(before);
    await expectBodyRefusals(t, alice, 'POST', `/api/tasks/${parent.id}/subtasks`);
  });

  it('an Idempotency-Key retry returns the original subtask without creating another', async () => {
    const parent = await createTask(alice, project);
    const headers = { 'Idempotency-Key': `subtask-${parent.id}` };
    const first = await alice.request<Task>('POST', `/api/tasks/${parent.id}/subtasks`, { body: { title: 'Once' }, headers });
    expect(first.status).toBe(201);
    const before = await rowCounts(t.pool);
    const again = await alice.request<Task>('POST', `/api/tasks/${parent.id}/subtasks`, { body: { title: 'Once' }, headers });
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    expect(await rowCounts(t.pool)).toEqual(before);
  });
});
