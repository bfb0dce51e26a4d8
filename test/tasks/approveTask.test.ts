/** approveTask: review → completed; 409 outside review or with open subtasks, 404. */
import type { TestApp } from '../helpers/app.js';
import {
  setupTestApp,
  actionsOf,
  rowCounts,
  taskAudit,
  taskRow,
  createTask,
  createSubtask,
  setStatus,
  forceStatus,
  expectProblem,
  type SignedIn,
  type Task,
  approve,
} from '../helpers/factories.js';


let t: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let carol: SignedIn; // not a member
let project: number;

beforeAll(async () => ({ t, alice, bob, carol, project } = await setupTestApp()));
afterAll(() => t.close());

describe('approveTask', () => {
  it('review → completed with progress 100 and completed_at; one approved entry', async () => {
    const task = await createTask(alice, project, { assignee_id: bob.workerId });
    await setStatus(bob, task.id, 'in_progress');
    await setStatus(bob, task.id, 'review');
    const res = await approve(alice, task.id);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"4"');
    expect(res.body).toMatchObject({ status: 'completed', progress_percent: 100, completed_at: expect.any(String) });
    expect((await taskAudit(t, task.id)).at(-1)).toMatchObject({
      action: 'approved',
      actor_id: alice.workerId,
      details: { status: { before: 'review', after: 'completed' } },
    });
    expect(await actionsOf(t, task.id)).toEqual(['task_created', 'status_changed', 'status_changed', 'approved']);
  });

  it.each(['pending', 'in_progress', 'completed', 'blocked'])('409 not-in-review from %s; nothing written', async (status) => {
    const task = await createTask(alice, project);
    await forceStatus(t, task.id, status);
    const before = await taskRow(t, task.id);
    const counts = await rowCounts(t.pool);
    expect(expectProblem(await approve(alice, task.id), 409, 'not-in-review').detail).toContain(status);
    expect(await taskRow(t, task.id)).toEqual(before);
    expect(await rowCounts(t.pool)).toEqual(counts);
  });

  it('409 open-subtasks while a subtask is open', async () => {
    const task = await createTask(alice, project);
    await createSubtask(alice, task.id);
    await forceStatus(t, task.id, 'review');
    expectProblem(await approve(alice, task.id), 409, 'open-subtasks');
    expect(await taskRow(t, task.id)).toMatchObject({ status: 'review' });
  });

  it('takes no body and 404s for a non-member', async () => {
    const task = await createTask(alice, project);
    await forceStatus(t, task.id, 'review');
    expectProblem(await approve(carol, task.id), 404, 'task-not-found');
    expect(await taskRow(t, task.id)).toMatchObject({ status: 'review' });
  });

  it('412 with a stale If-Match, 422 for a bad id, 401 without a token; nothing written', async () => {
    const task = await createTask(alice, project);
    await forceStatus(t, task.id, 'review');
    await alice.request('PATCH', `/api/tasks/${task.id}`, { body: { description: 'bump' } }); // version 2
    const counts = await rowCounts(t.pool);
    expectProblem(await alice.request('POST', `/api/tasks/${task.id}/approve`, { headers: { 'If-Match': '"1"' } }), 412, 'precondition-failed');
    expect(expectProblem(await alice.request('POST', '/api/tasks/abc/approve'), 422, 'validation-failed').errors?.[0]?.pointer).toBe('/path/task_id');
    expectProblem(await t.request('POST', `/api/tasks/${task.id}/approve`), 401, 'unauthorized');
    expect(await rowCounts(t.pool)).toEqual(counts);
    expect(await taskRow(t, task.id)).toMatchObject({ status: 'review', version: 2 });
  });
});
