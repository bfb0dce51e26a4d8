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
  type TaskSummary,
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

  /** Every page of "my work" under a query, limit 2 a page: the items in the order served. */
  const allPages = async (user: SignedIn, query: Record<string, string | readonly string[]>) => {
    const items: TaskSummary[] = [];
    let cursor: string | null = null;
    do {
      const res: { status: number; body: TaskList } = await user.request<TaskList>('GET', '/api/tasks', { query: { ...query, limit: 2, ...(cursor ? { cursor } : {}) } });
      expect(res.status).toBe(200);
      items.push(...res.body.items);
      cursor = res.body.next_cursor;
      if (items.length > 20) throw new Error(`paging ${JSON.stringify(query)} does not end: ${items.map((i) => i.id).join(', ')}`);
    } while (cursor);
    return items;
  };

  const SORTS = ['created_at', '-created_at', 'updated_at', '-updated_at', 'due_date', '-due_date', 'priority', '-priority', 'title', '-title'] as const;
  const RANK: Record<string, number> = { low: 1, medium: 2, high: 3, critical: 4 };
  /** The order a sort defines, on the summaries, where it does not depend on the collation. */
  const ORACLE: Partial<Record<(typeof SORTS)[number], (a: TaskSummary, b: TaskSummary) => number>> = {
    due_date: (a, b) => Number(a.due_date === null) - Number(b.due_date === null) || (a.due_date ?? '').localeCompare(b.due_date ?? '') || a.id - b.id,
    '-due_date': (a, b) => Number(a.due_date === null) - Number(b.due_date === null) || (b.due_date ?? '').localeCompare(a.due_date ?? '') || b.id - a.id,
    priority: (a, b) => RANK[a.priority]! - RANK[b.priority]! || a.id - b.id,
    '-priority': (a, b) => RANK[b.priority]! - RANK[a.priority]! || b.id - a.id,
  };

  it.each(SORTS)('sort=%s pages across projects as one list: each project in its own order, nothing repeated or lost', async (sort) => {
    const paged = await allPages(alice, { sort });
    expect(paged).toHaveLength(7);
    expect(new Set(paged.map((i) => i.id)).size).toBe(7);
    const onePage = await alice.request<TaskList>('GET', '/api/tasks', { query: { sort, limit: 100 } });
    expect(paged.map((i) => i.id)).toEqual(onePage.body.items.map((i) => i.id));
    for (const p of [project, other]) {
      const own = await alice.request<TaskList>('GET', `/api/projects/${p}/tasks`, { query: { sort, limit: 100 } });
      expect(paged.filter((i) => i.project_id === p).map((i) => i.id)).toEqual(own.body.items.map((i) => i.id));
    }
    const oracle = ORACLE[sort];
    if (oracle) expect(paged.map((i) => i.id)).toEqual([...paged].sort(oracle).map((i) => i.id));
  });

  it.each<[string, Record<string, string | readonly string[]>]>([
    ['assignee_id=me', { assignee_id: 'me' }],
    ['a teammate', { assignee_id: 'BOB' }],
    ['status', { status: ['pending', 'in_progress'] }],
    ['q', { q: 'o' }],
    ['tags', { tags: ['copy'] }],
    ['due_before', { due_before: '2026-02-04T00:00:00Z' }],
    ['has_due_date', { has_due_date: 'true' }],
    ['project_id', { project_id: 'OTHER' }],
    ['parent_task_id=none', { parent_task_id: 'none' }],
  ])('in every sort, a filter (%s) selects the same tasks as in the default order', async (_name, raw) => {
    const query = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v === 'BOB' ? String(bob.workerId) : v === 'OTHER' ? String(other) : v]));
    const expected = (await allPages(alice, query)).map((i) => i.id).sort((a, b) => a - b);
    expect(expected.length).toBeGreaterThan(0);
    for (const sort of SORTS) {
      const paged = await allPages(alice, { ...query, sort });
      expect({ sort, ids: paged.map((i) => i.id).sort((a, b) => a - b) }).toEqual({ sort, ids: expected });
    }
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
