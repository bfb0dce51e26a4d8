/**
 * The list queries as the server sends them, EXPLAINed on a few thousand tasks: a page is an index scan in the
 * page's order, never a sequential scan of task followed by a sort. The SQL functions of tasks-list.sql.ts run
 * on a pool whose interceptor prefixes EXPLAIN, so what is checked is exactly the text the handlers execute.
 */
import { createPool, sql, type DatabasePool } from 'slonik';
import { toPage } from '../../src/http/paging.js';
import type { Principal } from '../../src/http/principal.js';
import {
  cursorKeyOf,
  listMemberTasksPage,
  listProjectTasksPage,
  TASK_SORTS,
  type TaskFilter,
  type TaskSort,
} from '../../src/tasks/tasks-list.sql.js';
import { claimNextIfMember, findVisibleTaskWithSubtasks } from '../../src/tasks/tasks.sql.js';
import { effectsOf } from '../../src/tasks/workflow.js';
import { actorOf } from '../../src/audit/index.js';
import { z } from 'zod';
import { startTestDatabase, type TestDatabaseOnly } from '../helpers/app.js';
import { newProject } from '../helpers/factories.js';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Scan Direction'?: string;
  'Index Cond'?: string;
  'Parent Relationship'?: string;
  'Plan Rows'?: number;
  Plans?: PlanNode[];
}

let t: TestDatabaseOnly; // SQL only: no server
let explain: DatabasePool;
let alice: { tenant: string; workerId: number };
let who: Principal;
let project: number;
const LIMIT = 50;

/** Every node of a plan, depth first. */
const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)];

/** Sequential scans of task (worker and member are small enough that a seq scan is the right plan for them). */
const taskSeqScans = (plan: PlanNode) => nodesOf(plan).filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'task');

/** The plan's spine: the nodes producing the page's rows, not the subplans (membership, subtask count). */
const spineOf = (node: PlanNode): PlanNode[] => {
  const outer = (node.Plans ?? []).find((p) => p['Parent Relationship'] !== 'InitPlan' && p['Parent Relationship'] !== 'SubPlan');
  return [node, ...(outer ? spineOf(outer) : [])];
};

/** The plan of what `run` sends, on the explaining pool (or another one, e.g. for generic plans). */
async function planOf(run: (db: DatabasePool) => Promise<unknown>, on: DatabasePool = explain): Promise<PlanNode> {
  const result = (await run(on)) as { 'QUERY PLAN': [{ Plan: PlanNode }] } | { 'QUERY PLAN': [{ Plan: PlanNode }] }[];
  return (Array.isArray(result) ? result[0]! : result)['QUERY PLAN'][0].Plan;
}

beforeAll(async () => {
  t = await startTestDatabase();
  const workerId = await t.pool.oneFirst(sql.type(z.object({ id: z.number() }))`
    insert into worker (tenant_id, type, user_id, handle, name) values ('default', 'human', 'alice', '@alice', 'alice') returning id`);
  alice = { tenant: 'default', workerId };
  who = { userId: 'alice', email: null, name: null, tenantId: alice.tenant, workerId: alice.workerId, handle: '@alice', workerName: 'alice', defaultProjectId: null, actorType: 'human', client: null };
  const projects = [await newProject(t, alice), await newProject(t, alice), await newProject(t, alice), await newProject(t, alice)];
  project = projects[0]!;
  // 4 projects × 1,500 tasks: varied due dates (a fifth without), priorities, titles, creation times; a few subtasks.
  await t.pool.query(sql.unsafe`
    insert into task (tenant_id, project_id, title, priority, due_date, status, tags, created_by_id, created_at, updated_at)
    select ${alice.tenant}, p.id, 'Task ' || md5(g::text), (array['low','medium','high','critical'])[1 + g % 4],
           case when g % 5 = 0 then null else timestamptz '2026-01-01' + (g % 97) * interval '1 day' end,
           (array['pending','in_progress','review','completed','blocked'])[1 + g % 5],
           case when g % 10 = 0 then array['bug'] else '{}' end,
           ${alice.workerId}, timestamptz '2026-01-01' + g * interval '1 minute',
           timestamptz '2026-01-01' + ((g * 7919) % 1500) * interval '1 minute'
    from unnest(${sql.array(projects, 'int8')}) as p(id), generate_series(1, 1500) g`);
  await t.pool.query(sql.unsafe`
    insert into task (tenant_id, project_id, parent_task_id, title, created_by_id)
    select tenant_id, project_id, id, 'Sub of ' || id, created_by_id from task where id % 50 = 0`);
  await t.pool.query(sql.unsafe`analyze`); // what autovacuum keeps up to date in production
  explain = await createPool(t.db.url, {
    interceptors: [{ name: 'explain', transformQuery: (_ctx, query) => ({ ...query, sql: `explain (format json) ${query.sql}` }) }],
  });
});
afterAll(async () => {
  await explain?.end();
  await t.close();
});

/** The cursor the server would hand out after the first page of this sort. */
async function secondPageCursor(sort: TaskSort, filter: TaskFilter = {}): Promise<string> {
  const rows = await listProjectTasksPage(t.pool, who, project, filter, { sort, limit: LIMIT });
  return toPage(rows, LIMIT, sort, (r) => cursorKeyOf(sort, r), (r) => r).next_cursor!;
}

const INDEX_OF: Record<TaskSort, string> = {
  created_at: 'task_project_created_idx',
  '-created_at': 'task_project_created_idx',
  updated_at: 'task_project_updated_idx',
  '-updated_at': 'task_project_updated_idx',
  due_date: 'task_project_due_nulls_last_idx',
  '-due_date': 'task_project_due_desc_nulls_last_idx',
  priority: 'task_project_priority_idx',
  '-priority': 'task_project_priority_idx',
  title: 'task_project_title_idx',
  '-title': 'task_project_title_idx',
};

describe('project task list plans', () => {
  it.each(TASK_SORTS)('sort=%s: first and next page are index scans in order, no sort, no seq scan', async (sort) => {
    const cursor = await secondPageCursor(sort);
    for (const page of [{ sort, limit: LIMIT }, { sort, limit: LIMIT, cursor }]) {
      const plan = await planOf((db) => listProjectTasksPage(db, who, project, {}, page));
      const spine = spineOf(plan);
      expect(spine.map((n) => n['Node Type'])).not.toContain('Sort');
      expect(taskSeqScans(plan)).toEqual([]);
      const scan = spine.find((n) => n['Relation Name'] === 'task');
      expect(scan).toMatchObject({ 'Node Type': 'Index Scan', 'Index Name': INDEX_OF[sort], 'Scan Direction': sort.startsWith('-') ? 'Backward' : 'Forward' });
      if (page.cursor) expect(scan?.['Index Cond']).toMatch(/id/); // the cursor bounds the range, not a filter
    }
  });

  it.each<[string, TaskFilter]>([
    ['status', { statuses: ['in_progress'] }],
    ['tag', { tags: ['bug'] }],
    ['parent_task_id=none', { parentId: null }],
    ['has_due_date', { hasDueDate: true }],
  ])('filter %s with the default sort: the index order, filtered; no seq scan, no sort', async (name, filter) => {
    const plan = await planOf((db) => listProjectTasksPage(db, who, project, filter, { sort: '-created_at', limit: LIMIT }));
    expect(taskSeqScans(plan)).toEqual([]);
    expect(spineOf(plan).map((n) => n['Node Type'])).not.toContain('Sort');
  });

  it.each<[TaskSort, string]>([
    ['updated_at', 'Forward'],
    ['-updated_at', 'Backward'],
  ])('updated_since with sort=%s (a sync): a range of the updated_at index, bounded by the instant, no sort', async (sort, direction) => {
    const plan = await planOf((db) => listProjectTasksPage(db, who, project, { updatedSince: '2026-01-01T12:00:00Z' }, { sort, limit: LIMIT }));
    expect(taskSeqScans(plan)).toEqual([]);
    const spine = spineOf(plan);
    expect(spine.map((n) => n['Node Type'])).not.toContain('Sort');
    const scan = spine.find((n) => n['Relation Name'] === 'task');
    expect(scan).toMatchObject({ 'Node Type': 'Index Scan', 'Index Name': 'task_project_updated_idx', 'Scan Direction': direction });
    expect(scan?.['Index Cond']).toMatch(/updated_at >=/);
  });

  it.each<[string, TaskFilter]>([
    ['due_before', { dueBefore: '2026-01-02T00:00:00Z' }],
    ['due_after', { dueAfter: '2026-04-05T00:00:00Z' }],
  ])('filter %s, a narrow range: no seq scan; an index finds the range (its bound is an index condition)', async (_name, filter) => {
    const plan = await planOf((db) => listProjectTasksPage(db, who, project, filter, { sort: '-created_at', limit: LIMIT }));
    expect(taskSeqScans(plan)).toEqual([]);
    // A few dozen rows of the project's 1,500: found by their due date (task_project_due_idx is gone, see
    // sql/1796300000000_drop-task-project-due-index.sql), not by reading the project's tasks newest first.
    const indexConds = nodesOf(plan).map((n) => n['Index Cond'] ?? '');
    expect(indexConds.some((c) => /due_date [<>]/.test(c))).toBe(true);
  });

  it('filter q: no seq scan (a rare word is found through the project index, and only its matches are sorted)', async () => {
    const plan = await planOf((db) => listProjectTasksPage(db, who, project, { q: 'abc' }, { sort: '-created_at', limit: LIMIT }));
    expect(taskSeqScans(plan)).toEqual([]);
  });
});

describe('my tasks plans', () => {
  it.each<[string, TaskFilter, string]>([
    ['everything', {}, 'task_tenant_created_idx'],
    ['assignee_id=me', { assigneeId: 1 }, 'task_assignee_created_idx'],
  ])('%s, newest first: a backward index scan kept to the caller’s projects, no sort', async (_name, filter, index) => {
    const plan = await planOf((db) => listMemberTasksPage(db, who, { ...filter, assigneeId: filter.assigneeId && who.workerId }, { sort: '-created_at', limit: LIMIT }));
    expect(taskSeqScans(plan)).toEqual([]);
    expect(spineOf(plan).map((n) => n['Node Type'])).not.toContain('Sort');
    expect(spineOf(plan).find((n) => n['Relation Name'] === 'task')).toMatchObject({ 'Index Name': index, 'Scan Direction': 'Backward' });
  });

  const MERGED: TaskSort[] = ['due_date', '-due_date', 'priority', '-priority', 'title', '-title'];
  it.each(MERGED)('sort=%s (no index across projects): each project a range of its sort index; only their first pages are sorted', async (sort) => {
    const first = await listMemberTasksPage(t.pool, who, {}, { sort, limit: LIMIT });
    const after = cursorKeyOf(sort, first[LIMIT - 1]!);
    for (const page of [{ sort, limit: LIMIT }, { sort, limit: LIMIT, after }]) {
      const plan = await planOf((db) => listMemberTasksPage(db, who, {}, page));
      expect(taskSeqScans(plan)).toEqual([]);
      const scans = nodesOf(plan).filter((n) => n['Index Name'] === INDEX_OF[sort]);
      expect(scans).toHaveLength(1);
      expect(scans[0]).toMatchObject({ 'Node Type': 'Index Scan', 'Scan Direction': sort.startsWith('-') ? 'Backward' : 'Forward' });
      expect(scans[0]!['Index Cond']).toMatch(/project_id = m\.project_id/);
      if (page.after) expect(scans[0]!['Index Cond']).toMatch(/id/); // the cursor bounds each project's range
      // 4 projects × 1,500 tasks: what is sorted is at most their first pages, never the 6,000 tasks
      for (const sorted of nodesOf(plan).filter((n) => n['Node Type'] === 'Sort')) expect(sorted['Plan Rows']).toBeLessThanOrEqual(4 * (LIMIT + 1));
    }
  });

  it('updated_since, sort=-updated_at (a cold-start sync across projects): the tenant updated_at index, no sort', async () => {
    const plan = await planOf((db) => listMemberTasksPage(db, who, { updatedSince: '2026-01-01T12:00:00Z' }, { sort: '-updated_at', limit: LIMIT }));
    expect(taskSeqScans(plan)).toEqual([]);
    expect(spineOf(plan).map((n) => n['Node Type'])).not.toContain('Sort');
    expect(spineOf(plan).find((n) => n['Relation Name'] === 'task')).toMatchObject({ 'Index Name': 'task_tenant_updated_idx', 'Scan Direction': 'Backward' });
  });
});

/**
 * task_parent_idx indexes only the rows that have a parent (migration 1796400000000): every lookup of a task's
 * subtasks asks for one parent with `=`, which implies not null, so PostgreSQL may use the partial index. The
 * server runs these statements prepared, on generic plans where the parent is a parameter, so the check is made
 * on the generic plan (EXPLAIN's GENERIC_PLAN, PostgreSQL 16 and later) as well as on the plan for the values.
 */
describe('subtask lookups through the partial task_parent_idx', () => {
  let generic: DatabasePool;
  beforeAll(async () => {
    generic = await createPool(t.db.url, {
      interceptors: [{ name: 'explain-generic', transformQuery: (_ctx, query) => ({ ...query, sql: `explain (generic_plan, format json) ${query.sql}` }) }],
    });
  });
  afterAll(() => generic?.end());

  const parentScans = (plan: PlanNode) => nodesOf(plan).filter((n) => n['Relation Name'] === 'task' && n['Index Name'] === 'task_parent_idx');

  it('a task with its embedded subtasks, their count and the open-subtask probe: task_parent_idx, no seq scan', async () => {
    const parentId = await t.pool.oneFirst(sql.type(z.object({ id: z.number() }))`select min(parent_task_id) as id from task`);
    for (const on of [explain, generic]) {
      const plan = await planOf((db) => findVisibleTaskWithSubtasks(db, who, parentId), on);
      expect(taskSeqScans(plan)).toEqual([]);
      // the embedded subtasks, their subtask counts, the task's open-subtask probe (and its recursive step)
      expect(parentScans(plan).length).toBeGreaterThanOrEqual(3);
      for (const scan of parentScans(plan)) expect(scan['Index Cond']).toMatch(/parent_task_id = /);
    }
  });

  it("a project's page: each row's subtask count through task_parent_idx", async () => {
    for (const on of [explain, generic]) {
      const plan = await planOf((db) => listProjectTasksPage(db, who, project, {}, { sort: '-created_at', limit: LIMIT }), on);
      expect(taskSeqScans(plan)).toEqual([]);
      expect(parentScans(plan).length).toBeGreaterThanOrEqual(1);
    }
  });
});

/**
 * claimNextTask's pick walks task_claimable_idx (migration 1796500000000), which holds only pending, unassigned
 * tasks in the claim's order: the first row it can lock is the answer, with no bitmap of every unassigned task and
 * no sort. The statement writes, so it is EXPLAINed (planned, never executed) and the plan captured as it comes back.
 */
const CLAIMED_FROM = [false, true].map((started) => ({ from: 'pending' as const, started, effects: effectsOf('pending', 'in_progress', started) }));

describe("claimNextTask's pick through task_claimable_idx", () => {
  const plans: PlanNode[] = [];
  let capturing: DatabasePool[] = [];
  beforeAll(async () => {
    capturing = await Promise.all(['', 'generic_plan, '].map((option) => createPool(t.db.url, {
      interceptors: [{
        name: 'explain-and-capture',
        transformQuery: (_ctx, query) => ({ ...query, sql: `explain (${option}format json) ${query.sql}` }),
        afterQueryExecution: (_ctx, _query, result) => {
          plans.push((result.rows[0] as unknown as { 'QUERY PLAN': [{ Plan: PlanNode }] })['QUERY PLAN'][0].Plan);
          return null;
        },
      }],
    })));
  });
  afterAll(() => Promise.all(capturing.map((pool) => pool.end())));

  it.each([
    ['no filter', {}],
    ['tags and priority', { tags: ['bug'], priorities: ['high', 'critical'] }],
  ])('%s: the claimable index in order under the row lock, on the plan for the values and the generic plan', async (_name, filter) => {
    for (const pool of capturing) {
      plans.length = 0;
      await claimNextIfMember(pool, who, project, filter, CLAIMED_FROM, actorOf(who));
      const plan = plans[0]!;
      expect(taskSeqScans(plan)).toEqual([]);
      // the pick's row lock (the other one is the project's and the membership's, in `access`)
      const lock = nodesOf(plan).find((n) => n['Node Type'] === 'LockRows' && nodesOf(n).some((c) => c['Relation Name'] === 'task'))!;
      expect(spineOf(lock).map((n) => n['Node Type'])).toEqual(['LockRows', 'Index Scan']);
      expect(spineOf(lock)[1]).toMatchObject({ 'Index Name': 'task_claimable_idx', 'Scan Direction': 'Forward' });
      expect(nodesOf(plan).filter((n) => n['Index Name'] === 'task_assignee_created_idx')).toEqual([]);
    }
  });
});
