/** updateTask, and If-Match on every write of a task. */
import type { TestApp } from '../helpers/app.js';
import {
  setupTestApp,
  signIn,
  actionsOf,
  rowCounts,
  taskAudit,
  taskRow,
  createTask,
  forceStatus,
  expectProblem,
  type SignedIn,
  type Task,
} from '../helpers/factories.js';

const patch = (user: SignedIn, id: number, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  user.request<Task>('PATCH', `/api/tasks/${id}`, { body, headers });

let t: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let carol: SignedIn;
let project: number;

beforeAll(async () => ({ t, alice, bob, carol, project } = await setupTestApp()));
afterAll(() => t.close());

describe('updateTask', () => {
  it('changes the given fields only, bumps the version, and records exactly what changed', async () => {
    const task = await createTask(alice, project, {
      title: 'Draft',
      description: 'Old',
      priority: 'low',
      tags: ['a'],
      due_date: '2026-02-01T00:00:00Z',
      assignee_id: bob.workerId,
    });
    const res = await patch(bob, task.id, {
      title: '  Draft the announcement ',
      priority: 'critical',
      tags: ['launch', 'copy'],
      due_date: '2026-02-05T13:00:00+01:00',
      recurrence: { pattern: 'monthly', max_occurrences: 3 },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"2"');
    expect(res.body).toMatchObject({
      title: 'Draft the announcement',
      description: 'Old',
      priority: 'critical',
      tags: ['launch', 'copy'],
      due_date: '2026-02-05T12:00:00.000Z',
      recurrence: { pattern: 'monthly', max_occurrences: 3 },
      is_recurring: true,
      assignee_id: bob.workerId,
      status: 'pending',
    });
    expect(res.body.updated_at > task.updated_at).toBe(true);
    const audit = await taskAudit(t, task.id);
    expect(audit.at(-1)).toMatchObject({ action: 'task_updated', actor_id: bob.workerId });
    expect(audit.at(-1)!.details).toEqual({
      title: { before: 'Draft', after: 'Draft the announcement' },
      priority: { before: 'low', after: 'critical' },
      tags: { before: ['a'], after: ['launch', 'copy'] },
      due_date: { before: '2026-02-01T00:00:00.000Z', after: '2026-02-05T12:00:00.000Z' },
      recurrence: { before: null, after: { pattern: 'monthly', max_occurrences: 3 } },
    });
  });

  it('null clears description, due_date and recurrence; [] clears tags', async () => {
    const task = await createTask(alice, project, { description: 'x', due_date: '2026-02-01T00:00:00Z', recurrence: { pattern: 'daily' }, tags: ['a'] });
    const res = await patch(alice, task.id, { description: null, due_date: null, recurrence: null, tags: [] });
    expect(res.body).toMatchObject({ description: null, due_date: null, recurrence: null, is_recurring: false, tags: [] });
    expect(await taskRow(t, task.id)).toMatchObject({ description: null, due_date: null, recurrence_pattern: null, recurrence_max: null, tags: [] });
    // The entry's "after" is null for a cleared field, as the reply shows it.
    expect((await taskAudit(t, task.id)).at(-1)!.details).toEqual({
      description: { before: 'x', after: null },
      tags: { before: ['a'], after: [] },
      due_date: { before: '2026-02-01T00:00:00.000Z', after: null },
      recurrence: { before: { pattern: 'daily', max_occurrences: null }, after: null },
    });
  });

  it('an edit that changes nothing is not a change: same version, no audit entry', async () => {
    const task = await createTask(alice, project, { title: 'Same', priority: 'high' });
    const res = await patch(alice, task.id, { title: ' Same ', priority: 'high' });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"1"');
    expect(res.body.updated_at).toBe(task.updated_at);
    expect(await actionsOf(t, task.id)).toEqual(['task_created']);
  });

  it.each([
    ['an empty body', {}, '/body'],
    ['a blank title', { title: '  ' }, '/body/title'],
    ['status (has its own operation)', { status: 'completed' }, '/body/status'],
    ['assignee_id (has its own operation)', { assignee_id: 1 }, '/body/assignee_id'],
    ['a null title', { title: null }, '/body/title'],
    ['a null priority', { priority: null }, '/body/priority'],
    ['duplicate tags', { tags: ['a', 'a'] }, '/body/tags'],
  ])('422 for %s; nothing written', async (_name, body, pointer) => {
    const task = await createTask(alice, project);
    const counts = await rowCounts(t.pool);
    expect(expectProblem(await patch(alice, task.id, body), 422, 'validation-failed').errors?.map((e) => e.pointer)).toContain(pointer);
    expect(await taskRow(t, task.id)).toMatchObject({ version: 1 });
    expect(await rowCounts(t.pool)).toEqual(counts);
  });

  it('404 for a missing task', async () => {
    expectProblem(await patch(alice, 999999, { title: 'x' }), 404, 'task-not-found');
  });
});

describe('If-Match on every write', () => {
  // [operation, write, the status the task must be in for the write to be allowed]
  type Write = [string, (id: number, headers: Record<string, string>) => ReturnType<SignedIn['request']>, string | null];
  const writes: Write[] = [
    ['updateTask', (id, headers) => alice.request('PATCH', `/api/tasks/${id}`, { body: { title: 'Changed' }, headers }), null],
    ['deleteTask', (id, headers) => alice.request('DELETE', `/api/tasks/${id}`, { headers }), null],
    ['updateTaskStatus', (id, headers) => alice.request('PATCH', `/api/tasks/${id}/status`, { body: { status: 'blocked' }, headers }), null],
    ['updateTaskProgress', (id, headers) => alice.request('PATCH', `/api/tasks/${id}/progress`, { body: { progress_percent: 5 }, headers }), 'in_progress'],
    ['assignTask', (id, headers) => alice.request('PATCH', `/api/tasks/${id}/assign`, { body: { assignee_id: bob.workerId }, headers }), null],
    ['approveTask', (id, headers) => alice.request('POST', `/api/tasks/${id}/approve`, { headers }), 'review'],
    ['rejectTask', (id, headers) => alice.request('POST', `/api/tasks/${id}/reject`, { body: { reason: 'no' }, headers }), 'review'],
  ];

  it.each(writes)('%s: 412 with a stale ETag and nothing written; the current ETag (or *) succeeds', async (_op, write, status) => {
    const task = await createTask(alice, project);
    if (status) await forceStatus(t, task.id, status);
    await alice.request('PATCH', `/api/tasks/${task.id}`, { body: { description: 'bump' } }); // version 2 now
    const before = await taskRow(t, task.id);
    const counts = await rowCounts(t.pool);
    const stale = await write(task.id, { 'If-Match': '"1"' });
    expectProblem(stale, 412, 'precondition-failed');
    expect(await taskRow(t, task.id)).toEqual(before);
    expect(await rowCounts(t.pool)).toEqual(counts);
    const current = await write(task.id, { 'If-Match': `"${before!.version}"` });
    expect([200, 204]).toContain(current.status);
  });

  it('accepts * and a list that contains the current ETag', async () => {
    const task = await createTask(alice, project);
    expect((await patch(alice, task.id, { title: 'One' }, { 'If-Match': '*' })).status).toBe(200);
    expect((await patch(alice, task.id, { title: 'Two' }, { 'If-Match': '"9", "2"' })).status).toBe(200);
  });

  it('of several concurrent writers holding the same ETag exactly one wins', async () => {
    const task = await createTask(alice, project);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => patch(alice, task.id, { title: `Writer ${i}` }, { 'If-Match': '"1"' })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, ...Array(7).fill(412)]);
    expect(await taskRow(t, task.id)).toMatchObject({ version: 2 });
    expect(await actionsOf(t, task.id)).toEqual(['task_created', 'task_updated']);
  });

  it('a 404 wins over a 412: a task the caller cannot see says nothing about its version', async () => {
    const task = await createTask(alice, project);
    const carol = await signIn(t, 'carol');
    expectProblem(await carol.request('PATCH', `/api/tasks/${task.id}`, { body: { title: 'x' }, headers: { 'If-Match': '"7"' } }), 404, 'task-not-found');
  });
});
