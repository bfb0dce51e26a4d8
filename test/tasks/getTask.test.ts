/** getTask: the task with its embedded subtasks, its ETag and allowed_transitions; 304, 404 and 422. */
import { sql } from 'slonik';
import type { TestApp } from '../helpers/app.js';
import {
  setupTestApp,
  newProject,
  createTask,
  createSubtask,
  setStatus,
  forceStatus,
  expectProblem,
  type SignedIn,
  type Task,
  type TaskList,
} from '../helpers/factories.js';

let t: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let carol: SignedIn; // same tenant, member of nothing of alice’s
let project: number;

beforeAll(async () => ({ t, alice, bob, carol, project } = await setupTestApp()));
afterAll(() => t.close());

describe('getTask', () => {
  it('answers the task with its direct subtasks (oldest first), subtask counts, and an ETag', async () => {
    const parent = await createTask(alice, project, { title: 'Parent', assignee_id: alice.workerId });
    const first = await createSubtask(alice, parent.id, { title: 'First', assignee_id: bob.workerId });
    const second = await createSubtask(alice, parent.id, { title: 'Second' });
    await createSubtask(alice, first.id, { title: 'Grandchild' });
    const res = await bob.request<Task>('GET', `/api/tasks/${parent.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toMatch(/^"1\.[0-9a-f]{16}"$/); // version 1, and a digest of its subtasks
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

  it("a subtask's change changes its parent's ETag: revalidating the parent gets 200 with the subtask as it is now", async () => {
    const parent = await createTask(alice, project, { title: 'Epic' });
    const sub = await createSubtask(alice, parent.id, { title: 'Step one' });
    const first = await alice.request<Task>('GET', `/api/tasks/${parent.id}`);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(new RegExp(`^"${first.body.version}\\.[0-9a-f]{16}"$`)); // the version, and a digest of the subtasks
    expect((await alice.request('GET', `/api/tasks/${parent.id}`, { headers: { 'if-none-match': etag } })).status).toBe(304);

    // The subtask moves: the parent's row (and version) stays, its representation does not.
    expect((await setStatus(alice, sub.id, 'in_progress')).status).toBe(200);
    const after = await alice.request<Task>('GET', `/api/tasks/${parent.id}`, { headers: { 'if-none-match': etag } });
    expect(after.status).toBe(200);
    expect(after.body.version).toBe(first.body.version);
    expect(after.body.subtasks.map((s) => s.status)).toEqual(['in_progress']);
    expect(after.headers.get('etag')).not.toBe(etag);
    // A new subtask changes it too (subtask_count, the embedded list).
    const etag2 = after.headers.get('etag')!;
    await createSubtask(alice, parent.id, { title: 'Step two' });
    expect((await alice.request('GET', `/api/tasks/${parent.id}`, { headers: { 'if-none-match': etag2 } })).status).toBe(200);

    // A write to the parent is conditional on the parent itself: its old tag still matches while its version does.
    const updated = await alice.request<Task>('PATCH', `/api/tasks/${parent.id}`, { body: { title: 'Epic, renamed' }, headers: { 'if-match': etag } });
    expect(updated.status).toBe(200);
    expect(updated.headers.get('etag')).toBe((await alice.request('GET', `/api/tasks/${parent.id}`)).headers.get('etag'));
    expectProblem(await alice.request('PATCH', `/api/tasks/${parent.id}`, { body: { title: 'Again' }, headers: { 'if-match': etag } }), 412, 'precondition-failed');
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

  it('401 without a token', async () => {
    const task = await createTask(alice, project);
    expectProblem(await t.request('GET', `/api/tasks/${task.id}`), 401, 'unauthorized');
  });
});

describe('allowed_transitions', () => {
  it('leaves out completed while a subtask at any depth is open, in lists and single tasks', async () => {
    const p = await newProject(t, alice);
    const parent = await createTask(alice, p, { title: 'parent' });
    const child = await createSubtask(alice, parent.id, { title: 'child' });
    const grandchild = await createSubtask(alice, child.id, { title: 'grandchild' });
    await forceStatus(t, child.id, 'completed'); // a completed child with an open grandchild still blocks
    const got = await alice.request<Task>('GET', `/api/tasks/${parent.id}`);
    expect(got.body.allowed_transitions).toEqual(['in_progress', 'blocked']);
    const list = await alice.request('GET', `/api/projects/${p}/tasks`, { query: { parent_task_id: 'none' } });
    expect(list.body.items.find((x: Task) => x.id === parent.id).allowed_transitions).toEqual(['in_progress', 'blocked']);
    const refused = expectProblem(await setStatus(alice, parent.id, 'review'), 409, 'invalid-transition');
    expect(refused.allowed_transitions).toEqual(['in_progress', 'blocked']);
    await forceStatus(t, grandchild.id, 'completed');
    expect((await alice.request<Task>('GET', `/api/tasks/${parent.id}`)).body.allowed_transitions).toEqual(['in_progress', 'blocked', 'completed']);
  });
});
