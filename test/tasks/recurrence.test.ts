/** Recurring tasks: completing an occurrence spawns the next one exactly once, until max_occurrences. */
import { sql } from 'slonik';
import { z } from 'zod';
import type { TestApp } from '../helpers/app.js';
import {
  setupTestApp,
  actionsOf,
  taskAudit,
  createSubtask,
  createTask,
  expectProblem,
  forceStatus,
  setStatus,
  spawnedFrom,
  taskRow,
  type SignedIn,
  type Task,
} from '../helpers/factories.js';

let t: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let project: number;

beforeAll(async () => ({ t, alice, bob, project } = await setupTestApp()));
afterAll(() => t.close());

const seriesOf = (rootId: number) =>
  t.pool.anyFirst(sql.type(z.object({ id: z.number() }))`
    select id from task where id = ${rootId} or recurring_root_id = ${rootId} order by id`);

/** Completes the newest occurrence of a series and returns the one it spawned, if any. */
async function completeLatest(rootId: number): Promise<number | undefined> {
  const latest = (await seriesOf(rootId)).at(-1)!;
  expect((await setStatus(alice, latest, 'completed')).status).toBe(200);
  return (await spawnedFrom(t, latest))[0]?.id;
}

describe('spawning the next occurrence', () => {
  it('completing a recurring task creates a pending copy due one interval later, audited as recurrence_spawned', async () => {
    const task = await createTask(alice, project, {
      title: 'Publish the changelog',
      description: 'Every week',
      priority: 'high',
      tags: ['changelog'],
      assignee_id: bob.workerId,
      due_date: '2026-02-02T16:00:00Z',
      recurrence: { pattern: 'weekly', max_occurrences: 12 },
    });
    await setStatus(bob, task.id, 'in_progress');
    await bob.request('PATCH', `/api/tasks/${task.id}/progress`, { body: { progress_percent: 50 } });
    const done = await setStatus(bob, task.id, 'completed');
    expect(done.body).toMatchObject({ status: 'completed', spawn_count: 1, recurring_root_id: null });

    const [next] = await spawnedFrom(t, task.id);
    expect(next).toMatchObject({
      project_id: project,
      parent_task_id: null,
      title: 'Publish the changelog',
      description: 'Every week',
      priority: 'high',
      tags: ['changelog'],
      assignee_id: bob.workerId,
      status: 'pending',
      progress_percent: 0,
      started_at: null,
      completed_at: null,
      due_date: '2026-02-09T16:00:00.000Z',
      recurrence_pattern: 'weekly',
      recurrence_max: 12,
      recurring_root_id: task.id,
      spawned_from_id: task.id,
      spawn_count: 0,
      created_by_id: alice.workerId,
    });
    const res = await alice.request<Task>('GET', `/api/tasks/${next!.id}`);
    expect(res.body).toMatchObject({ is_recurring: true, recurrence: { pattern: 'weekly', max_occurrences: 12 }, recurring_root_id: task.id });
    expect(await taskAudit(t, next!.id)).toEqual([
      expect.objectContaining({
        action: 'recurrence_spawned',
        actor_id: bob.workerId,
        project_id: project,
        details: { spawned_from_id: task.id, recurring_root_id: task.id, due_date: '2026-02-09T16:00:00.000Z', occurrence: 2 },
      }),
    ]);
    expect(await actionsOf(t, task.id)).toEqual(['task_created', 'status_changed', 'progress_updated', 'status_changed']);
  });

  it.each([
    ['hourly', '2026-01-31T09:00:00Z', '2026-01-31T10:00:00.000Z'],
    ['daily', '2026-01-31T09:00:00Z', '2026-02-01T09:00:00.000Z'],
    ['weekly', '2026-12-29T09:00:00Z', '2027-01-05T09:00:00.000Z'],
    ['monthly', '2026-01-15T09:00:00Z', '2026-02-15T09:00:00.000Z'],
    ['monthly', '2026-01-31T09:00:00Z', '2026-02-28T09:00:00.000Z'],
    ['monthly', '2028-01-31T09:00:00Z', '2028-02-29T09:00:00.000Z'],
    ['monthly', '2026-12-31T23:00:00Z', '2027-01-31T23:00:00.000Z'],
  ])('%s from %s is due %s', async (pattern, due, expected) => {
    const task = await createTask(alice, project, { due_date: due, recurrence: { pattern } });
    await setStatus(alice, task.id, 'completed');
    expect((await spawnedFrom(t, task.id))[0]?.due_date).toBe(expected);
  });

  it('without a due date, the next is due one interval after the completion', async () => {
    const task = await createTask(alice, project, { recurrence: { pattern: 'daily' } });
    const done = (await setStatus(alice, task.id, 'completed')).body;
    const next = (await spawnedFrom(t, task.id))[0]!;
    expect(Date.parse(next.due_date!) - Date.parse(done.completed_at!)).toBe(24 * 3600 * 1000);
  });

  it('a monthly series keeps stepping from the previous due date: Jan 31 → Feb 28 → Mar 28', async () => {
    const root = await createTask(alice, project, { due_date: '2026-01-31T09:00:00Z', recurrence: { pattern: 'monthly' } });
    const second = await completeLatest(root.id);
    const third = await completeLatest(root.id);
    expect((await taskRow(t, second!))!.due_date).toBe('2026-02-28T09:00:00.000Z');
    expect((await taskRow(t, third!))!.due_date).toBe('2026-03-28T09:00:00.000Z');
    expect(await taskRow(t, third!)).toMatchObject({ recurring_root_id: root.id, spawned_from_id: second });
  });

  it('approving a recurring task in review spawns the next occurrence too', async () => {
    const task = await createTask(alice, project, { recurrence: { pattern: 'daily' } });
    await forceStatus(t, task.id, 'review');
    expect((await alice.request('POST', `/api/tasks/${task.id}/approve`)).status).toBe(200);
    expect(await spawnedFrom(t, task.id)).toHaveLength(1);
  });

  it('a one-off task spawns nothing; nor does a recurring task that cannot complete (open subtask)', async () => {
    const oneOff = await createTask(alice, project);
    await setStatus(alice, oneOff.id, 'completed');
    expect(await spawnedFrom(t, oneOff.id)).toEqual([]);
    const recurring = await createTask(alice, project, { recurrence: { pattern: 'daily' } });
    await createSubtask(alice, recurring.id);
    expectProblem(await setStatus(alice, recurring.id, 'completed'), 409, 'open-subtasks');
    expect(await spawnedFrom(t, recurring.id)).toEqual([]);
    expect(await taskRow(t, recurring.id)).toMatchObject({ spawn_count: 0, status: 'pending' });
  });

  it('the copy has no subtasks of the original, and a recurring subtask’s next occurrence is top-level', async () => {
    const parent = await createTask(alice, project, { title: 'Parent' });
    const recurringSub = await createSubtask(alice, parent.id, { recurrence: { pattern: 'daily' } });
    const step = await createSubtask(alice, recurringSub.id, { title: 'Step' });
    await setStatus(alice, step.id, 'completed');
    expect((await setStatus(alice, recurringSub.id, 'completed')).status).toBe(200);
    const [next] = await spawnedFrom(t, recurringSub.id);
    expect(next).toMatchObject({ parent_task_id: null, title: 'A subtask' });
    expect((await alice.request<Task>('GET', `/api/tasks/${next!.id}`)).body).toMatchObject({ subtask_count: 0, subtasks: [] });
  });
});

describe('exactly once', () => {
  it('reopening a completed occurrence and completing it again spawns nothing new', async () => {
    const task = await createTask(alice, project, { recurrence: { pattern: 'daily' } });
    await setStatus(alice, task.id, 'completed');
    await setStatus(alice, task.id, 'review');
    const again = await setStatus(alice, task.id, 'completed');
    expect(again.status).toBe(200);
    expect(again.body.spawn_count).toBe(1);
    expect(await spawnedFrom(t, task.id)).toHaveLength(1);
    expect(await seriesOf(task.id)).toHaveLength(2);
  });

  it('20 parallel completions of one recurring task: one 200, one next occurrence, spawn_count 1', async () => {
    const task = await createTask(alice, project, { recurrence: { pattern: 'hourly' }, due_date: '2026-03-01T00:00:00Z' });
    await setStatus(alice, task.id, 'in_progress');
    const results = await Promise.all(Array.from({ length: 20 }, () => setStatus(alice, task.id, 'completed')));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19); // completed → completed is not a transition
    for (const r of results.filter((x) => x.status === 409)) expect(r.body).toMatchObject({ type: expect.stringContaining('invalid-transition') });
    expect(await spawnedFrom(t, task.id)).toHaveLength(1);
    expect(await taskRow(t, task.id)).toMatchObject({ spawn_count: 1, status: 'completed' });
    const spawnAudits = await t.pool.anyFirst(sql.type(z.object({ n: z.number() }))`
      select count(*)::int as n from audit_log where action = 'recurrence_spawned' and (details->>'spawned_from_id')::bigint = ${task.id}`);
    expect(spawnAudits).toEqual([1]);
  });

  it('20 parallel approvals of one recurring task in review spawn one occurrence', async () => {
    const task = await createTask(alice, project, { recurrence: { pattern: 'daily' } });
    await forceStatus(t, task.id, 'review');
    const results = await Promise.all(Array.from({ length: 20 }, () => alice.request('POST', `/api/tasks/${task.id}/approve`)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(19);
    expect(await spawnedFrom(t, task.id)).toHaveLength(1);
  });

  it('the database refuses a second occurrence spawned from the same task (task_spawned_from_key)', async () => {
    const task = await createTask(alice, project, { recurrence: { pattern: 'daily' } });
    await setStatus(alice, task.id, 'completed');
    await expect(
      t.pool.query(sql.unsafe`
        insert into task (tenant_id, project_id, title, created_by_id, spawned_from_id)
        values (${alice.tenant}, ${project}, 'dup', ${alice.workerId}, ${task.id})`),
    ).rejects.toMatchObject({ constraint: 'task_spawned_from_key' });
  });
});

describe('max_occurrences counts every occurrence, the first included', () => {
  it.each([
    [1, 1],
    [2, 2],
    [3, 3],
  ])('max_occurrences %i: the series ends with %i tasks, the root counting the spawns', async (max, total) => {
    const root = await createTask(alice, project, { recurrence: { pattern: 'daily', max_occurrences: max } });
    const spawned = [];
    for (let i = 0; i < max; i++) spawned.push(await completeLatest(root.id));
    expect(spawned.at(-1)).toBeUndefined(); // completing the last occurrence spawns nothing
    const series = await seriesOf(root.id);
    expect(series).toHaveLength(total);
    expect(await taskRow(t, root.id)).toMatchObject({ spawn_count: total - 1 });
    const rootBody = (await alice.request<Task>('GET', `/api/tasks/${root.id}`)).body;
    expect(rootBody.spawn_count).toBe(total - 1);
    // Every occurrence is completed (the last one too, spawning nothing more).
    for (const id of series) expect(await taskRow(t, id)).toMatchObject({ status: 'completed' });
  });

  it('a series without max_occurrences keeps going', async () => {
    const root = await createTask(alice, project, { recurrence: { pattern: 'hourly' } });
    for (let i = 0; i < 5; i++) expect(await completeLatest(root.id)).toBeDefined();
    expect(await seriesOf(root.id)).toHaveLength(6);
    expect(await taskRow(t, root.id)).toMatchObject({ spawn_count: 5 });
  });

  it('spawning moves the root’s ETag (spawn_count is part of it) when an occurrence completes', async () => {
    const root = await createTask(alice, project, { recurrence: { pattern: 'daily', max_occurrences: 5 } });
    const second = await completeLatest(root.id);
    const v = (await taskRow(t, root.id))!.version;
    await setStatus(alice, second!, 'completed');
    expect(await taskRow(t, root.id)).toMatchObject({ spawn_count: 2, version: v + 1 });
  });

  it('turning recurrence off on an occurrence ends the series there', async () => {
    const root = await createTask(alice, project, { recurrence: { pattern: 'daily' } });
    const second = await completeLatest(root.id);
    await alice.request('PATCH', `/api/tasks/${second}`, { body: { recurrence: null } });
    await setStatus(alice, second!, 'completed');
    expect(await spawnedFrom(t, second!)).toEqual([]);
  });
});

describe('deleting a series root while an occurrence completes', () => {
  // A deadlock would not fail either request: PostgreSQL aborts one transaction after deadlock_timeout and slonik
  // retries it. What gives it away is the wait, so each pair of requests must finish well within that timeout.
  it('never deadlocks: both succeed, and neither waits for deadlock detection', async () => {
    const timeout = await t.pool.oneFirst(sql.type(z.object({ ms: z.number() }))`
      select extract(epoch from current_setting('deadlock_timeout')::interval)::int * 1000 as ms`);
    for (let round = 0; round < 15; round++) {
      const root = await createTask(alice, project, { title: `Root ${round}`, recurrence: { pattern: 'daily' } });
      await setStatus(alice, root.id, 'completed');
      const [occurrence] = await spawnedFrom(t, root.id);
      const started = performance.now();
      const [deleted, completed] = await Promise.all([
        alice.request('DELETE', `/api/tasks/${root.id}`),
        setStatus(alice, occurrence!.id, 'completed'),
      ]);
      expect(performance.now() - started).toBeLessThan(timeout);
      expect([deleted.status, completed.status]).toEqual([204, 200]);
      expect(await spawnedFrom(t, occurrence!.id)).toHaveLength(1);
    }
  });
});
