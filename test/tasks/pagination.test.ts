/**
 * Keyset pagination of listProjectTasks: 250 tasks under every sort, paged 7 at a time while other tasks are
 * being created, come out in the documented order with no duplicates and no gaps. The keys collide on purpose
 * (equal titles, due dates, priorities, and creation times that differ by microseconds only), so the id
 * tiebreak and the precision of the cursor are what keep the pages apart.
 */
import { sql } from 'slonik';
import { z } from 'zod';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTask, expectProblem, newProject, signIn, type SignedIn, type TaskList } from './support.js';

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

let t: TestApp;
let alice: SignedIn;
let project: number;
const originals: Original[] = [];

const BASE_US = 1_767_225_600_000_000n; // 2026-01-01T00:00:00Z
const isoOf = (us: bigint) => {
  const ms = us / 1000n;
  const micros = (us % 1000n).toString().padStart(3, '0');
  return new Date(Number(ms)).toISOString().replace('Z', `${micros}Z`);
};

beforeAll(async () => {
  t = await startTestApp();
  alice = await signIn(t, 'alice');
  project = await newProject(t, alice);
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
      values (${alice.tenant}, ${project}, ${o.title}, ${o.priority}, ${o.dueUs === null ? null : isoOf(o.dueUs)}::timestamptz,
              ${isoOf(o.createdUs)}::timestamptz, ${alice.workerId})
      returning id`);
    originals.push({ id, ...o });
  }
});
afterAll(() => t.close());

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
        await createTask(alice, project, {
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
      const res = await alice.request<TaskList>('GET', `/api/projects/${project}/tasks`, {
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
    const res = await alice.request<TaskList>('GET', `/api/projects/${project}/tasks`, { query: { limit: 3 } });
    const ids = res.body.items.map((i) => i.id);
    const sorted = [...res.body.items].sort((a, b) => cmp(b.created_at, a.created_at) || cmp(b.id, a.id)).map((i) => i.id);
    expect(ids).toEqual(sorted);
    expect(res.body.next_cursor).toEqual(expect.any(String));
  });
});

describe('cursors', () => {
  it('a cursor only works with the sort it was issued for (422 at /query/cursor)', async () => {
    const first = await alice.request<TaskList>('GET', `/api/projects/${project}/tasks`, { query: { sort: 'title', limit: 2 } });
    const res = await alice.request('GET', `/api/projects/${project}/tasks`, { query: { sort: '-title', cursor: first.body.next_cursor! } });
    expect(expectProblem(res, 422, 'validation-failed').errors).toEqual([{ pointer: '/query/cursor', message: expect.any(String) }]);
    const defaultSort = await alice.request('GET', `/api/projects/${project}/tasks`, { query: { cursor: first.body.next_cursor! } });
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
    const res = await alice.request('GET', `/api/projects/${project}/tasks`, { query: { sort, cursor } });
    expect(expectProblem(res, 422, 'validation-failed').errors?.[0]?.pointer).toBe('/query/cursor');
  });

  it.each([[0], [101], ['x']])('422 at /query/limit for limit=%p', async (limit) => {
    const res = await alice.request('GET', `/api/projects/${project}/tasks`, { query: { limit } });
    expect(expectProblem(res, 422, 'validation-failed').errors?.[0]?.pointer).toBe('/query/limit');
  });

  it('422 for an unknown sort', async () => {
    const res = await alice.request('GET', `/api/projects/${project}/tasks`, { query: { sort: 'status' } });
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
