/** createTask: what is stored, what is answered, and what is refused. */
import type { TestApp } from '../helpers/app.js';
import {
  setupTestApp,
  rowCounts,
  taskAudit,
  taskRow,
  createTask,
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
    const audit = await taskAudit(t, task.id);
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
      const [entry] = await taskAudit(t, task.id);
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
    const before = await rowCounts(t.pool);
    const res = await alice.request('POST', `/api/projects/${project}/tasks`, {
      body: { title: 'Nope', assignee_id: carol.workerId, parent_task_id: elsewhere.id },
    });
    const problem = expectProblem(res, 422, 'validation-failed');
    expect(problem.errors).toEqual([
      { pointer: '/body/assignee_id', message: expect.stringContaining(String(carol.workerId)) },
      { pointer: '/body/parent_task_id', message: expect.stringContaining(String(elsewhere.id)) },
    ]);
    expect(await rowCounts(t.pool)).toEqual(before);
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
    ['a recurrence without its pattern', { title: 'ok', recurrence: {} }, '/body/recurrence/pattern'],
    ['max_occurrences without a pattern', { title: 'ok', recurrence: { max_occurrences: 3 } }, '/body/recurrence/pattern'],
    ['max_occurrences 0', { title: 'ok', recurrence: { pattern: 'daily', max_occurrences: 0 } }, '/body/recurrence/max_occurrences'],
    ['a bad due date', { title: 'ok', due_date: 'tomorrow' }, '/body/due_date'],
  ])('422 for %s, nothing written', async (_name, body, pointer) => {
    const before = await rowCounts(t.pool);
    const res = await alice.request('POST', `/api/projects/${project}/tasks`, { body });
    const problem = expectProblem(res, 422, 'validation-failed');
    expect(problem.errors?.map((e) => e.pointer)).toContain(pointer);
    expect(await rowCounts(t.pool)).toEqual(before);
  });

  it('404 project-not-found for a project the caller is not a member of, or that does not exist', async () => {
    const before = await rowCounts(t.pool);
    expectProblem(await carol.request('POST', `/api/projects/${project}/tasks`, { body: { title: 'x' } }), 404, 'project-not-found');
    expectProblem(await alice.request('POST', '/api/projects/999999/tasks', { body: { title: 'x' } }), 404, 'project-not-found');
    expect(await rowCounts(t.pool)).toEqual(before);
  });

  it('401 without a token', async () => {
    const res = await t.request('POST', `/api/projects/${project}/tasks`, { body: { title: 'x' } });
    expectProblem(res, 401, 'unauthorized');
  });

  it('an Idempotency-Key retry returns the original task without creating another', async () => {
    const headers = { 'Idempotency-Key': `create-${Date.now()}` };
    const first = await alice.request<Task>('POST', `/api/projects/${project}/tasks`, { body: { title: 'Once' }, headers });
    const before = await rowCounts(t.pool);
    const again = await alice.request<Task>('POST', `/api/projects/${project}/tasks`, { body: { title: 'Once' }, headers });
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    expect(await rowCounts(t.pool)).toEqual(before);
  });
});
