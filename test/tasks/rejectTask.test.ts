/** rejectTask: review → in_progress with the reason; 409 outside review, 422 for a bad reason, 404. */
import type { TestApp } from '../helpers/app.js';
import {
  expectBodyRefusals,
  setupTestApp,
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
  approve,
  reject,
  whileChangeHeld,
} from '../helpers/factories.js';


let t: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let carol: SignedIn; // not a member
let project: number;

beforeAll(async () => ({ t, alice, bob, carol, project } = await setupTestApp()));
afterAll(() => t.close());

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
    expect((await taskAudit(t, task.id)).at(-1)).toMatchObject({
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
    const counts = await rowCounts(t.pool);
    expect(expectProblem(await reject(alice, task.id, 'no'), 409, 'not-in-review').detail).toContain(status);
    expect(await rowCounts(t.pool)).toEqual(counts);
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

  it('412 with a stale If-Match, 401 without a token; 400, 415 and 413 for a bad body; nothing written', async () => {
    const task = await createTask(alice, project);
    await forceStatus(t, task.id, 'review');
    await alice.request('PATCH', `/api/tasks/${task.id}`, { body: { description: 'bump' } }); // version 2
    const counts = await rowCounts(t.pool);
    expectProblem(await alice.request('POST', `/api/tasks/${task.id}/reject`, { body: { reason: 'no' }, headers: { 'If-Match': '"1"' } }), 412, 'precondition-failed');
    expectProblem(await t.request('POST', `/api/tasks/${task.id}/reject`, { body: { reason: 'no' } }), 401, 'unauthorized');
    expect(await rowCounts(t.pool)).toEqual(counts);
    await expectBodyRefusals(t, alice, 'POST', `/api/tasks/${task.id}/reject`);
    expect(await taskRow(t, task.id)).toMatchObject({ status: 'review', version: 2 });
  });

  it('a stale If-Match is a 412 before a status that is not review is a 409', async () => {
    const task = await createTask(alice, project); // pending, version 1
    expectProblem(await alice.request('POST', `/api/tasks/${task.id}/reject`, { body: { reason: 'no' }, headers: { 'If-Match': '"9"' } }), 412, 'precondition-failed');
    expectProblem(await alice.request('POST', `/api/tasks/${task.id}/reject`, { body: { reason: 'no' }, headers: { 'If-Match': '"1"' } }), 409, 'not-in-review');
  });

  it('reviewers racing on one task: one approval or rejection wins, every other answer is 409 not-in-review', async () => {
    for (let round = 0; round < 5; round++) {
      const task = await createTask(alice, project);
      await forceStatus(t, task.id, 'review');
      const answers = await Promise.all([reject(bob, task.id, 'not yet'), approve(alice, task.id), reject(alice, task.id, 'no'), approve(bob, task.id)]);
      const won = answers.filter((r) => r.status === 200);
      expect(won).toHaveLength(1);
      for (const lost of answers.filter((r) => r.status !== 200)) expectProblem(lost, 409, 'not-in-review');
      const entries = (await taskAudit(t, task.id)).filter((e) => e.action === 'approved' || e.action === 'rejected');
      expect(entries).toHaveLength(1);
      expect(await taskRow(t, task.id)).toMatchObject({ status: (won[0]!.body as Task).status, version: 2 });
    }
  });

  it('rejections waiting on the row lock are judged on the state it was released with: approved meanwhile, all 409', async () => {
    const task = await createTask(alice, project);
    await forceStatus(t, task.id, 'review');
    const answers = await whileChangeHeld(t, {
      text: `update task set status = 'completed', completed_at = now(), progress_percent = 100, version = version + 1 where id = $1`, values: [task.id],
    }, 3, () => [reject(bob, task.id, 'late'), reject(alice, task.id, 'late too'), reject(bob, task.id, 'again')]);
    for (const refused of answers) expect(expectProblem(refused, 409, 'not-in-review').detail).toContain('completed');
    expect(await taskRow(t, task.id)).toMatchObject({ status: 'completed', version: 2 });
    expect((await taskAudit(t, task.id)).map((a) => a.action)).toEqual(['task_created']);
  });
});
