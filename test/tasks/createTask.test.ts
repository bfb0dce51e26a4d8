/** createTask, createSubtask and getTask: what is stored, what is answered, and what is refused. */
import { startTestApp, type TestApp } from '../helpers/app.js';
import {
  actionsOf,
  auditOf,
  createSubtask,
  createTask,
  expectProblem,
  newProject,
  rowCounts,
  signIn,
  taskRow,
  type SignedIn,
  type Task,
  type TaskList,
} from './support.js';
import { sql } from 'slonik';

let t: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let carol: SignedIn; // same tenant, member of nothing of alice's
let project: number;

beforeAll(async () => {
  t = await startTestApp();
  alice = await signIn(t, 'alice');
  bob = await signIn(t, 'bob');
  carol = await signIn(t, 'carol');
  project = await newProject(t, alice, [bob]);
});
afterAll(() => t.close());

describe('createTask', () => {
  it('creates a pending task with every field, answers 201 with Location and ETag, and records task_created', async () => {
    const res = await alice.request<Task>('POST', `/api/projects/${project}/tasks`, {
      body: {
        title: '  Draft the launch announcement  ',
        description: 'Keep it under 400 words.',
        priority: 'high',
        assignee_id: bob.workerId,
        tags: ['launch', 'copy'],
        due_date: '2026-02-06T18:00:00+01:00',
        recurrence: { pattern: 'weekly', max_occurrences: 12 },
      },
    });
    expect(res.status).toBe(201);
    const task = res.body;
    expect(res.headers.get('location')).toBe(`/api/tasks/${task.id}`);
    expect(res.headers.get('etag')).toBe('"1"');
    expect(task).toEqual({
      id: expect.any(Number),
      project_id: project,
      title: 'Draft the launch announcement',
      status: 'pending',
      allowed_transitions: ['in_progress', 'blocked', 'completed'],
      priority: 'high',
      progress_percent: 0,
      tags: ['launch', 'copy'],
      assignee_id: bob.workerId,
      assignee_handle: '@bob',
      due_date: '2026-02-06T17:00:00.000Z',
      parent_task_id: null,
      subtask_count: 0,
      is_recurring: true,
      created_at: expect.any(String),
      updated_at: expect.any(String),
      version: 1,
      description: 'Keep it under 400 words.',
      created_by_id: alice.workerId,
      started_at: null,
      completed_at: null,
      recurrence: { pattern: 'weekly', max_occurrences: 12 },
      recurring_root_id: null,
      spawn_count: 0,
      last_rejection: null,
      last_progress_note: null,
      subtasks: [],
    });
    expect(await taskRow(t, task.id)).toMatchObject({
      title: 'Draft the launch announcement',
      recurrence_pattern: 'weekly',
      recurrence_max: 12,
      recurring_root_id: null,
      spawned_from_id: null,
      created_by_id: alice.workerId,
      version: 1,
    });
    const audit = await auditOf(t, task.id);
    expect(audit).toEqual([
      expect.objectContaining({ action: 'task_created', project_id: project, actor_id: alice.workerId }),
    ]);
    expect(audit[0]!.details).toEqual({
      title: 'Draft the launch announcement',
      priority: 'high',
      assignee_id: bob.workerId,
      parent_task_id: null,
      due_date: '2026-02-06T17:00:00.000Z',
      recurrence: { pattern: 'weekly', max_occurrences: 12 },
    });
  });

  it('the task_created entry holds the values as stored, exactly as the reply shows them', async () => {
    const cases = [
      { title: '  Fractions  ', due_date: '2026-02-06T18:00:00.987654+01:00', priority: 'low' as const },
      { title: 'No due date' },
      { title: 'Far future', due_date: '9999-12-31T23:59:59.999Z', recurrence: { pattern: 'daily' as const } },
    ];
    for (const body of cases) {
      const task = await createTask(alice, project, body);
      const [entry] = await auditOf(t, task.id);
      expect(entry!.details).toEqual({
        title: task.title, priority: task.priority, assignee_id: task.assignee_id, parent_task_id: task.parent_task_id,
        due_date: task.due_date, recurrence: task.recurrence,
      });
    }
  });

  it('defaults: medium priority, no tags, unassigned, one-off; recurrence without max repeats forever', async () => {
    const plain = await createTask(alice, project, { title: 'Plain' });
    expect(plain).toMatchObject({ priority: 'medium', tags: [], assignee_id: null, assignee_handle: null, due_date: null, recurrence: null, is_recurring: false, description: null });
    const forever = await createTask(alice, project, { title: 'Forever', recurrence: { pattern: 'daily' } });
    expect(forever.recurrence).toEqual({ pattern: 'daily', max_occurrences: null });
  });

  it('creates a subtask through parent_task_id in the same project', async () => {
    const parent = await createTask(alice, project, { title: 'Parent' });
    const child = await createTask(alice, project, { title: 'Child', parent_task_id: parent.id });
    expect(child.parent_task_id).toBe(parent.id);
  });

  it('422 at /body/assignee_id for a worker who is not a member, and at /body/parent_task_id for a parent elsewhere — together, nothing written', async () => {
    const elsewhere = await createTask(carol, carol.projectId, { title: 'Carol’s' });
    const before = await rowCounts(t);
    const res = await alice.request('POST', `/api/projects/${project}/tasks`, {
      body: { title: 'Nope', assignee_id: carol.workerId, parent_task_id: elsewhere.id },
    });
    const problem = expectProblem(res, 422, 'validation-failed');
    expect(problem.errors).toEqual([
      { pointer: '/body/assignee_id', message: expect.stringContaining(String(carol.workerId)) },
      { pointer: '/body/parent_task_id', message: expect.stringContaining(String(elsewhere.id)) },
    ]);
    expect(await rowCounts(t)).toEqual(before);
  });

  it('422 for a parent or assignee that does not exist', async () => {
    const res = await alice.request('POST', `/api/projects/${project}/tasks`, { body: { title: 'Nope', parent_task_id: 999999, assignee_id: 999999 } });
    expect(expectProblem(res, 422, 'validation-failed').errors?.map((e) => e.pointer)).toEqual(['/body/assignee_id', '/body/parent_task_id']);
  });

  it.each([
    ['a blank title', { title: '   ' }, '/body/title'],
    ['an empty title', { title: '' }, '/body/title'],
    ['a title over 200 characters', { title: 'x'.repeat(201) }, '/body/title'],
    ['an unknown field', { title: 'ok', titel: 'typo' }, '/body/titel'],
    ['a bad priority', { title: 'ok', priority: 'urgent' }, '/body/priority'],
    ['21 tags', { title: 'ok', tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, '/body/tags'],
    ['a bad recurrence', { title: 'ok', recurrence: { pattern: 'yearly' } }, '/body/recurrence/pattern'],
    ['max_occurrences 0', { title: 'ok', recurrence: { pattern: 'daily', max_occurrences: 0 } }, '/body/recurrence/max_occurrences'],
    ['a bad due date', { title: 'ok', due_date: 'tomorrow' }, '/body/due_date'],
  ])('422 for %s, nothing written', async (_name, body, pointer) => {
    const before = await rowCounts(t);
    const res = await alice.request('POST', `/api/projects/${project}/tasks`, { body });
    const problem = expectProblem(res, 422, 'validation-failed');
    expect(problem.errors?.map((e) => e.pointer)).toContain(pointer);
    expect(await rowCounts(t)).toEqual(before);
  });

  it('404 project-not-found for a project the caller is not a member of, or that does not exist', async () => {
    const before = await rowCounts(t);
    expectProblem(await carol.request('POST', `/api/projects/${project}/tasks`, { body: { title: 'x' } }), 404, 'project-not-found');
    expectProblem(await alice.request('POST', '/api/projects/999999/tasks', { body: { title: 'x' } }), 404, 'project-not-found');
    expect(await rowCounts(t)).toEqual(before);
  });

  it('401 without a token', async () => {
    const res = await t.request('POST', `/api/projects/${project}/tasks`, { body: { title: 'x' } });
    expectProblem(res, 401, 'unauthorized');
  });

  it('an Idempotency-Key retry returns the original task without creating another', async () => {
    const headers = { 'Idempotency-Key': `create-${Date.now()}` };
    const first = await alice.request<Task>('POST', `/api/projects/${project}/tasks`, { body: { title: 'Once' }, headers });
    const before = await rowCounts(t);
    const again = await alice.request<Task>('POST', `/api/projects/${project}/tasks`, { body: { title: 'Once' }, headers });
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    expect(await rowCounts(t)).toEqual(before);
  });
});

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
    expect((await auditOf(t, level2.id))[0]!.details).toMatchObject({ parent_task_id: res.body.id });
  });

  it('422 at /body/assignee_id when the assignee is not a member of the parent’s project; nothing written', async () => {
    const parent = await createTask(alice, project);
    const before = await rowCounts(t);
    const res = await alice.request('POST', `/api/tasks/${parent.id}/subtasks`, { body: { title: 'x', assignee_id: carol.workerId } });
    expect(expectProblem(res, 422, 'validation-failed').errors).toEqual([{ pointer: '/body/assignee_id', message: expect.any(String) }]);
    expect(await rowCounts(t)).toEqual(before);
  });

  it('has no parent_task_id field (422), and 404 task-not-found for a parent the caller cannot see', async () => {
    const parent = await createTask(alice, project);
    const res = await alice.request('POST', `/api/tasks/${parent.id}/subtasks`, { body: { title: 'x', parent_task_id: parent.id } });
    expect(expectProblem(res, 422, 'validation-failed').errors?.[0]?.pointer).toBe('/body/parent_task_id');
    const before = await rowCounts(t);
    expectProblem(await carol.request('POST', `/api/tasks/${parent.id}/subtasks`, { body: { title: 'x' } }), 404, 'task-not-found');
    expectProblem(await alice.request('POST', '/api/tasks/999999/subtasks', { body: { title: 'x' } }), 404, 'task-not-found');
    expect(await rowCounts(t)).toEqual(before);
  });
});

describe('getTask', () => {
  it('answers the task with its direct subtasks (oldest first), subtask counts, and an ETag', async () => {
    const parent = await createTask(alice, project, { title: 'Parent', assignee_id: alice.workerId });
    const first = await createSubtask(alice, parent.id, { title: 'First', assignee_id: bob.workerId });
    const second = await createSubtask(alice, parent.id, { title: 'Second' });
    await createSubtask(alice, first.id, { title: 'Grandchild' });
    const res = await bob.request<Task>('GET', `/api/tasks/${parent.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"1"');
    expect(res.body).toMatchObject({ id: parent.id, subtask_count: 2, assignee_handle: '@alice' });
    expect(res.body.subtasks.map((s) => [s.id, s.title, s.subtask_count, s.assignee_handle])).toEqual([
      [first.id, 'First', 1, '@bob'],
      [second.id, 'Second', 0, null],
    ]);
  });

  it('embeds at most 50 subtasks, oldest first, with subtask_count the total; the rest page through parent_task_id', async () => {
    const parent = await createTask(alice, project, { title: 'Big parent' });
    // 55 subtasks, inserted as rows (the API path is covered above), a second apart so the order is clear
    await t.pool.query(sql.unsafe`
      insert into task (tenant_id, project_id, parent_task_id, title, created_by_id, created_at)
      select tenant_id, project_id, id, 'Sub ' || lpad(g::text, 2, '0'), created_by_id, now() - (60 - g) * interval '1 second'
      from task, generate_series(1, 55) g where id = ${parent.id}`);
    const res = await bob.request<Task>('GET', `/api/tasks/${parent.id}`);
    expect(res.status).toBe(200);
    expect(res.body.subtask_count).toBe(55);
    expect(res.body.subtasks.map((s) => s.title)).toEqual(Array.from({ length: 50 }, (_, i) => `Sub ${String(i + 1).padStart(2, '0')}`));
    // the embedded ones are exactly what the list says about the same tasks (same timestamps, versions, counts)
    const all: TaskList['items'] = [];
    let cursor: string | null = null;
    do {
      const page: { body: TaskList } = await bob.request<TaskList>('GET', `/api/projects/${project}/tasks`, {
        query: { parent_task_id: String(parent.id), sort: 'created_at', limit: 20, ...(cursor ? { cursor } : {}) },
      });
      all.push(...page.body.items);
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(all).toHaveLength(55);
    expect(res.body.subtasks).toEqual(all.slice(0, 50));
  });

  it('If-None-Match with the current ETag: 304 without a body; after a change, 200', async () => {
    const task = await createTask(alice, project);
    const cached = await alice.request('GET', `/api/tasks/${task.id}`, { headers: { 'if-none-match': '"1"' } });
    expect(cached.status).toBe(304);
    expect(cached.headers.get('etag')).toBe('"1"');
    expect(cached.body).toBeUndefined();
    await alice.request('PATCH', `/api/tasks/${task.id}`, { body: { title: 'Changed' } });
    const changed = await alice.request<Task>('GET', `/api/tasks/${task.id}`, { headers: { 'if-none-match': '"1"' } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).toBe('"2"');
    expect(changed.body.title).toBe('Changed');
    expectProblem(await carol.request('GET', `/api/tasks/${task.id}`, { headers: { 'if-none-match': '*' } }), 404, 'task-not-found');
  });

  it('404 task-not-found for a non-member and for a missing task', async () => {
    const task = await createTask(alice, project);
    expectProblem(await carol.request('GET', `/api/tasks/${task.id}`), 404, 'task-not-found');
    expectProblem(await alice.request('GET', '/api/tasks/999999'), 404, 'task-not-found');
  });

  it.each(['abc', '0', '9223372036854775807'])('422 at /path/task_id for the id %s', async (id) => {
    const res = await alice.request('GET', `/api/tasks/${id}`);
    expect(expectProblem(res, 422, 'validation-failed').errors?.[0]?.pointer).toBe('/path/task_id');
  });
});
