/**
 * listProjectTasks: every filter, sort and 422 of a project's task list, and its keyset pagination: 250 tasks
 * under every sort, paged 7 at a time while other tasks are being created, come out in the documented order with
 * no duplicates and no gaps. The keys collide on purpose (equal titles, due dates, priorities, and creation times
 * that differ by microseconds only), so the id tiebreak and the precision of the cursor keep the pages apart.
 */
import { sql } from 'slonik';
import { z } from 'zod';
import type { TestApp } from '../helpers/app.js';
import {
  setupTestApp,
  newProject,
  createTask,
  expectProblem,
  type SignedIn,
  type Task,
  type TaskSummary,
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
      // The version; a task with subtasks adds a digest of them (If-Match compares the version alone, below).
      if (item.subtask_count === 0) expect(one.headers.get('etag')).toBe(`"${item.version}"`);
      else expect(one.headers.get('etag')).toMatch(new RegExp(`^"${item.version}\\.[0-9a-f]{16}"$`));
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

  // The page statement carries the membership check itself (one round trip): a stranger must still get the 404,
  // whatever else is wrong with the request, and a member an empty page rather than a 404.
  it('404 for a non-member whose cursor is garbage or whose filter matches tasks; a member gets the 422 or an empty page', async () => {
    await createTask(alice, project, { title: 'Visible to members only' });
    expectProblem(await carol.request('GET', `/api/projects/${project}/tasks`, { query: { q: 'Visible to members' } }), 404, 'project-not-found');
    expectProblem(await carol.request('GET', `/api/projects/${project}/tasks`, { query: { cursor: 'not-a-cursor' } }), 404, 'project-not-found');
    expectProblem(await alice.request('GET', `/api/projects/${project}/tasks`, { query: { cursor: 'not-a-cursor' } }), 422, 'validation-failed');
    const none = await alice.request<TaskList>('GET', `/api/projects/${project}/tasks`, { query: { q: 'no task has this title zzqx' } });
    expect(none.status).toBe(200);
    expect(none.body).toEqual({ items: [], next_cursor: null });
  });

  it('401 without a token', async () => {
    expectProblem(await t.request('GET', `/api/projects/${project}/tasks`), 401, 'unauthorized');
  });
});

const SORTS = ['created_at', '-created_at', 'due_date', '-due_date', 'priority', '-priority', 'title', '-title'] as const;
type Sort = (typeof SORTS)[number];
const RANK = { low: 1, medium: 2, high: 3, critical: 4 } as const;
const PRIORITIES = Object.keys(RANK) as (keyof typeof RANK)[];

interface Original {
  id: number;
  createdUs: bigint; // microseconds since the epoch, as stored
  dueUs: bigint | null;
  priority: keyof typeof RANK;
  title: string;
}

describe('keyset pagination', () => {
  const originals: Original[] = [];
  let paged: number; // alice's project of 250 tasks with colliding keys

  const BASE_US = 1_767_225_600_000_000n; // 2026-01-01T00:00:00Z
  const isoOf = (us: bigint) => {
    const ms = us / 1000n;
    const micros = (us % 1000n).toString().padStart(3, '0');
    return new Date(Number(ms)).toISOString().replace('Z', `${micros}Z`);
  };

  beforeAll(async () => {
    paged = await newProject(t, alice);
    for (let i = 0; i < 250; i++) {
      const o = {
        // 40 creation instants, 100 µs apart: many rows share one, and distinct ones share a millisecond
        createdUs: BASE_US + BigInt((i * 7) % 40) * 100n,
        dueUs: i % 4 === 0 ? null : BASE_US + BigInt(i % 9) * 86_400_000_000n + BigInt(i % 3),
        priority: PRIORITIES[(i * 5) % 4]!,
        title: `Task ${String(i % 30).padStart(3, '0')}`,
      };
      const id = await t.pool.oneFirst(sql.type(z.object({ id: z.number() }))`
        insert into task (tenant_id, project_id, title, priority, due_date, created_at, created_by_id)
        values (${alice.tenant}, ${paged}, ${o.title}, ${o.priority}, ${o.dueUs === null ? null : isoOf(o.dueUs)}::timestamptz,
                ${isoOf(o.createdUs)}::timestamptz, ${alice.workerId})
        returning id`);
      originals.push({ id, ...o });
    }
  });

  const cmp = (a: bigint | number | string, b: bigint | number | string) => (a < b ? -1 : a > b ? 1 : 0);

  /** The documented order, computed here independently of the SQL. */
  function expectedOrder(sort: Sort): number[] {
    const desc = sort.startsWith('-');
    const dir = desc ? -1 : 1;
    const byKey = (a: Original, b: Original): number => {
      switch (sort.replace('-', '')) {
        case 'created_at':
          return dir * (cmp(a.createdUs, b.createdUs) || cmp(a.id, b.id));
        case 'priority':
          return dir * (cmp(RANK[a.priority], RANK[b.priority]) || cmp(a.id, b.id));
        case 'title':
          return dir * (cmp(a.title, b.title) || cmp(a.id, b.id));
        default: // due date: tasks without one last in both directions
          if ((a.dueUs === null) !== (b.dueUs === null)) return a.dueUs === null ? 1 : -1;
          return dir * ((a.dueUs === null ? 0 : cmp(a.dueUs, b.dueUs!)) || cmp(a.id, b.id));
      }
    };
    return [...originals].sort(byKey).map((o) => o.id);
  }


  describe('250 tasks, limit 7, while others are created', () => {
    it.each(SORTS)('sort=%s: every original exactly once, in order', async (sort) => {
      let writing = true;
      let created = 0;
      const writer = (async () => {
        for (let i = 0; writing; i++) {
          await createTask(alice, paged, {
            title: `Task ${String(i % 30).padStart(3, '0')}`,
            priority: PRIORITIES[i % 4],
            due_date: i % 3 === 0 ? null : isoOf(BASE_US + BigInt(i % 9) * 86_400_000_000n),
          });
          created++;
        }
      })();

      const seen: number[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const res = await alice.request<TaskList>('GET', `/api/projects/${paged}/tasks`, {
          query: { sort, limit: 7, ...(cursor ? { cursor } : {}) },
        });
        expect(res.status).toBe(200);
        expect(res.body.items.length).toBeLessThanOrEqual(7);
        seen.push(...res.body.items.map((i) => i.id));
        cursor = res.body.next_cursor ?? undefined;
        pages++;
      } while (cursor && pages < 200);
      writing = false;
      await writer;

      expect(created).toBeGreaterThan(0);
      expect(new Set(seen).size).toBe(seen.length); // no duplicates
      const originalIds = new Set(originals.map((o) => o.id));
      expect(seen.filter((id) => originalIds.has(id))).toEqual(expectedOrder(sort)); // no gaps, documented order
    });

    it('the first page of the default sort is newest first', async () => {
      const res = await alice.request<TaskList>('GET', `/api/projects/${paged}/tasks`, { query: { limit: 3 } });
      const ids = res.body.items.map((i) => i.id);
      const sorted = [...res.body.items].sort((a, b) => cmp(b.created_at, a.created_at) || cmp(b.id, a.id)).map((i) => i.id);
      expect(ids).toEqual(sorted);
      expect(res.body.next_cursor).toEqual(expect.any(String));
    });
  });

  describe('cursors', () => {
    it('a cursor only works with the sort it was issued for (422 at /query/cursor)', async () => {
      const first = await alice.request<TaskList>('GET', `/api/projects/${paged}/tasks`, { query: { sort: 'title', limit: 2 } });
      const res = await alice.request('GET', `/api/projects/${paged}/tasks`, { query: { sort: '-title', cursor: first.body.next_cursor! } });
      expect(expectProblem(res, 422, 'validation-failed').errors).toEqual([{ pointer: '/query/cursor', message: expect.any(String) }]);
      const defaultSort = await alice.request('GET', `/api/projects/${paged}/tasks`, { query: { cursor: first.body.next_cursor! } });
      expectProblem(defaultSort, 422, 'validation-failed');
    });

    const forged = (...key: unknown[]) => Buffer.from(JSON.stringify(key)).toString('base64url');
    it.each([
      ['garbage', 'title', 'not-a-cursor'],
      ['a forged key', 'title', forged('title', 1, 'x')],
      ['a key with SQL in it', '-created_at', forged('-created_at', "1'; drop table task; --", 1)],
      ['a due_date key of the wrong type', 'due_date', forged('due_date', 'tomorrow', 1)],
      ['a created_at key that is not a real instant', 'created_at', forged('created_at', '2026-02-30T00:00:00.000000Z', 1)],
      ['a created_at key without microseconds', '-created_at', forged('-created_at', '2026-02-01T00:00:00Z', 1)],
      ['a priority rank out of range', 'priority', forged('priority', 9, 1)],
    ])('422 for %s', async (_name, sort, cursor) => {
      const res = await alice.request('GET', `/api/projects/${paged}/tasks`, { query: { sort, cursor } });
      expect(expectProblem(res, 422, 'validation-failed').errors?.[0]?.pointer).toBe('/query/cursor');
    });

    it.each([[0], [101], ['x']])('422 at /query/limit for limit=%p', async (limit) => {
      const res = await alice.request('GET', `/api/projects/${paged}/tasks`, { query: { limit } });
      expect(expectProblem(res, 422, 'validation-failed').errors?.[0]?.pointer).toBe('/query/limit');
    });

    it('422 for an unknown sort', async () => {
      const res = await alice.request('GET', `/api/projects/${paged}/tasks`, { query: { sort: 'status' } });
      expect(expectProblem(res, 422, 'validation-failed').errors?.[0]?.pointer).toBe('/query/sort');
    });

    it.each(['due_date', '-due_date'])('pages across far-apart due dates (years 1000 and 9999) under %s', async (sort) => {
      const far = await newProject(t, alice);
      const dues = ['9999-12-31T23:59:59.999Z', '1000-01-01T00:00:00.000Z', null, '2026-06-01T00:00:00.000Z'];
      for (const due_date of dues) await createTask(alice, far, { title: String(due_date), due_date });
      const seen: (string | null)[] = [];
      let cursor: string | undefined;
      do {
        const res = await alice.request<TaskList>('GET', `/api/projects/${far}/tasks`, { query: { sort, limit: 1, ...(cursor ? { cursor } : {}) } });
        expect(res.status).toBe(200);
        seen.push(...res.body.items.map((i) => i.due_date));
        cursor = res.body.next_cursor ?? undefined;
      } while (cursor);
      const dated = ['1000-01-01T00:00:00.000Z', '2026-06-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z'];
      expect(seen).toEqual([...(sort === 'due_date' ? dated : dated.reverse()), null]);
    });

    it('the last page has next_cursor null; a page of exactly limit rows at the end too', async () => {
      const small = await newProject(t, alice);
      for (let i = 0; i < 4; i++) await createTask(alice, small, { title: `S${i}` });
      const page1 = await alice.request<TaskList>('GET', `/api/projects/${small}/tasks`, { query: { limit: 2, sort: 'created_at' } });
      const page2 = await alice.request<TaskList>('GET', `/api/projects/${small}/tasks`, { query: { limit: 2, sort: 'created_at', cursor: page1.body.next_cursor! } });
      expect(page2.body.items.map((i) => i.title)).toEqual(['S2', 'S3']);
      expect(page2.body.next_cursor).toBeNull();
    });
  });
});
