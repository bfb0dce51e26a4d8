/** updateTaskStatus: the whole transition table through HTTP, the side effects, and the open-subtasks rule. */
import { sql } from 'slonik';
import { NEXT } from '../../src/tasks/workflow.js';
import type { TestApp } from '../helpers/app.js';
import {
  setupTestApp,
  taskAudit,
  createSubtask,
  createTask,
  expectProblem,
  forceStatus,
  newProject,
  rowCounts,
  setStatus,
  taskRow,
  whileChangeHeld,
  approve,
  type SignedIn,
} from '../helpers/factories.js';

let t: TestApp;
let alice: SignedIn;
let project: number;

beforeAll(async () => ({ t, alice, project } = await setupTestApp()));
afterAll(() => t.close());

const STATUSES = ['pending', 'in_progress', 'review', 'completed', 'blocked'] as const;
const TABLE = STATUSES.flatMap((from) => STATUSES.map((to) => [from, to, NEXT[from].includes(to)] as const));

describe('the transition table', () => {
  it('allows exactly the documented transitions', () => {
    expect(NEXT).toEqual({
      pending: ['in_progress', 'blocked', 'completed'],
      in_progress: ['review', 'completed', 'blocked'],
      review: ['in_progress', 'completed'],
      completed: ['review'],
      blocked: ['pending', 'in_progress'],
    });
  });

  it.each(TABLE)('%s → %s allowed: %s', async (from, to, allowed) => {
    const task = await createTask(alice, project, { title: `${from} → ${to}` });
    await forceStatus(t, task.id, from);
    const before = await taskRow(t, task.id);
    const res = await setStatus(alice, task.id, to);
    if (allowed) {
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: task.id, status: to });
      expect(res.headers.get('etag')).toBe(`"${before!.version + 1}"`);
      expect(await taskRow(t, task.id)).toMatchObject({ status: to, version: before!.version + 1 });
      expect((await taskAudit(t, task.id)).at(-1)).toMatchObject({
        action: 'status_changed',
        actor_id: alice.workerId,
        project_id: project,
        details: { status: { before: from, after: to } },
      });
    } else {
      const problem = expectProblem(res, 409, 'invalid-transition');
      expect(problem.detail).toContain(NEXT[from].join(', '));
      expect(await taskRow(t, task.id)).toEqual(before);
      expect((await taskAudit(t, task.id)).map((a) => a.action)).toEqual(['task_created']);
    }
  });
});

describe('concurrent moves', () => {
  it('of eight starts of one pending task, one wins and the others are refused from the state it left', async () => {
    const task = await createTask(alice, project, { title: 'Raced' });
    const answers = await Promise.all(Array.from({ length: 8 }, () => setStatus(alice, task.id, 'in_progress')));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409, 409, 409, 409, 409, 409]);
    for (const refused of answers.filter((a) => a.status === 409)) {
      expect(expectProblem(refused, 409, 'invalid-transition').detail).toContain('from in_progress');
    }
    expect(await taskRow(t, task.id)).toMatchObject({ status: 'in_progress', version: 2 });
    expect((await taskAudit(t, task.id)).map((a) => a.action)).toEqual(['task_created', 'status_changed']);
  });

  it('moves waiting on the row lock are judged on the state it was released with, not the one they first read', async () => {
    const task = await createTask(alice, project, { title: 'Held' });
    // completed → in_progress is not a move: each waiting start must see that
    const starts = await whileChangeHeld(t, {
      text: `update task set status = 'completed', completed_at = now(), progress_percent = 100, version = version + 1 where id = $1`, values: [task.id],
    }, 4, () => Array.from({ length: 4 }, () => setStatus(alice, task.id, 'in_progress')));
    for (const refused of starts) expect(expectProblem(refused, 409, 'invalid-transition').detail).toContain('from completed');
    expect(await taskRow(t, task.id)).toMatchObject({ status: 'completed', version: 2 });
    expect((await taskAudit(t, task.id)).map((a) => a.action)).toEqual(['task_created']);
  });

  it('a chain of moves in a row: each entry\'s "before" is the previous one\'s "after"', async () => {
    const task = await createTask(alice, project, { title: 'Chained' });
    const path = ['in_progress', 'blocked', 'pending', 'in_progress', 'review', 'in_progress'] as const;
    const answers = await Promise.all(path.map((to) => setStatus(alice, task.id, to)));
    const entries = (await taskAudit(t, task.id)).filter((a) => a.action === 'status_changed').map((a) => a.details.status as { before: string; after: string });
    expect(entries).toHaveLength(answers.filter((a) => a.status === 200).length);
    let status = 'pending';
    for (const { before, after } of entries) {
      expect(before).toBe(status);
      status = after;
    }
    expect((await taskRow(t, task.id))!.status).toBe(status);
  });
});

describe('side effects', () => {
  it('→ in_progress sets started_at the first time only', async () => {
    const task = await createTask(alice, project);
    const started = (await setStatus(alice, task.id, 'in_progress')).body;
    expect(started.started_at).toEqual(expect.any(String));
    await setStatus(alice, task.id, 'blocked');
    const again = (await setStatus(alice, task.id, 'in_progress')).body;
    expect(again.started_at).toBe(started.started_at);
  });

  it('→ completed sets completed_at and progress 100; → review clears completed_at and keeps progress', async () => {
    const task = await createTask(alice, project);
    await setStatus(alice, task.id, 'in_progress');
    await alice.request('PATCH', `/api/tasks/${task.id}/progress`, { body: { progress_percent: 40 } });
    const done = (await setStatus(alice, task.id, 'completed')).body;
    expect(done).toMatchObject({ status: 'completed', progress_percent: 100, completed_at: expect.any(String) });
    const reopened = (await setStatus(alice, task.id, 'review')).body;
    expect(reopened).toMatchObject({ status: 'review', progress_percent: 100, completed_at: null });
  });

  it('pending → completed directly also completes (completed_at, 100 %), started_at stays null', async () => {
    const task = await createTask(alice, project);
    const done = (await setStatus(alice, task.id, 'completed')).body;
    expect(done).toMatchObject({ status: 'completed', progress_percent: 100, started_at: null, completed_at: expect.any(String) });
  });

  it('422 for an unknown status or extra fields; nothing written', async () => {
    const task = await createTask(alice, project);
    const before = await rowCounts(t.pool);
    expect(expectProblem(await setStatus(alice, task.id, 'done'), 422, 'validation-failed').errors?.[0]?.pointer).toBe('/body/status');
    const extra = await alice.request('PATCH', `/api/tasks/${task.id}/status`, { body: { status: 'blocked', why: 'x' } });
    expect(expectProblem(extra, 422, 'validation-failed').errors?.[0]?.pointer).toBe('/body/why');
    expectProblem(await alice.request('PATCH', `/api/tasks/${task.id}/status`, { rawBody: '{"status":', headers: { 'content-type': 'application/json' } }), 400, 'malformed-json');
    expect(await rowCounts(t.pool)).toEqual(before);
  });

  it('404 for a missing task', async () => {
    expectProblem(await setStatus(alice, 999999, 'in_progress'), 404, 'task-not-found');
  });
});

describe('a parent cannot complete while a subtask at any depth is open', () => {
  it('three levels: each level waits for everything below it', async () => {
    const root = await createTask(alice, project, { title: 'Root' });
    const child = await createSubtask(alice, root.id, { title: 'Child' });
    const grandchild = await createSubtask(alice, child.id, { title: 'Grandchild' });

    const blocked = expectProblem(await setStatus(alice, root.id, 'completed'), 409, 'open-subtasks');
    expect(blocked.detail).toContain('2 subtasks');
    expectProblem(await setStatus(alice, child.id, 'completed'), 409, 'open-subtasks');

    // The child completed behind the API's back: the grandchild still keeps the root open.
    await forceStatus(t, child.id, 'completed');
    expect(expectProblem(await setStatus(alice, root.id, 'completed'), 409, 'open-subtasks').detail).toContain('1 subtask ');
    expect(await taskRow(t, root.id)).toMatchObject({ status: 'pending', completed_at: null });

    expect((await setStatus(alice, grandchild.id, 'completed')).status).toBe(200);
    expect((await setStatus(alice, root.id, 'completed')).status).toBe(200);
    expect((await taskAudit(t, root.id)).map((a) => a.action)).toEqual(['task_created', 'status_changed']);
  });

  it('a completed subtask reopened (completed → review) blocks its parent again', async () => {
    const parent = await createTask(alice, project);
    const sub = await createSubtask(alice, parent.id);
    await setStatus(alice, sub.id, 'completed');
    await setStatus(alice, sub.id, 'review');
    expectProblem(await setStatus(alice, parent.id, 'completed'), 409, 'open-subtasks');
  });

  it('a subtask added while the completion waits for the parent\'s lock keeps it open, whichever way it completes', async () => {
    for (const complete of [(id: number) => setStatus(alice, id, 'completed'), (id: number) => approve(alice, id)]) {
      const parent = await createTask(alice, project, { title: 'Parent' });
      await forceStatus(t, parent.id, 'review');
      // The insert holds a key-share lock on its parent until it commits: the completion's lock waits for it, and
      // its check for open subtasks must then see the new one.
      const [refused] = await whileChangeHeld(t, {
        text: `insert into task (tenant_id, project_id, parent_task_id, title, created_by_id) select tenant_id, project_id, id, 'Late subtask', created_by_id from task where id = $1`,
        values: [parent.id],
      }, 1, () => [complete(parent.id)]);
      expect(expectProblem(refused!, 409, 'open-subtasks').detail).toContain('1 subtask ');
      expect(await taskRow(t, parent.id)).toMatchObject({ status: 'review', completed_at: null });
    }
  });

  it('other transitions of a parent with open subtasks are fine', async () => {
    const parent = await createTask(alice, project);
    await createSubtask(alice, parent.id);
    expect((await setStatus(alice, parent.id, 'in_progress')).status).toBe(200);
    expect((await setStatus(alice, parent.id, 'review')).status).toBe(200);
  });
});

describe('subtask chains are never cyclic', () => {
  it('the database refuses to make a task a subtask of its own descendant (the API never re-parents)', async () => {
    const root = await createTask(alice, project);
    const child = await createSubtask(alice, root.id);
    const grandchild = await createSubtask(alice, child.id);
    await expect(t.pool.query(sql.unsafe`update task set parent_task_id = ${grandchild.id} where id = ${root.id}`)).rejects.toMatchObject({
      constraint: 'task_no_cycle',
    });
    await expect(t.pool.query(sql.unsafe`update task set parent_task_id = ${grandchild.id} where id = ${child.id}`)).rejects.toMatchObject({
      constraint: 'task_no_cycle',
    });
    // Its own parent: the trigger answers before the task_not_own_parent check does.
    await expect(t.pool.query(sql.unsafe`update task set parent_task_id = ${child.id} where id = ${child.id}`)).rejects.toMatchObject({
      constraint: 'task_no_cycle',
    });
    expect(await taskRow(t, root.id)).toMatchObject({ parent_task_id: null });
    expect(await taskRow(t, child.id)).toMatchObject({ parent_task_id: root.id });
  });

  it('and refuses a parent in another project', async () => {
    const other = await newProject(t, alice);
    const here = await createTask(alice, project);
    const there = await createTask(alice, other);
    await expect(t.pool.query(sql.unsafe`update task set parent_task_id = ${there.id} where id = ${here.id}`)).rejects.toMatchObject({
      constraint: 'task_parent_same_project_fkey',
    });
  });
});
