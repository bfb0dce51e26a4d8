/** listProjectTasks filters and listMyTasks ("my work" across projects). */
import { startTestApp, type TestApp } from '../helpers/app.js';
import {
  addMember,
  createSubtask,
  createTask,
  expectProblem,
  forceStatus,
  newProject,
  signIn,
  type SignedIn,
  type Task,
  type TaskList,
} from './support.js';

let t: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let carol: SignedIn;
let project: number;
const tasks: Record<string, Task> = {};

beforeAll(async () => {
  t = await startTestApp();
  alice = await signIn(t, 'alice');
  bob = await signIn(t, 'bob');
  carol = await signIn(t, 'carol');
  project = await newProject(t, alice, [bob]);
  const make = async (key: string, body: Record<string, unknown>, status?: string) => {
    tasks[key] = await createTask(alice, project, { title: key, ...body });
    if (status) await forceStatus(t, tasks[key].id, status);
  };
  await make('launch', { tags: ['launch', 'copy'], priority: 'high', assignee_id: alice.workerId, due_date: '2026-02-06T17:00:00Z', description: 'Blog post' });
  await make('copy-only', { tags: ['copy'], priority: 'low', assignee_id: bob.workerId, due_date: '2026-02-01T00:00:00Z' }, 'in_progress');
  await make('percent', { title: '50% off_sale', description: 'Discount \\ banner', priority: 'critical' }, 'blocked');
  await make('plain', { title: 'Plain 50 percent', priority: 'medium' }, 'completed');
  tasks.sub = await createSubtask(alice, tasks.launch!.id, { title: 'Proofread the BLOG post', due_date: '2026-02-03T00:00:00Z' });
});
afterAll(() => t.close());

const list = async (user: SignedIn, query: Record<string, string | number | boolean | readonly (string | number)[]>, projectId = project) => {
  const res = await user.request<TaskList>('GET', `/api/projects/${projectId}/tasks`, { query });
  if (res.status !== 200) throw new Error(`${res.status} ${JSON.stringify(res.body)}`);
  return res.body.items.map((i) => i.title).sort();
};

describe('listProjectTasks', () => {
  it('lists every task of the project, subtasks included, as TaskSummary with counts and handles', async () => {
    const res = await bob.request<TaskList>('GET', `/api/projects/${project}/tasks`);
    expect(res.status).toBe(200);
    expect(res.body.next_cursor).toBeNull();
    expect(res.body.items).toHaveLength(5);
    const launch = res.body.items.find((i) => i.id === tasks.launch!.id);
    expect(launch).toEqual({
      id: tasks.launch!.id,
      project_id: project,
      title: 'launch',
      status: 'pending',
      allowed_transitions: ['in_progress', 'blocked'], // its subtask is open
      priority: 'high',
      progress_percent: 0,
      tags: ['launch', 'copy'],
      assignee_id: alice.workerId,
      assignee_handle: '@alice',
      due_date: '2026-02-06T17:00:00.000Z',
      parent_task_id: null,
      subtask_count: 1,
      is_recurring: false,
      created_at: tasks.launch!.created_at,
      updated_at: tasks.launch!.updated_at,
      version: 1,
    });
  });

  it('each item carries its version: the ETag a conditional write needs, without a GET per item', async () => {
    const edited = await alice.request<Task>('PATCH', `/api/tasks/${tasks.plain!.id}`, { body: { description: 'Edited once' } });
    expect(edited.status).toBe(200);
    const res = await alice.request<TaskList>('GET', `/api/projects/${project}/tasks`);
    for (const item of res.body.items) {
      const one = await alice.request<Task>('GET', `/api/tasks/${item.id}`);
      expect(one.headers.get('etag')).toBe(`"${item.version}"`);
    }
    expect(res.body.items.find((i) => i.id === tasks.plain!.id)?.version).toBe(2);
    const item = res.body.items.find((i) => i.id === tasks.launch!.id)!;
    const write = await alice.request('PATCH', `/api/tasks/${item.id}`, { body: { priority: 'critical' }, headers: { 'if-match': `"${item.version}"` } });
    expect(write.status).toBe(200);
    expectProblem(await alice.request('PATCH', `/api/tasks/${item.id}`, { body: { priority: 'low' }, headers: { 'if-match': `"${item.version}"` } }), 412, 'precondition-failed');
    await alice.request('PATCH', `/api/tasks/${item.id}`, { body: { priority: 'high' } }); // as the other tests expect it
  });

  it('updated_since with sort=updated_at: what changed at or after an instant, oldest change first', async () => {
    const first = await alice.request<Task>('PATCH', `/api/tasks/${tasks['copy-only']!.id}`, { body: { description: 'changed first' } });
    const second = await alice.request<Task>('PATCH', `/api/tasks/${tasks.percent!.id}`, { body: { description: 'Discount \\ banner, changed second' } });
    const since = first.body.updated_at;
    const res = await alice.request<TaskList>('GET', `/api/projects/${project}/tasks`, { query: { updated_since: since, sort: 'updated_at' } });
    expect(res.status).toBe(200);
    expect(res.body.items.map((i) => i.id)).toEqual([first.body.id, second.body.id]);
    expect(res.body.items.every((i) => i.updated_at >= since)).toBe(true);
    const newestFirst = await alice.request<TaskList>('GET', `/api/projects/${project}/tasks`, { query: { updated_since: since, sort: '-updated_at' } });
    expect(newestFirst.body.items.map((i) => i.id)).toEqual([second.body.id, first.body.id]);
    const later = await alice.request<TaskList>('GET', `/api/projects/${project}/tasks`, { query: { updated_since: second.body.updated_at } });
    expect(later.body.items.map((i) => i.id)).toEqual([second.body.id]);
  });

  it('sort=updated_at pages every task exactly once', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const res: { status: number; body: TaskList } = await alice.request<TaskList>('GET', `/api/projects/${project}/tasks`, { query: { sort: '-updated_at', limit: 2, ...(cursor ? { cursor } : {}) } });
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((i) => i.id));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(5);
    expect(seen).toHaveLength(5);
  });

  it.each<[string, Record<string, string | number | boolean | readonly string[]>, string[]]>([
    ['one status', { status: 'in_progress' }, ['copy-only']],
    ['several statuses (any of)', { status: ['blocked', 'completed'] }, ['50% off_sale', 'Plain 50 percent']],
    ['one priority', { priority: 'critical' }, ['50% off_sale']],
    ['several priorities', { priority: ['low', 'high'] }, ['copy-only', 'launch']],
    ['one tag', { tags: 'copy' }, ['copy-only', 'launch']],
    ['every tag must match', { tags: ['copy', 'launch'] }, ['launch']],
    ['a tag nobody has', { tags: ['copy', 'nope'] }, []],
    ['q in the title, any case', { q: 'PROOFREAD' }, ['Proofread the BLOG post']],
    ['q in the description', { q: 'blog' }, ['Proofread the BLOG post', 'launch']],
    ['q with % is literal', { q: '50%' }, ['50% off_sale']],
    ['q with _ is literal', { q: 'f_s' }, ['50% off_sale']],
    ['q with \\ is literal', { q: 't \\ b' }, ['50% off_sale']],
    ['due_before (exclusive, no due date excluded)', { due_before: '2026-02-06T17:00:00Z' }, ['Proofread the BLOG post', 'copy-only']],
    ['due_after (inclusive)', { due_after: '2026-02-03T00:00:00Z' }, ['Proofread the BLOG post', 'launch']],
    ['due_after and due_before', { due_after: '2026-02-02T00:00:00Z', due_before: '2026-02-04T00:00:00+00:00' }, ['Proofread the BLOG post']],
    ['has_due_date=true', { has_due_date: true }, ['Proofread the BLOG post', 'copy-only', 'launch']],
    ['has_due_date=false', { has_due_date: false }, ['50% off_sale', 'Plain 50 percent']],
    ['parent_task_id=none', { parent_task_id: 'none' }, ['50% off_sale', 'Plain 50 percent', 'copy-only', 'launch']],
    ['filters combine with AND', { tags: 'copy', status: 'pending', priority: 'high' }, ['launch']],
  ])('%s', async (_name, query, expected) => {
    expect(await list(alice, query)).toEqual([...expected].sort());
  });

  it('parent_task_id=<id> lists the direct subtasks of that task', async () => {
    expect(await list(alice, { parent_task_id: String(tasks.launch!.id) })).toEqual(['Proofread the BLOG post']);
    expect(await list(alice, { parent_task_id: String(tasks.plain!.id) })).toEqual([]);
  });

  it('assignee_id', async () => {
    expect(await list(alice, { assignee_id: bob.workerId })).toEqual(['copy-only']);
    expect(await list(alice, { assignee_id: 999999 })).toEqual([]);
  });

  it.each([
    [{ status: 'done' }, '/query/status/0'],
    [{ priority: 'urgent' }, '/query/priority/0'],
    [{ q: '' }, '/query/q'],
    [{ q: 'x'.repeat(201) }, '/query/q'],
    [{ due_before: 'soon' }, '/query/due_before'],
    [{ parent_task_id: 'top' }, '/query/parent_task_id'],
    [{ has_due_date: 'maybe' }, '/query/has_due_date'],
    [{ assignee_id: 0 }, '/query/assignee_id'],
    [{ tags: '' }, '/query/tags/0'],
    [{ updated_since: 'yesterday' }, '/query/updated_since'],
    [{ sort: 'updated' }, '/query/sort'],
  ])('422 for %j', async (query, pointer) => {
    const res = await alice.request('GET', `/api/projects/${project}/tasks`, { query });
    expect(expectProblem(res, 422, 'validation-failed').errors?.map((e) => e.pointer)).toContain(pointer);
  });

  it('404 project-not-found for a non-member and for a missing project', async () => {
    expectProblem(await carol.request('GET', `/api/projects/${project}/tasks`), 404, 'project-not-found');
    expectProblem(await alice.request('GET', '/api/projects/999999/tasks'), 404, 'project-not-found');
  });
});

describe('listMyTasks', () => {
  let other: number;
  beforeAll(async () => {
    // bob's own project, which alice joins; and carol's, which alice does not.
    other = await newProject(t, bob);
    await addMember(t, other, alice.workerId);
    await createTask(bob, other, { title: 'bob-for-alice', assignee_id: alice.workerId, due_date: '2026-01-15T00:00:00Z' });
    await createTask(bob, other, { title: 'bob-own', assignee_id: bob.workerId });
    await createTask(carol, carol.projectId, { title: 'carol-secret', assignee_id: carol.workerId });
  });

  const mine = async (user: SignedIn, query: Record<string, string | number | readonly string[]> = {}) => {
    const res = await user.request<TaskList>('GET', '/api/tasks', { query });
    if (res.status !== 200) throw new Error(`${res.status} ${JSON.stringify(res.body)}`);
    return res.body.items.map((i) => i.title).sort();
  };

  it('covers every project the caller is a member of, and nothing else', async () => {
    expect(await mine(alice)).toEqual(
      ['Proofread the BLOG post', 'launch', 'copy-only', '50% off_sale', 'Plain 50 percent', 'bob-for-alice', 'bob-own'].sort(),
    );
    expect(await mine(carol)).toEqual(['carol-secret']);
  });

  it('assignee_id=me, or a teammate’s worker id', async () => {
    expect(await mine(alice, { assignee_id: 'me' })).toEqual(['bob-for-alice', 'launch']);
    expect(await mine(bob, { assignee_id: 'me' })).toEqual(['bob-own', 'copy-only']);
    expect(await mine(alice, { assignee_id: String(bob.workerId) })).toEqual(['bob-own', 'copy-only']);
    // carol's tasks are not in alice's projects, whoever they are assigned to
    expect(await mine(alice, { assignee_id: String(carol.workerId) })).toEqual([]);
  });

  it('status and due_before', async () => {
    expect(await mine(alice, { status: ['in_progress', 'blocked'] })).toEqual(['50% off_sale', 'copy-only']);
    expect(await mine(alice, { due_before: '2026-02-02T00:00:00Z' })).toEqual(['bob-for-alice', 'copy-only']);
  });

  it.each<[string, Record<string, string | readonly string[]>, string[]]>([
    ['q across projects', { q: 'BOB' }, ['bob-for-alice', 'bob-own']],
    ['priority', { priority: ['critical'] }, ['50% off_sale']],
    ['tags (all of them)', { tags: ['copy', 'launch'] }, ['launch']],
    ['due_after', { due_after: '2026-02-03T00:00:00Z' }, ['Proofread the BLOG post', 'launch']],
    ['has_due_date=false', { has_due_date: 'false' }, ['50% off_sale', 'Plain 50 percent', 'bob-own']],
    ['parent_task_id=none', { parent_task_id: 'none' }, ['50% off_sale', 'Plain 50 percent', 'bob-for-alice', 'bob-own', 'copy-only', 'launch']],
    ['filters combine with AND', { q: 'bob', assignee_id: 'me' }, ['bob-for-alice']],
  ])('the project list filters work across projects: %s', async (_name, query, expected) => {
    expect(await mine(alice, query)).toEqual([...expected].sort());
  });

  it('project_id narrows to one project; a project the caller is not in matches nothing', async () => {
    expect(await mine(alice, { project_id: String(other) })).toEqual(['bob-for-alice', 'bob-own']);
    expect(await mine(alice, { project_id: String(carol.projectId) })).toEqual([]);
    expect(await mine(alice, { project_id: '999999' })).toEqual([]);
  });

  it('updated_since with sort=updated_at across projects', async () => {
    const touched = await bob.request<Task>('PATCH', `/api/tasks/${(await bobOwn()).id}`, { body: { description: 'touched' } });
    const res = await alice.request<TaskList>('GET', '/api/tasks', { query: { updated_since: touched.body.updated_at, sort: 'updated_at' } });
    expect(res.body.items.map((i) => i.title)).toEqual(['bob-own']);
  });

  const bobOwn = async () => (await bob.request<TaskList>('GET', '/api/tasks', { query: { q: 'bob-own' } })).body.items[0]!;

  it('pages under a sort with the same cursors as project lists', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: TaskList } = await alice.request<TaskList>('GET', '/api/tasks', { query: { sort: 'title', limit: 2, ...(cursor ? { cursor } : {}) } });
      seen.push(...res.body.items.map((i) => i.title));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
  });

  it.each([
    [{ assignee_id: 'you' }, '/query/assignee_id'],
    [{ status: 'x' }, '/query/status/0'],
    [{ sort: 'id' }, '/query/sort'],
    [{ project_id: '0' }, '/query/project_id'],
    [{ priority: 'urgent' }, '/query/priority/0'],
    [{ updated_since: '2026-02-30T00:00:00Z' }, '/query/updated_since'],
    [{ parent_task_id: 'top' }, '/query/parent_task_id'],
  ])('422 for %j', async (query, pointer) => {
    const res = await alice.request('GET', '/api/tasks', { query });
    expect(expectProblem(res, 422, 'validation-failed').errors?.map((e) => e.pointer)).toContain(pointer);
  });

  it('a user in another tenant sees none of it', async () => {
    const zed = await signIn(t, 'alice', { tenant: 'globex' }); // same sub, other tenant: another person
    expect(await mine(zed)).toEqual([]);
    expect(await mine(zed, { assignee_id: String(alice.workerId) })).toEqual([]);
  });
});
