/** updateTaskProgress: progress and its note while in progress; 409 otherwise, 422 and 404. */
import type { TestApp } from '../helpers/app.js';
import {
  expectBodyRefusals,
  setupTestApp,
  actionsOf,
  rowCounts,
  taskAudit,
  taskRow,
  createTask,
  setStatus,
  forceStatus,
  expectProblem,
  type SignedIn,
  type Task,
  progress,
} from '../helpers/factories.js';


let t: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let carol: SignedIn; // not a member
let project: number;

beforeAll(async () => ({ t, alice, bob, carol, project } = await setupTestApp()));
afterAll(() => t.close());

describe('updateTaskProgress', () => {
  it('sets progress while in progress and records before/after with the note', async () => {
    const task = await createTask(alice, project);
    await setStatus(alice, task.id, 'in_progress');
    const res = await progress(bob, task.id, { progress_percent: 60, note: 'First draft done' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ progress_percent: 60, status: 'in_progress' });
    expect(res.headers.get('etag')).toBe('"3"');
    await progress(bob, task.id, { progress_percent: 80 });
    const audit = await taskAudit(t, task.id);
    expect(audit.slice(-2)).toEqual([
      expect.objectContaining({ action: 'progress_updated', actor_id: bob.workerId, details: { progress_percent: { before: 0, after: 60 }, note: 'First draft done' } }),
      expect.objectContaining({ action: 'progress_updated', details: { progress_percent: { before: 60, after: 80 } } }),
    ]);
  });

  it('the latest note is a field of the task; a report without a note keeps it', async () => {
    const task = await createTask(alice, project);
    expect(task.last_progress_note).toBeNull();
    await setStatus(alice, task.id, 'in_progress');
    const noted = await progress(bob, task.id, { progress_percent: 30, note: 'Outline agreed' });
    expect(noted.body.last_progress_note).toEqual({ note: 'Outline agreed', noted_at: noted.body.updated_at });
    const silent = await progress(bob, task.id, { progress_percent: 50 });
    expect(silent.body.progress_percent).toBe(50);
    expect(silent.body.last_progress_note).toEqual(noted.body.last_progress_note);
    const newer = await progress(alice, task.id, { progress_percent: 70, note: 'First draft done' });
    expect(newer.body.last_progress_note).toEqual({ note: 'First draft done', noted_at: newer.body.updated_at });
    expect((await bob.request<Task>('GET', `/api/tasks/${task.id}`)).body.last_progress_note).toEqual(newer.body.last_progress_note);
  });

  it.each(['pending', 'review', 'completed', 'blocked'])('409 not-in-progress while %s; nothing written', async (status) => {
    const task = await createTask(alice, project);
    await forceStatus(t, task.id, status);
    const before = await taskRow(t, task.id);
    const counts = await rowCounts(t.pool);
    const problem = expectProblem(await progress(alice, task.id, { progress_percent: 10 }), 409, 'not-in-progress');
    expect(problem.detail).toContain(status);
    expect(await taskRow(t, task.id)).toEqual(before);
    expect(await rowCounts(t.pool)).toEqual(counts);
  });

  it.each([
    [{ progress_percent: 101 }, '/body/progress_percent'],
    [{ progress_percent: -1 }, '/body/progress_percent'],
    [{ progress_percent: 5.5 }, '/body/progress_percent'],
    [{}, '/body/progress_percent'],
    [{ progress_percent: 5, note: 'x'.repeat(501) }, '/body/note'],
  ])('422 for %j', async (body, pointer) => {
    const task = await createTask(alice, project);
    await setStatus(alice, task.id, 'in_progress');
    expect(expectProblem(await progress(alice, task.id, body), 422, 'validation-failed').errors?.map((e) => e.pointer)).toContain(pointer);
  });

  it('404 for a non-member', async () => {
    const task = await createTask(alice, project);
    await setStatus(alice, task.id, 'in_progress');
    expectProblem(await progress(carol, task.id, { progress_percent: 10 }), 404, 'task-not-found');
    expect(await actionsOf(t, task.id)).toEqual(['task_created', 'status_changed']);
  });

  it('412 with a stale If-Match, 401 without a token; 400, 415 and 413 for a body that is not JSON or too large', async () => {
    const task = await createTask(alice, project);
    await setStatus(alice, task.id, 'in_progress'); // version 2
    const counts = await rowCounts(t.pool);
    expectProblem(await alice.request('PATCH', `/api/tasks/${task.id}/progress`, { body: { progress_percent: 10 }, headers: { 'If-Match': '"1"' } }), 412, 'precondition-failed');
    expectProblem(await t.request('PATCH', `/api/tasks/${task.id}/progress`, { body: { progress_percent: 10 } }), 401, 'unauthorized');
    expect(await rowCounts(t.pool)).toEqual(counts);
    await expectBodyRefusals(t, alice, 'PATCH', `/api/tasks/${task.id}/progress`);
    expect(await taskRow(t, task.id)).toMatchObject({ progress_percent: 0, version: 2 });
  });
});
