import { sql, type FragmentSqlToken } from 'slonik';
import { z } from 'zod';
import { Id, limitRows, type Db, type TaskStatus } from '../db/index.js';
import type { Principal } from '../http/principal.js';
import { SUMMARY_COLUMNS, SUMMARY_SOURCE_COLUMNS, TaskSummaryRow } from './tasks.sql.js';

/**
 * Keyset pagination. Every order ends in the task id, so it is total, and a cursor holds the sort key of the
 * last row plus its id. Timestamps go into cursors as UTC text with all six fractional digits PostgreSQL keeps
 * (`2026-01-31T09:00:00.123456Z`): a key rounded to the milliseconds of a JSON timestamp would repeat or skip
 * rows, and microseconds since the epoch stop being exact JavaScript numbers beyond ±285 years of 1970.
 *
 * `due_date` puts tasks without a due date last in both directions, so its key is (has no due date, due date,
 * id); both directions are a single row comparison over an expression index from
 * sql/*_task-list-indexes.sql, so a page is an index range scan, never a sort of the whole project.
 */
export const TASK_SORTS = ['created_at', '-created_at', 'updated_at', '-updated_at', 'due_date', '-due_date', 'priority', '-priority', 'title', '-title'] as const;
export type TaskSort = (typeof TASK_SORTS)[number];

/**
 * A summary with the key of the page's sort (see SortSpec.keyColumn): only the one the cursor needs is computed,
 * since `to_char` on three timestamps of every row cost PostgreSQL about a tenth of a page's CPU.
 */
export const TaskListRow = TaskSummaryRow.extend({
  sortKey: z.union([z.string(), z.number().int()]).nullable(),
});
export type TaskListRow = z.infer<typeof TaskListRow>;

const keyText = (column: FragmentSqlToken) => sql.fragment`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** A timestamp key from a cursor: the exact format keyText writes, and a real instant, so the cast cannot fail. */
const TimestampKey = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/)
  .refine((key) => {
    const millis = key.slice(0, 23);
    const date = new Date(`${millis}Z`);
    return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 23) === millis;
  });
const at = (key: string) => sql.fragment`${key}::timestamptz`;

interface SortSpec<K extends z.ZodTuple> {
  key: K;
  /** What the statement selects as "sortKey" (none: the key is a summary column, e.g. the title). */
  keyColumn?: FragmentSqlToken;
  /** The cursor key of a row: its sortKey (or summary column) and id, as `key` checks them when they come back. */
  keyOf: (row: TaskListRow) => unknown[];
  order: FragmentSqlToken;
  /** Rows strictly after the cursor's row in this order. */
  after: (key: z.infer<K>) => FragmentSqlToken;
}
const spec = <K extends z.ZodTuple>(s: SortSpec<K>) => s;

const SORTS = {
  created_at: spec({
    key: z.tuple([TimestampKey, Id]),
    keyColumn: keyText(sql.fragment`t.created_at`),
    keyOf: (r) => [r.sortKey, r.id],
    order: sql.fragment`t.created_at, t.id`,
    after: ([created, id]) => sql.fragment`(t.created_at, t.id) > (${at(created)}, ${id})`,
  }),
  '-created_at': spec({
    key: z.tuple([TimestampKey, Id]),
    keyColumn: keyText(sql.fragment`t.created_at`),
    keyOf: (r) => [r.sortKey, r.id],
    order: sql.fragment`t.created_at desc, t.id desc`,
    after: ([created, id]) => sql.fragment`(t.created_at, t.id) < (${at(created)}, ${id})`,
  }),
  updated_at: spec({
    key: z.tuple([TimestampKey, Id]),
    keyColumn: keyText(sql.fragment`t.updated_at`),
    keyOf: (r) => [r.sortKey, r.id],
    order: sql.fragment`t.updated_at, t.id`,
    after: ([updated, id]) => sql.fragment`(t.updated_at, t.id) > (${at(updated)}, ${id})`,
  }),
  '-updated_at': spec({
    key: z.tuple([TimestampKey, Id]),
    keyColumn: keyText(sql.fragment`t.updated_at`),
    keyOf: (r) => [r.sortKey, r.id],
    order: sql.fragment`t.updated_at desc, t.id desc`,
    after: ([updated, id]) => sql.fragment`(t.updated_at, t.id) < (${at(updated)}, ${id})`,
  }),
  due_date: spec({
    key: z.tuple([TimestampKey.nullable(), Id]),
    keyColumn: keyText(sql.fragment`t.due_date`),
    keyOf: (r) => [r.sortKey, r.id],
    order: sql.fragment`t.due_date is null, t.due_date, t.id`,
    after: ([due, id]) =>
      due === null
        ? sql.fragment`t.due_date is null and t.id > ${id}`
        : sql.fragment`(t.due_date is null, t.due_date, t.id) > (false, ${at(due)}, ${id})`,
  }),
  '-due_date': spec({
    key: z.tuple([TimestampKey.nullable(), Id]),
    keyColumn: keyText(sql.fragment`t.due_date`),
    keyOf: (r) => [r.sortKey, r.id],
    order: sql.fragment`t.due_date is not null desc, t.due_date desc, t.id desc`,
    after: ([due, id]) =>
      due === null
        ? sql.fragment`t.due_date is null and t.id < ${id}`
        : sql.fragment`(t.due_date is not null, t.due_date, t.id) < (true, ${at(due)}, ${id})`,
  }),
  priority: spec({
    key: z.tuple([z.number().int().min(1).max(4), Id]),
    keyColumn: sql.fragment`t.priority_rank`,
    keyOf: (r) => [r.sortKey, r.id],
    order: sql.fragment`t.priority_rank, t.id`,
    after: ([rank, id]) => sql.fragment`(t.priority_rank, t.id) > (${rank}, ${id})`,
  }),
  '-priority': spec({
    key: z.tuple([z.number().int().min(1).max(4), Id]),
    keyColumn: sql.fragment`t.priority_rank`,
    keyOf: (r) => [r.sortKey, r.id],
    order: sql.fragment`t.priority_rank desc, t.id desc`,
    after: ([rank, id]) => sql.fragment`(t.priority_rank, t.id) < (${rank}, ${id})`,
  }),
  title: spec({
    key: z.tuple([z.string(), Id]),
    keyOf: (r) => [r.title, r.id],
    order: sql.fragment`t.title, t.id`,
    after: ([title, id]) => sql.fragment`(t.title, t.id) > (${title}, ${id})`,
  }),
  '-title': spec({
    key: z.tuple([z.string(), Id]),
    keyOf: (r) => [r.title, r.id],
    order: sql.fragment`t.title desc, t.id desc`,
    after: ([title, id]) => sql.fragment`(t.title, t.id) < (${title}, ${id})`,
  }),
} satisfies Record<TaskSort, SortSpec<z.ZodTuple>>;

/** A sort's spec with its key type erased: what the functions below need of any sort. */
const specOf = (sort: TaskSort) => SORTS[sort] as SortSpec<z.ZodTuple>;

/** The cursor key of a row under a sort, for toPage. */
export const cursorKeyOf = (sort: TaskSort, row: TaskListRow): unknown[] => SORTS[sort].keyOf(row);

/**
 * What a cursor of this sort must hold: the schema a decoded cursor is checked against before it reaches
 * SQL (tasks-list.ts), so the casts in the "after" conditions cannot fail.
 */
export const cursorKeySchema = (sort: TaskSort): z.ZodTuple => specOf(sort).key;

/** The "after the cursor" condition, or none on the first page. */
function afterCursor(sort: TaskSort, after: readonly unknown[] | undefined): FragmentSqlToken[] {
  return after === undefined ? [] : [specOf(sort).after(after as z.infer<z.ZodTuple>)];
}

export interface TaskFilter {
  statuses?: readonly TaskStatus[];
  priorities?: readonly string[];
  assigneeId?: number;
  /** Every one must be present. */
  tags?: readonly string[];
  q?: string;
  dueBefore?: string;
  dueAfter?: string;
  hasDueDate?: boolean;
  /** null: top-level tasks only. */
  parentId?: number | null;
  /** Changed at or after this instant. */
  updatedSince?: string;
  /** One project only (lists across projects). */
  projectId?: number;
}

/** `50%_off\` as a LIKE pattern matching itself anywhere: the wildcards and the escape are escaped. */
const containsPattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Ids that no row can have (beyond JavaScript's exact integers) match nothing rather than failing in SQL. */
const idOrNothing = (column: FragmentSqlToken, id: number) =>
  Number.isSafeInteger(id) ? sql.fragment`${column} = ${id}` : sql.fragment`false`;

function filterConditions(f: TaskFilter): FragmentSqlToken[] {
  const where: FragmentSqlToken[] = [];
  if (f.statuses?.length) where.push(sql.fragment`t.status = any(${sql.array([...f.statuses], 'text')})`);
  if (f.priorities?.length) where.push(sql.fragment`t.priority = any(${sql.array([...f.priorities], 'text')})`);
  if (f.assigneeId !== undefined) where.push(idOrNothing(sql.fragment`t.assignee_id`, f.assigneeId));
  if (f.tags?.length) where.push(sql.fragment`t.tags @> ${sql.array([...f.tags], 'text')}`);
  if (f.q !== undefined) {
    const pattern = containsPattern(f.q);
    where.push(sql.fragment`(t.title ilike ${pattern} or t.description ilike ${pattern})`);
  }
  // `is not null` is implied by the comparison, but written out it makes the range an index condition of
  // task_project_due_desc_nulls_last_idx (project_id, due_date is not null, due_date, id).
  if (f.dueBefore !== undefined) where.push(sql.fragment`t.due_date is not null and t.due_date < ${f.dueBefore}::timestamptz`);
  if (f.dueAfter !== undefined) where.push(sql.fragment`t.due_date is not null and t.due_date >= ${f.dueAfter}::timestamptz`);
  if (f.hasDueDate !== undefined) where.push(f.hasDueDate ? sql.fragment`t.due_date is not null` : sql.fragment`t.due_date is null`);
  if (f.parentId === null) where.push(sql.fragment`t.parent_task_id is null`);
  else if (f.parentId !== undefined) where.push(idOrNothing(sql.fragment`t.parent_task_id`, f.parentId));
  if (f.updatedSince !== undefined) where.push(sql.fragment`t.updated_at >= ${f.updatedSince}::timestamptz`);
  if (f.projectId !== undefined) where.push(idOrNothing(sql.fragment`t.project_id`, f.projectId));
  return where;
}

export interface PageRequest {
  sort: TaskSort;
  limit: number;
  /** The last row's key from the cursor, checked against cursorKeySchema(sort); none on the first page. */
  after?: readonly unknown[];
}

/** One statement per page: the summaries with their assignee handle and subtask count, limit + 1 rows. */
const selectPage = (db: Db, scope: FragmentSqlToken[], filter: TaskFilter, page: PageRequest) =>
  db.any(sql.type(TaskListRow)`
    select ${SUMMARY_COLUMNS}, ${specOf(page.sort).keyColumn ?? sql.fragment`null::text`} as "sortKey"
    from task t
    left join worker a on a.id = t.assignee_id
    where ${sql.join([...scope, ...filterConditions(filter), ...afterCursor(page.sort, page.after)], sql.fragment` and `)}
    order by ${SORTS[page.sort].order}
    ${limitRows(page.limit + 1)}`);

/**
 * A page of one project's tasks, and only if the caller is a member of it: the membership is a one-time
 * condition of the same statement (one round trip). An empty page does not say which it was: a caller who got
 * none checks the membership (requireProjectRole) for the 404.
 */
export const listProjectTasksPage = (db: Db, who: Principal, projectId: number, filter: TaskFilter, page: PageRequest) =>
  selectPage(
    db,
    [
      sql.fragment`t.project_id = ${projectId}`,
      sql.fragment`t.tenant_id = ${who.tenantId}`,
      sql.fragment`exists (select 1 from member m where m.project_id = ${projectId} and m.worker_id = ${who.workerId})`,
    ],
    filter,
    page,
  );

/**
 * The orders an index across a tenant's projects delivers: task_tenant_created_idx and task_tenant_updated_idx
 * (and task_assignee_created_idx with an assignee filter). "My work" in these orders walks that index and
 * stops at the page's last row, however the caller's projects and the filters spread the matches.
 */
const TENANT_ORDERED: ReadonlySet<TaskSort> = new Set(['created_at', '-created_at', 'updated_at', '-updated_at']);

/**
 * A page of the tasks of every project the caller is a member of ("my work"), in any sort, one statement.
 *
 * Due date, priority and title have no index across projects: a single scan there meant reading and sorting
 * every task of every project of the caller (130 ms for `sort=due_date` on the 100,000-task bench data).
 * In those orders each of the caller's projects gives its first limit + 1 rows after the cursor, from the
 * per-project index of that sort (the same range scan as the project's own list), and the page is the first
 * limit + 1 of those: at most every row of the caller's projects is read, as before, and usually
 * (limit + 1) × projects. The summary columns (subtask counts, the assignee's handle) are computed for the
 * page's rows only.
 */
export function listMemberTasksPage(db: Db, who: Principal, filter: TaskFilter, page: PageRequest) {
  if (TENANT_ORDERED.has(page.sort)) {
    return selectPage(
      db,
      [
        sql.fragment`t.tenant_id = ${who.tenantId}`,
        sql.fragment`t.project_id in (select m.project_id from member m where m.worker_id = ${who.workerId})`,
      ],
      filter,
      page,
    );
  }
  const { order } = SORTS[page.sort];
  const rows = limitRows(page.limit + 1);
  const where = [sql.fragment`t.project_id = m.project_id`, sql.fragment`t.tenant_id = ${who.tenantId}`, ...filterConditions(filter), ...afterCursor(page.sort, page.after)];
  // `t` is the task table in each project's scan, then that scan's rows: the columns the summary and every
  // order read, so both read them as they read the table.
  return db.any(sql.type(TaskListRow)`
    select ${SUMMARY_COLUMNS}, ${specOf(page.sort).keyColumn ?? sql.fragment`null::text`} as "sortKey"
    from (select t.*
          from member m
          cross join lateral (
            select ${SUMMARY_SOURCE_COLUMNS}, t.priority_rank
            from task t
            where ${sql.join(where, sql.fragment` and `)}
            order by ${order}
            ${rows}) t
          where m.worker_id = ${who.workerId}
          order by ${order}
          ${rows}) t
    left join worker a on a.id = t.assignee_id
    order by ${order}`);
}
