/** listMyTasks ("my work" across projects): the project list’s filters over every project the caller is a member of. */
import type { TestApp } from '../helpers/app.js';
import {
  setupTestApp,
  signIn,
  newProject,
  addMember,
  createTask,
  expectProblem,
  type SignedIn,
  type Task,
  type TaskList,
} from '../helpers/factories.js';
import { seedListTasks } from './list-fixture.js';

let tasks: Record<string, Task> = {};

let t: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let carol: SignedIn;
let project: number;

beforeAll(async () => ({ t, alice, bob, carol, project } = await setupTestApp()));
afterAll(() => t.close());

beforeAll(async () => {
  tasks = await seedListTasks(t, alice, bob, project);
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

  it('401 without a token', async () => {
    expectProblem(await t.request('GET', '/api/tasks'), 401, 'unauthorized');
  });
});
