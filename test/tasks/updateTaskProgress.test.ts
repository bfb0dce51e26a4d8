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

  it('If-Match: the current ETag, a list naming it and * pass; a weak or unknown tag is a 412 and writes nothing', async () => {
    const task = await createTask(alice, project);
    await setStatus(alice, task.id, 'in_progress'); // version 2
    const report = (ifMatch: string, percent: number) =>
      alice.request<Task>('PATCH', `/api/tasks/${task.id}/progress`, { body: { progress_percent: percent }, headers: { 'If-Match': ifMatch } });
    expect((await report('"2"', 10)).status).toBe(200);
    expect((await report('"1", "3"', 20)).status).toBe(200);
    expect((await report('*', 30)).status).toBe(200);
    const counts = await rowCounts(t.pool);
    for (const stale of ['W/"5"', '"abc"', '"4" , W/"5"', '"05"']) {
      const problem = expectProblem(await report(stale, 40), 412, 'precondition-failed');
      expect(problem.detail).toContain('"5"'); // the current ETag, to read again
    }
    expect(await rowCounts(t.pool)).toEqual(counts);
    expect(await taskRow(t, task.id)).toMatchObject({ progress_percent: 30, version: 5 });
  });

  it('refusals come in one order: 404 before 412 before 409', async () => {
    const task = await createTask(alice, project); // pending, version 1
    expectProblem(await carol.request('PATCH', `/api/tasks/${task.id}/progress`, { body: { progress_percent: 10 }, headers: { 'If-Match': '"9"' } }), 404, 'task-not-found');
    expectProblem(await alice.request('PATCH', `/api/tasks/${task.id}/progress`, { body: { progress_percent: 10 }, headers: { 'If-Match': '"9"' } }), 412, 'precondition-failed');
    expectProblem(await alice.request('PATCH', `/api/tasks/${task.id}/progress`, { body: { progress_percent: 10 }, headers: { 'If-Match': '"1"' } }), 409, 'not-in-progress');
    expectProblem(await alice.request('PATCH', '/api/tasks/999999999/progress', { body: { progress_percent: 10 } }), 404, 'task-not-found');
    expect(await actionsOf(t, task.id)).toEqual(['task_created']);
  });

  it('concurrent reports are serialised: each entry\'s "before" is the previous entry\'s "after"', async () => {
    const task = await createTask(alice, project);
    await setStatus(alice, task.id, 'in_progress');
    const percents = Array.from({ length: 12 }, (_, i) => 5 + i * 7);
    const replies = await Promise.all(percents.map((p, i) => (i % 2 ? alice : bob).request<Task>('PATCH', `/api/tasks/${task.id}/progress`, { body: { progress_percent: p } })));
    expect(replies.map((r) => r.status)).toEqual(percents.map(() => 200));
    const entries = (await taskAudit(t, task.id)).filter((e) => e.action === 'progress_updated');
    expect(entries).toHaveLength(percents.length);
    let previous = 0;
    for (const entry of entries) {
      const change = (entry.details as { progress_percent: { before: number; after: number } }).progress_percent;
      expect(change.before).toBe(previous);
      previous = change.after;
    }
    expect(new Set(entries.map((e) => (e.details as { progress_percent: { after: number } }).progress_percent.after))).toEqual(new Set(percents));
    expect(await taskRow(t, task.id)).toMatchObject({ progress_percent: previous, version: 2 + percents.length });
  });
});
