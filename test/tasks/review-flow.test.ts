/** The work of a task: updateTaskProgress, assignTask, and the review decisions approveTask and rejectTask. */
import { startTestApp, type TestApp } from '../helpers/app.js';
import {
  actionsOf,
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

const progress = (user: SignedIn, id: number, body: Record<string, unknown>) =>
  user.request<Task>('PATCH', `/api/tasks/${id}/progress`, { body });
const assign = (user: SignedIn, id: number, assigneeId: number | null) =>
  user.request<Task>('PATCH', `/api/tasks/${id}/assign`, { body: { assignee_id: assigneeId } });
const approve = (user: SignedIn, id: number) => user.request<Task>('POST', `/api/tasks/${id}/approve`);
const reject = (user: SignedIn, id: number, reason: unknown) => user.request<Task>('POST', `/api/tasks/${id}/reject`, { body: { reason } });

describe('updateTaskProgress', () => {
  it('sets progress while in progress and records before/after with the note', async () => {
    const task = await createTask(alice, project);
    await setStatus(alice, task.id, 'in_progress');
    const res = await progress(bob, task.id, { progress_percent: 60, note: 'First draft done' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ progress_percent: 60, status: 'in_progress' });
    expect(res.headers.get('etag')).toBe('"3"');
    await progress(bob, task.id, { progress_percent: 80 });
    const audit = await auditOf(t, task.id);
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
    const counts = await rowCounts(t);
    const problem = expectProblem(await progress(alice, task.id, { progress_percent: 10 }), 409, 'not-in-progress');
    expect(problem.detail).toContain(status);
    expect(await taskRow(t, task.id)).toEqual(before);
    expect(await rowCounts(t)).toEqual(counts);
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
});

describe('assignTask', () => {
  it('assigns a member, reassigns, unassigns — each with an assigned entry', async () => {
    const task = await createTask(alice, project);
    const res = await assign(alice, task.id, bob.workerId);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ assignee_id: bob.workerId, assignee_handle: '@bob' });
    expect(res.headers.get('etag')).toBe('"2"');
    expect((await assign(alice, task.id, alice.workerId)).body).toMatchObject({ assignee_id: alice.workerId, assignee_handle: '@alice' });
    expect((await assign(alice, task.id, null)).body).toMatchObject({ assignee_id: null, assignee_handle: null });
    expect((await auditOf(t, task.id)).slice(1).map((a) => a.details)).toEqual([
      { assignee_id: { before: null, after: bob.workerId } },
      { assignee_id: { before: bob.workerId, after: alice.workerId } },
      { assignee_id: { before: alice.workerId, after: null } },
    ]);
    expect(await taskRow(t, task.id)).toMatchObject({ assignee_id: null, version: 4 });
  });

  it('422 at /body/assignee_id for a non-member or a worker that does not exist; nothing written', async () => {
    const task = await createTask(alice, project, { assignee_id: bob.workerId });
    const counts = await rowCounts(t);
    for (const id of [carol.workerId, 999999]) {
      const problem = expectProblem(await assign(alice, task.id, id), 422, 'validation-failed');
      expect(problem.errors).toEqual([{ pointer: '/body/assignee_id', message: expect.stringContaining(String(id)) }]);
    }
    expect(expectProblem(await alice.request('PATCH', `/api/tasks/${task.id}/assign`, { body: {} }), 422, 'validation-failed').errors?.[0]?.pointer).toBe(
      '/body/assignee_id',
    );
    expect(await taskRow(t, task.id)).toMatchObject({ assignee_id: bob.workerId, version: 1 });
    expect(await rowCounts(t)).toEqual(counts);
  });

  it('404 for a non-member, even assigning themselves', async () => {
    const task = await createTask(alice, project);
    expectProblem(await assign(carol, task.id, carol.workerId), 404, 'task-not-found');
  });
});

describe('approveTask', () => {
  it('review → completed with progress 100 and completed_at; one approved entry', async () => {
    const task = await createTask(alice, project, { assignee_id: bob.workerId });
    await setStatus(bob, task.id, 'in_progress');
    await setStatus(bob, task.id, 'review');
    const res = await approve(alice, task.id);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"4"');
    expect(res.body).toMatchObject({ status: 'completed', progress_percent: 100, completed_at: expect.any(String) });
    expect((await auditOf(t, task.id)).at(-1)).toMatchObject({
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
    const counts = await rowCounts(t);
    expect(expectProblem(await approve(alice, task.id), 409, 'not-in-review').detail).toContain(status);
    expect(await taskRow(t, task.id)).toEqual(before);
    expect(await rowCounts(t)).toEqual(counts);
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
});

describe('rejectTask', () => {
  it('review → in_progress, the reason in the rejected entry; progress and started_at stay', async () => {
    const task = await createTask(alice, project);
    await setStatus(alice, task.id, 'in_progress');
    await progress(alice, task.id, { progress_percent: 90 });
    const started = (await taskRow(t, task.id))!.started_at;
    await setStatus(alice, task.id, 'review');
    const res = await reject(bob, task.id, 'Two links still point to staging');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'in_progress', progress_percent: 90, completed_at: null });
    expect(await taskRow(t, task.id)).toMatchObject({ started_at: started });
    expect((await auditOf(t, task.id)).at(-1)).toMatchObject({
      action: 'rejected',
      actor_id: bob.workerId,
      details: { reason: 'Two links still point to staging', status: { before: 'review', after: 'in_progress' } },
    });
  });

  it('the latest rejection is a field of the task: reason, reviewer and time; it stays after a later approval', async () => {
    const task = await createTask(alice, project);
    expect(task.last_rejection).toBeNull();
    await setStatus(alice, task.id, 'in_progress');
    await setStatus(alice, task.id, 'review');
    const first = await reject(bob, task.id, 'Two links still point to staging');
    expect(first.body.last_rejection).toEqual({
      reason: 'Two links still point to staging',
      rejected_by_id: bob.workerId,
      rejected_by_handle: '@bob',
      rejected_at: first.body.updated_at,
    });
    await setStatus(alice, task.id, 'review');
    const second = await reject(alice, task.id, 'The pricing claim needs a source');
    expect(second.body.last_rejection).toMatchObject({ reason: 'The pricing claim needs a source', rejected_by_id: alice.workerId, rejected_by_handle: '@alice' });
    await setStatus(alice, task.id, 'review');
    const approved = await approve(bob, task.id);
    expect(approved.body.status).toBe('completed');
    expect(approved.body.last_rejection).toEqual(second.body.last_rejection);
    expect((await alice.request<Task>('GET', `/api/tasks/${task.id}`)).body.last_rejection).toEqual(second.body.last_rejection);
  });

  it.each(['pending', 'in_progress', 'completed', 'blocked'])('409 not-in-review from %s; nothing written', async (status) => {
    const task = await createTask(alice, project);
    await forceStatus(t, task.id, status);
    const counts = await rowCounts(t);
    expect(expectProblem(await reject(alice, task.id, 'no'), 409, 'not-in-review').detail).toContain(status);
    expect(await rowCounts(t)).toEqual(counts);
  });

  it.each([[''], ['   '], ['x'.repeat(501)], [null]])('422 at /body/reason for %j', async (reason) => {
    const task = await createTask(alice, project);
    await forceStatus(t, task.id, 'review');
    expect(expectProblem(await reject(alice, task.id, reason), 422, 'validation-failed').errors?.[0]?.pointer).toBe('/body/reason');
    expect(await taskRow(t, task.id)).toMatchObject({ status: 'review' });
  });

  it('404 for a non-member', async () => {
    const task = await createTask(alice, project);
    await forceStatus(t, task.id, 'review');
    expectProblem(await reject(carol, task.id, 'mine now'), 404, 'task-not-found');
  });
});
