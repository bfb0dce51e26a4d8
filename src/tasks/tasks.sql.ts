import { sql, type FragmentSqlToken } from 'slonik';
import { z } from 'zod';
import { Id, Priority, RecurrencePattern, TaskStatus, Timestamp, limitRows, timestamptzToIso, type AuditAction, type Db } from '../db/index.js';
import { auditInsertFrom, recordAudit, type Actor } from '../audit/index.js';
import type { Principal } from '../http/principal.js';

// Ids arrive as JSON numbers bounded by int8's maximum, which JavaScript cannot hold exactly: such an id names
// no row, so lookups answer "not found" instead of sending PostgreSQL a value it would refuse.
const isId = (id: number): boolean => Number.isSafeInteger(id) && id > 0;

/** A task as lists show it (TaskSummary). */
export const TaskSummaryRow = z.object({
  id: Id,
  projectId: Id,
  title: z.string(),
  status: TaskStatus,
  priority: Priority,
  progressPercent: z.number().int(),
  tags: z.array(z.string()),
  assigneeId: Id.nullable(),
  assigneeHandle: z.string().nullable(),
  dueDate: Timestamp.nullable(),
  parentTaskId: Id.nullable(),
  subtaskCount: z.number().int(),
  isRecurring: z.boolean(),
  /** A subtask at any depth is not completed (so the task cannot be completed yet). */
  hasOpenSubtasks: z.boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  version: z.number().int(),
});
export type TaskSummaryRow = z.infer<typeof TaskSummaryRow>;

/** Everything about a task (Task without its subtasks), plus what the rules need. */
export const TaskRow = TaskSummaryRow.extend({
  tenantId: z.string(),
  description: z.string().nullable(),
  createdById: Id,
  startedAt: Timestamp.nullable(),
  completedAt: Timestamp.nullable(),
  recurrencePattern: RecurrencePattern.nullable(),
  recurrenceMax: z.number().int().nullable(),
  recurringRootId: Id.nullable(),
  spawnCount: z.number().int(),
  lastRejectionReason: z.string().nullable(),
  lastRejectedById: Id.nullable(),
  lastRejectedByHandle: z.string().nullable(),
  lastRejectedAt: Timestamp.nullable(),
  lastProgressNote: z.string().nullable(),
  lastProgressNoteAt: Timestamp.nullable(),
});
export type TaskRow = z.infer<typeof TaskRow>;

/**
 * Whether `t` has a subtask at any depth that is not completed: what keeps `completed` out of its
 * allowed_transitions. Only asked for the statuses that could go to completed; a leaf costs one index probe.
 */
/**
 * `descendant(id, status)`, or `descendant(id, <columns>)`: every subtask at any depth below `parent`, as the first
 * CTE of a `with recursive`.
 */
const descendantsOf = (parent: number | FragmentSqlToken, columns: readonly string[] = ['status']) => {
  const names = sql.join(columns.map((c) => sql.identifier([c])), sql.fragment`, `);
  const values = sql.join(columns.map((c) => sql.identifier(['c', c])), sql.fragment`, `);
  return sql.fragment`
  descendant(id, ${names}) as (
    select c.id, ${values} from task c where c.parent_task_id = ${parent}
    union all
    select c.id, ${values} from task c join descendant d on c.parent_task_id = d.id
  )`;
};

const OPEN_SUBTASKS = sql.fragment`
  case when t.status in ('pending', 'in_progress', 'review') then exists (
    with recursive ${descendantsOf(sql.fragment`t.id`)}
    select 1 from descendant where status <> 'completed') else false end`;

/**
 * The TaskSummary columns of `task t left join worker a` (the assignee). What the row alone does not say — how
 * many subtasks it has, whether one is still open — is a subquery for a stored task and a constant for one the
 * same statement has just inserted (summaryColumns' arguments).
 */
const summaryColumns = (subtaskCount: FragmentSqlToken, openSubtasks: FragmentSqlToken) => sql.fragment`
  t.id, t.project_id as "projectId", t.title, t.status, t.priority, t.progress_percent as "progressPercent", t.tags,
  t.assignee_id as "assigneeId", a.handle as "assigneeHandle", t.due_date as "dueDate", t.parent_task_id as "parentTaskId",
  ${subtaskCount} as "subtaskCount",
  t.recurrence_pattern is not null as "isRecurring", t.created_at as "createdAt", t.updated_at as "updatedAt",
  t.version,
  ${openSubtasks} as "hasOpenSubtasks"`;

/**
 * The columns of task that summaryColumns reads: what a derived table standing in for `t` must carry (the
 * merged "my work" pages of tasks-list.sql.ts). Keep in step with summaryColumns.
 */
export const SUMMARY_SOURCE_COLUMNS = sql.fragment`
  t.id, t.project_id, t.title, t.status, t.priority, t.progress_percent, t.tags, t.assignee_id, t.due_date,
  t.parent_task_id, t.recurrence_pattern, t.created_at, t.updated_at, t.version`;

/** The TaskSummary columns of a stored task; shared with tasks-list.sql.ts. */
export const SUMMARY_COLUMNS = summaryColumns(sql.fragment`(select count(*) from task c where c.parent_task_id = t.id)`, OPEN_SUBTASKS);

/** The Task columns: the summary's, then the rest of the row (the rejecter's handle as for summaryColumns). */
const taskColumns = (summary: FragmentSqlToken, lastRejectedByHandle: FragmentSqlToken) => sql.fragment`${summary},
  t.tenant_id as "tenantId", t.description, t.created_by_id as "createdById", t.started_at as "startedAt",
  t.completed_at as "completedAt", t.recurrence_pattern as "recurrencePattern", t.recurrence_max as "recurrenceMax",
  t.recurring_root_id as "recurringRootId", t.spawn_count as "spawnCount",
  t.last_rejection_reason as "lastRejectionReason", t.last_rejected_by_id as "lastRejectedById",
  ${lastRejectedByHandle} as "lastRejectedByHandle",
  t.last_rejected_at as "lastRejectedAt", t.last_progress_note as "lastProgressNote", t.last_progress_note_at as "lastProgressNoteAt"`;

const TASK_COLUMNS = taskColumns(SUMMARY_COLUMNS, sql.fragment`(select r.handle from worker r where r.id = t.last_rejected_by_id)`);

/**
 * The Task columns of a row the same statement has just inserted: it has no subtask yet (so none is open) and
 * has never been rejected, so those columns are constants instead of subqueries on task and worker.
 */
const NEW_TASK_COLUMNS = taskColumns(summaryColumns(sql.fragment`0::int8`, sql.fragment`false`), sql.fragment`null::text`);

/** Visibility: the caller is a member of the task's project, in the caller's tenant. */
const visibleTask = (who: Principal, taskId: number) => sql.fragment`
  from task t
  join member m on m.project_id = t.project_id and m.worker_id = ${who.workerId}
  left join worker a on a.id = t.assignee_id
  where t.id = ${taskId} and t.tenant_id = ${who.tenantId}`;

/**
 * A task's entry in the trail, as its own statement: the one way a change of a task that is not written by a
 * statement below (those record theirs with taskAuditFrom) reaches audit_log.
 */
export const recordTaskAudit = (db: Db, actor: Actor, task: { id: number; projectId: number }, action: AuditAction, details: Record<string, unknown>) =>
  recordAudit(db, actor, { projectId: task.projectId, entityType: 'task', entityId: task.id, action, details });

/** recordTaskAudit as a data-modifying CTE over `source` (`t` unless named), the task rows the same statement writes. */
const taskAuditFrom = (actor: Actor, action: AuditAction, details: FragmentSqlToken, source = 't') =>
  auditInsertFrom(actor, sql.identifier([source]), {
    entityType: 'task', action, projectId: sql.fragment`${sql.identifier([source, 'project_id'])}`, entityId: sql.fragment`${sql.identifier([source, 'id'])}`, details,
  });

/** A task the caller may see, or null if it doesn't exist or is in another project or tenant. */
export const findVisibleTask = async (db: Db, who: Principal, taskId: number): Promise<TaskRow | null> =>
  isId(taskId) ? db.maybeOne(sql.type(TaskRow)`select ${TASK_COLUMNS} ${visibleTask(who, taskId)}`) : null;

/**
 * Locks a task the caller may see for the rest of the transaction. Null: the same as findVisibleTask.
 * `seriesRootFirst`: the root of the task's recurring series (if it has one the caller may see) is locked before
 * the task, in the order a delete of the root takes them (the root, then its occurrences through on delete set
 * null of recurring_root_id), as completing an occurrence needs: it may spawn the next one, which counts on the
 * root. The root's lock is an uncorrelated subquery of the task's scan, so it is taken before the task row is; a
 * count is never negative, so the condition holds whether or not there is a root to lock.
 */
export const lockVisibleTask = async (db: Db, who: Principal, taskId: number, { seriesRootFirst = false } = {}): Promise<TaskRow | null> =>
  isId(taskId)
    ? db.maybeOne(sql.type(TaskRow)`
        select ${TASK_COLUMNS} ${visibleTask(who, taskId)}
        ${seriesRootFirst ? sql.fragment`and (select count(*) from (
            select r.id
            from task o
            join member om on om.project_id = o.project_id and om.worker_id = ${who.workerId}
            join task r on r.id = o.recurring_root_id
            where o.id = ${taskId} and o.tenant_id = ${who.tenantId}
            for update of r) root) >= 0` : sql.fragment``}
        for update of t`)
    : null;

/**
 * A condition on `t` (the task `taskId`, scanned with visibleTask) that share-locks its project before the task
 * row is locked: a change that must not race a member's removal, which takes the project for update and then
 * the membership and the member's tasks, takes them in the same order, so it waits instead of deadlocking. The
 * lock is an uncorrelated subquery of the task's scan (an InitPlan), so it is taken, or waited for, before the
 * scan returns the row that `for update of t` locks. The statement's snapshot predates that wait, and a statement
 * re-reads only the rows it locks: a membership the statement relies on must be locked too, to be seen gone.
 */
const projectShareLockedFirst = (taskId: number) => sql.fragment`
  t.project_id = (select p.id from project p join task pt on pt.project_id = p.id where pt.id = ${taskId} for share of p)`;

/** How many direct subtasks a Task embeds (the contract's `Task.subtasks` maxItems); the rest are paged. */
export const EMBEDDED_SUBTASKS = 50;

/** A timestamp inside json_agg: PostgreSQL's JSON form `2026-01-31T09:00:00.123456+00:00`, made RFC 3339 UTC. */
const JsonTimestamp = z.string().transform((value) => timestamptzToIso(value.replace('T', ' ')));
const EmbeddedSubtask = TaskSummaryRow.extend({ dueDate: JsonTimestamp.nullable(), createdAt: JsonTimestamp, updatedAt: JsonTimestamp });

/** A task with its first EMBEDDED_SUBTASKS direct subtasks, oldest first. */
export const TaskWithSubtasksRow = TaskRow.extend({ subtasks: z.array(EmbeddedSubtask) });
export type TaskWithSubtasksRow = z.infer<typeof TaskWithSubtasksRow>;

/**
 * Joins `st.subtasks`: the first EMBEDDED_SUBTASKS direct subtasks of the task as a JSON array, so a task, its
 * bounded subtasks and their count (subtask_count) come back in one round trip. A range of task_parent_idx.
 */
const embeddedSubtasks = (taskId: number | FragmentSqlToken) => sql.fragment`
  left join lateral (
    select coalesce(json_agg(s order by s."createdAt", s.id), '[]'::json) as subtasks
    from (
      select ${SUMMARY_COLUMNS}
      from task t left join worker a on a.id = t.assignee_id
      where t.parent_task_id = ${taskId}
      order by t.created_at, t.id
      ${limitRows(EMBEDDED_SUBTASKS)}
    ) s
  ) st on true`;

/** findVisibleTask with the task's embedded subtasks, in one statement. */
export const findVisibleTaskWithSubtasks = async (db: Db, who: Principal, taskId: number): Promise<TaskWithSubtasksRow | null> =>
  isId(taskId)
    ? db.maybeOne(sql.type(TaskWithSubtasksRow)`
        select ${TASK_COLUMNS}, st.subtasks
        from task t
        join member m on m.project_id = t.project_id and m.worker_id = ${who.workerId}
        left join worker a on a.id = t.assignee_id
        ${embeddedSubtasks(taskId)}
        where t.id = ${taskId} and t.tenant_id = ${who.tenantId}`)
    : null;

/**
 * The reply's row of a statement that writes one task: the row `source` (a CTE of the statement, holding task rows)
 * as TaskWithSubtasksRow, with its embedded subtasks.
 */
const writtenTaskWithSubtasks = (source: string, taskId: number | FragmentSqlToken) => sql.fragment`
  select ${TASK_COLUMNS}, st.subtasks
  from ${sql.identifier([source])} t left join worker a on a.id = t.assignee_id
  ${embeddedSubtasks(taskId)}`;

/** If-Match as a condition on the locked row `cur`: its version is one the header names ('any': no header, or `*`). */
const versionAccepted = (versions: 'any' | number[]) =>
  versions === 'any' ? sql.fragment`true` : sql.fragment`cur.version = any(${sql.array(versions, 'int8')})`;

/** A task by id as it is now, with its embedded subtasks: for re-reading a row this transaction has just changed. */
export const getTaskWithSubtasksById = (db: Db, taskId: number): Promise<TaskWithSubtasksRow> =>
  db.one(sql.type(TaskWithSubtasksRow)`
    select ${TASK_COLUMNS}, st.subtasks
    from task t
    left join worker a on a.id = t.assignee_id
    ${embeddedSubtasks(taskId)}
    where t.id = ${taskId}`);

export interface NewTask {
  tenantId: string;
  projectId: number;
  parentTaskId: number | null;
  title: string;
  description: string | null;
  priority: z.infer<typeof Priority>;
  assigneeId: number | null;
  tags: readonly string[];
  dueDate: string | null;
  recurrence: { pattern: RecurrencePattern; maxOccurrences: number | null } | null;
  createdById: number;
}

const IdRow = z.object({ id: Id });

/** A stored timestamptz as the API writes it (RFC 3339 UTC, milliseconds), for jsonb built in SQL. */
const isoText = (column: FragmentSqlToken) =>
  sql.fragment`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * Inserts a task and its `task_created` audit entry in one statement, and returns the task as stored (defaults
 * applied). The entry's details are the stored values: title, priority, assignee, parent, due date in UTC and
 * recurrence, as the reply shows them.
 */
export const insertTaskWithAudit = (db: Db, task: NewTask, actor: Actor): Promise<TaskRow> =>
  db.one(sql.type(TaskRow)`
    with t as (${insertTask(task)}), audit as (${taskCreatedAudit(actor)})
    select ${NEW_TASK_COLUMNS}
    from t left join worker a on a.id = t.assignee_id`);

const insertTask = (task: NewTask, from?: FragmentSqlToken) => sql.fragment`
  insert into task (tenant_id, project_id, parent_task_id, title, description, priority, assignee_id, tags, due_date,
                    recurrence_pattern, recurrence_max, created_by_id)
  ${from ? sql.fragment`select` : sql.fragment`values (`} ${task.tenantId}, ${task.projectId}, ${task.parentTaskId}, ${task.title},
         ${task.description}, ${task.priority}, ${task.assigneeId}, ${sql.array([...task.tags], 'text')}, ${task.dueDate}::timestamptz,
         ${task.recurrence?.pattern ?? null}, ${task.recurrence?.maxOccurrences ?? null}, ${task.createdById}
  ${from ?? sql.fragment`)`}
  returning *`;

/** The task_created entry of the row `t` an insert returned: the stored title, priority, assignee, parent, due date, recurrence. */
const taskCreatedAudit = (actor: Actor) => taskAuditFrom(actor, 'task_created', sql.fragment`jsonb_build_object(
  'title', t.title, 'priority', t.priority, 'assignee_id', t.assignee_id, 'parent_task_id', t.parent_task_id,
  'due_date', ${isoText(sql.fragment`t.due_date`)},
  'recurrence', case when t.recurrence_pattern is null then null
                     else jsonb_build_object('pattern', t.recurrence_pattern, 'max_occurrences', t.recurrence_max) end)`);

const Checks = z.object({ visible: z.boolean(), assigneeOk: z.boolean(), parentOk: z.boolean() });
const CheckedInsertRow = z.union([Checks.extend(TaskRow.shape), Checks.extend({ id: z.null() })]);

/** What insertTaskIfAllowed found: the task inserted, or which check refused it (nothing was written then). */
export type CheckedInsert = { task: TaskRow } | { task: null; visible: boolean; assigneeOk: boolean; parentOk: boolean };

/**
 * createTask in one statement and one round trip, atomic without a transaction: the caller's membership of the
 * project (as requireProjectRole checks it), the assignee's membership, the parent task being in the project
 * (when one is given), and only if all hold, the insert and its task_created entry. The same checks as the
 * step-by-step path (findProjectAccess, the assignee's membership lookup, a parent lookup), which took five
 * round trips with BEGIN and COMMIT. createSubtask uses it too, under the parent it found.
 */
export async function insertTaskIfAllowed(db: Db, who: Principal, task: NewTask, actor: Actor): Promise<CheckedInsert> {
  const row = await db.one(sql.type(CheckedInsertRow)`
    with ok as (
      select exists (select 1 from project p join member m on m.project_id = p.id and m.worker_id = ${who.workerId}
                     where p.id = ${task.projectId} and p.tenant_id = ${who.tenantId}) as visible,
             (${task.assigneeId}::int8 is null
               or exists (select 1 from member where project_id = ${task.projectId} and worker_id = ${task.assigneeId}::int8)) as "assigneeOk",
             (${task.parentTaskId}::int8 is null
               or exists (select 1 from task where id = ${task.parentTaskId}::int8 and project_id = ${task.projectId})) as "parentOk"),
    t as (${insertTask(task, sql.fragment`from ok where ok.visible and ok."assigneeOk" and ok."parentOk"`)}),
    audit as (${taskCreatedAudit(actor)})
    select ok.visible, ok."assigneeOk", ok."parentOk", x.*
    from ok left join (select ${NEW_TASK_COLUMNS} from t left join worker a on a.id = t.assignee_id) x on true`);
  if (row.id === null) return { task: null, visible: row.visible, assigneeOk: row.assigneeOk, parentOk: row.parentOk };
  const { visible: _v, assigneeOk: _a, parentOk: _p, ...task_ } = row;
  return { task: task_ };
}

export interface TaskPatch {
  title?: string;
  description?: string | null;
  priority?: z.infer<typeof Priority>;
  tags?: readonly string[];
  dueDate?: string | null;
  recurrence?: { pattern: RecurrencePattern; maxOccurrences: number | null } | null;
}

/** The fields updateTask may change, each as the API shows it (jsonb), over the task row `r`: `task_updated`'s before and after. */
const editableFields = (r: string): [string, FragmentSqlToken][] => {
  const col = (name: string) => sql.identifier([r, name]);
  return [
    ['title', sql.fragment`to_jsonb(${col('title')})`],
    ['description', sql.fragment`to_jsonb(${col('description')})`],
    ['priority', sql.fragment`to_jsonb(${col('priority')})`],
    ['tags', sql.fragment`to_jsonb(${col('tags')})`],
    ['due_date', sql.fragment`to_jsonb(${isoText(sql.fragment`${col('due_date')}`)})`],
    ['recurrence', sql.fragment`case when ${col('recurrence_pattern')} is null then null
      else jsonb_build_object('pattern', ${col('recurrence_pattern')}, 'max_occurrences', ${col('recurrence_max')}) end`],
  ];
};

/** `task_updated`'s details from the locked row `cur` and the written row `t`: each changed field's before and after. */
const CHANGED_FIELDS = (() => {
  const before = editableFields('cur');
  const after = editableFields('t');
  const rows = before.map(([field, b], i) => sql.fragment`(${field}, ${b}, ${after[i]![1]})`);
  return sql.fragment`(
    select coalesce(jsonb_object_agg(f.field, jsonb_build_object('before', coalesce(f.before, 'null'), 'after', coalesce(f.after, 'null'))), '{}')
    from (values ${sql.join(rows, sql.fragment`, `)}) f(field, before, after)
    where f.before is distinct from f.after)`;
})();

const UpdateChecks = z.object({ currentVersion: z.number().int(), versionOk: z.boolean() });
const CheckedUpdateRow = z.union([UpdateChecks.extend(TaskWithSubtasksRow.shape), UpdateChecks.extend({ id: z.null() })]);

/**
 * What updateTaskIfAllowed found: nothing (no such task, or not the caller's to see), the task as it is after the
 * edit (or as it was, when the edit changed nothing), or its version when If-Match refused it (nothing written).
 */
export type CheckedUpdate = null | { task: TaskWithSubtasksRow } | { task: null; currentVersion: number };

/**
 * updateTask in one statement and one round trip, atomic without a transaction: locks the task if the caller may
 * see it, and only if its version is one `versions` accepts ('any': no If-Match) and a field in `patch` differs
 * from its current value, writes the fields present, a new version and the `task_updated` entry listing each field
 * that changed with its before and after as the API shows them; returns the task with its embedded subtasks. An
 * edit that changes nothing is not a change: no new version, no entry, the task as it is. The same checks in the
 * same order as lockTask (404, then 412), which with the update, a re-read and the entry took six round trips.
 */
export async function updateTaskIfAllowed(
  db: Db, who: Principal, taskId: number, patch: TaskPatch, versions: 'any' | number[], actor: Actor,
): Promise<CheckedUpdate> {
  if (!isId(taskId)) return null;
  const pairs: [string, FragmentSqlToken][] = [];
  const set = (column: string, value: FragmentSqlToken) => pairs.push([column, value]);
  if (patch.title !== undefined) set('title', sql.fragment`${patch.title}::text`);
  if (patch.description !== undefined) set('description', sql.fragment`${patch.description}::text`);
  if (patch.priority !== undefined) set('priority', sql.fragment`${patch.priority}::text`);
  if (patch.tags !== undefined) set('tags', sql.fragment`${sql.array([...patch.tags], 'text')}`);
  if (patch.dueDate !== undefined) set('due_date', sql.fragment`${patch.dueDate}::timestamptz`);
  if (patch.recurrence !== undefined) {
    set('recurrence_pattern', sql.fragment`${patch.recurrence?.pattern ?? null}::text`);
    set('recurrence_max', sql.fragment`${patch.recurrence?.maxOccurrences ?? null}::integer`);
  }
  const changed = pairs.length === 0 ? sql.fragment`false` : sql.fragment`
    (${sql.join(pairs.map(([c]) => sql.identifier(['cur', c])), sql.fragment`, `)}) is distinct from (${sql.join(pairs.map(([, v]) => v), sql.fragment`, `)})`;
  const assignments = pairs.map(([c, v]) => sql.fragment`${sql.identifier([c])} = ${v},`);
  const row = await db.maybeOne(sql.type(CheckedUpdateRow)`
    with cur as (
      select t.* ${visibleTask(who, taskId)}
      for update of t),
    ok as (select cur.id, cur.version, ${versionAccepted(versions)} as "versionOk", ${changed} as changed from cur),
    t as (
      update task set ${sql.join(assignments, sql.fragment` `)} version = task.version + 1, updated_at = now()
      from ok
      where task.id = ok.id and ok."versionOk" and ok.changed
      returning task.*),
    written as (select t.id, t.project_id, ${CHANGED_FIELDS} as details from t, cur),
    audit as (${auditInsertFrom(actor, sql.identifier(['written']), {
      entityType: 'task', action: 'task_updated', projectId: sql.fragment`written.project_id`, entityId: sql.fragment`written.id`, details: sql.fragment`written.details`,
    })}),
    now_is as (
      select * from t
      union all
      select cur.* from cur join ok on ok.id = cur.id where ok."versionOk" and not ok.changed)
    select ok.version as "currentVersion", ok."versionOk", x.*
    from ok left join (${writtenTaskWithSubtasks('now_is', taskId)}) x on true`);
  if (!row) return null;
  if (row.id === null) return { task: null, currentVersion: row.currentVersion };
  const { currentVersion: _v, versionOk: _o, ...task } = row;
  return { task };
}

/** Why, by whom: a rejection written with the status change it comes with (the task's `last_rejection`). */
export interface Rejection {
  reviewerId: number;
  reason: string;
}

/** What a status change does besides the status itself (workflow.ts's effectsOf decides it). */
export interface StatusEffects {
  status: TaskStatus;
  /** Set only the first time the task starts. */
  startedAt: 'now' | 'keep';
  completedAt: 'now' | 'clear' | 'keep';
  progress: number | 'keep';
}

const CompletionRow = z.union([
  z.object({ openSubtasks: z.number().int() }).extend(TaskWithSubtasksRow.shape),
  z.object({ openSubtasks: z.number().int(), id: z.null() }),
]);

/** What completeIfNoOpenSubtasks did: the task as completed, or how many subtasks kept it open (nothing written). */
export type Completion = { task: TaskWithSubtasksRow } | { task: null; openSubtasks: number };

/**
 * Completes a locked task in one statement, only if no subtask at any depth is open: the status with the effects
 * the workflow decided, a new version, `action`'s entry with `details`, and the task as it is then with its
 * embedded subtasks (the reply needs no re-read). Otherwise nothing is written and the open subtasks are counted.
 * The count is this statement's, taken after the task's lock in an earlier one: a subtask added before that lock
 * was granted (its insert holds a key-share lock on the parent) is seen. Only workflow.ts calls it.
 */
export async function completeIfNoOpenSubtasks(
  db: Db, taskId: number, effects: StatusEffects, actor: Actor,
  audit: { action: 'status_changed' | 'approved'; details: Record<string, unknown> },
): Promise<Completion> {
  const row = await db.one(sql.type(CompletionRow)`
    with recursive ${descendantsOf(taskId)},
    open as (select count(*)::int as n from descendant where status <> 'completed'),
    t as (
      update task set ${effectColumns((column) => column(effects))}, version = version + 1, updated_at = now()
      where id = ${taskId} and (select n from open) = 0
      returning *),
    audit as (${taskAuditFrom(actor, audit.action, sql.fragment`${sql.jsonb(audit.details as never)}`)})
    select open.n as "openSubtasks", x.*
    from open left join (${writtenTaskWithSubtasks('t', taskId)}) x on true`);
  if (row.id === null) return { task: null, openSubtasks: row.openSubtasks };
  const { openSubtasks: _n, ...task } = row;
  return { task };
}

/** Each column a status change sets, and its value for a change's effects (`task`: the row being updated). */
const EFFECT_COLUMNS: [string, (e: StatusEffects) => FragmentSqlToken][] = [
  ['status', (e) => sql.fragment`${e.status}`],
  ['started_at', (e) => (e.startedAt === 'now' ? sql.fragment`now()` : sql.fragment`task.started_at`)],
  ['completed_at', (e) => (e.completedAt === 'now' ? sql.fragment`now()` : e.completedAt === 'clear' ? sql.fragment`null` : sql.fragment`task.completed_at`)],
  ['progress_percent', (e) => (e.progress === 'keep' ? sql.fragment`task.progress_percent` : sql.fragment`${e.progress}::int`)],
];

/** `update task set` assignments of EFFECT_COLUMNS, each value chosen by `value` from the column's function. */
const effectColumns = (value: (column: (e: StatusEffects) => FragmentSqlToken) => FragmentSqlToken) =>
  sql.join(EFFECT_COLUMNS.map(([name, column]) => sql.fragment`${sql.identifier([name])} = ${value(column)}`), sql.fragment`, `);

/**
 * The columns a move sets, for whichever of `moves`' states the row `ok` (the task as locked: its `status` and
 * `started`) is in: the effects the workflow computed for that state. For `update task set … from ok`.
 */
const effectsOfState = (moves: readonly EffectsFrom[]) => effectColumns((column) => sql.fragment`case ${sql.join(
  moves.map((m) => sql.fragment`when ok.status = ${m.from} and ok.started = ${m.started} then ${column(m.effects)}`), sql.fragment` `)} end`);

/** A move's effects for one state the task may be in: its status, and whether it was started before. */
export interface EffectsFrom {
  from: TaskStatus;
  started: boolean;
  effects: StatusEffects;
}

const MoveChecks = z.object({
  currentStatus: TaskStatus,
  currentVersion: z.number().int(),
  currentHasOpenSubtasks: z.boolean(),
  currentAssigneeId: Id.nullable(),
  currentAssigneeHandle: z.string().nullable(),
  versionOk: z.boolean(),
});
const CheckedMoveRow = z.union([MoveChecks.extend(TaskWithSubtasksRow.shape), MoveChecks.extend({ id: z.null() })]);

/** The state of a task that refused a move (nothing was written), for the workflow's own refusal. */
export interface RefusedMove {
  task: null;
  currentStatus: TaskStatus;
  currentVersion: number;
  hasOpenSubtasks: boolean;
  assigneeId: number | null;
  assigneeHandle: string | null;
  versionOk: boolean;
}

/** What moveIfAllowed found: nothing (404), the task after the move, or the state that refused it. */
export type CheckedMove = null | { task: TaskWithSubtasksRow } | RefusedMove;

/**
 * Which move moveIfAllowed writes. A status change records `status_changed`; a rejection also writes the task's
 * latest rejection and records `rejected` with the reason; a claim makes `claimant` the assignee, only of a task
 * that has none or has them already, and records `claimed` with the assignee before and after.
 */
export type MoveKind =
  | { action: 'status_changed' }
  | { action: 'rejected'; rejection: Rejection }
  | { action: 'claimed'; claimant: number };

/**
 * A status change in one statement and one round trip, atomic without a transaction: locks the task if the caller
 * may see it, and only if its version is one `versions` accepts and its state (status, started or not) is one of
 * `moves`, writes that state's effects (the workflow computes them for every state it allows; the statement picks
 * the one the locked row is in), a new version and the move's entry with the status before and after, and
 * returns the task with its embedded subtasks. Otherwise it writes nothing and returns the state that refused it,
 * for the workflow's own refusal. The same checks, in the same order, as lockTask then the workflow's table.
 *
 * A claim takes the project's share lock before the task's (projectShareLockedFirst), and share-locks the caller's
 * membership row, so a membership removed while it waited is seen gone (null: the 404).
 */
export async function moveIfAllowed(
  db: Db, who: Principal, taskId: number, moves: readonly EffectsFrom[], versions: 'any' | number[], actor: Actor,
  kind: MoveKind = { action: 'status_changed' },
): Promise<CheckedMove> {
  if (!isId(taskId) || moves.length === 0) return null;
  const allowed = sql.join(moves.map((m) => sql.fragment`(${m.from}, ${m.started})`), sql.fragment`, `);
  const claimant = kind.action === 'claimed' ? kind.claimant : null;
  const row = await db.maybeOne(sql.type(CheckedMoveRow)`
    with cur as (
      select t.id, t.status, t.version, t.started_at is not null as started, t.assignee_id
      ${visibleTask(who, taskId)}
      ${claimant === null ? sql.fragment`for update of t` : sql.fragment`and ${projectShareLockedFirst(taskId)} for update of t for share of m`}),
    ok as (
      select cur.*, ${versionAccepted(versions)} as "versionOk",
             (cur.status, cur.started) in (${allowed})
               ${claimant === null ? sql.fragment`` : sql.fragment`and (cur.assignee_id is null or cur.assignee_id = ${claimant})`} as "moveOk"
      from cur),
    t as (
      update task set
        ${effectsOfState(moves)},
        ${kind.action === 'rejected'
          ? sql.fragment`last_rejection_reason = ${kind.rejection.reason}, last_rejected_by_id = ${kind.rejection.reviewerId}, last_rejected_at = now(),`
          : sql.fragment``}
        ${claimant === null ? sql.fragment`` : sql.fragment`assignee_id = ${claimant},`}
        version = task.version + 1, updated_at = now()
      from ok
      where task.id = ok.id and ok."versionOk" and ok."moveOk"
      returning task.*, ok.status as status_before, ok.assignee_id as assignee_before),
    audit as (${taskAuditFrom(actor, kind.action, sql.fragment`
      jsonb_build_object('status', jsonb_build_object('before', t.status_before, 'after', t.status))
      ${kind.action === 'rejected' ? sql.fragment`|| jsonb_build_object('reason', ${kind.rejection.reason}::text)` : sql.fragment``}
      ${claimant === null ? sql.fragment`` : sql.fragment`|| jsonb_build_object('assignee_id', jsonb_build_object('before', t.assignee_before, 'after', t.assignee_id))`}`)})
    select ok.status as "currentStatus", ok.version as "currentVersion", ok."versionOk",
           -- a refusal's: the handle of the assignee the locked row has (a join in cur would keep its first read's)
           ok.assignee_id as "currentAssigneeId",
           case when ok."versionOk" and ok."moveOk" then null else (select w.handle from worker w where w.id = ok.assignee_id) end
             as "currentAssigneeHandle",
           -- only a refusal needs it (its allowed_transitions); a move's row has its own in x
           case when ok."versionOk" and ok."moveOk" then false else (select ${OPEN_SUBTASKS} from task t where t.id = ok.id) end
             as "currentHasOpenSubtasks",
           x.*
    from ok left join (${writtenTaskWithSubtasks('t', taskId)}) x on true`);
  if (!row) return null;
  if (row.id === null) {
    return {
      task: null, currentStatus: row.currentStatus, currentVersion: row.currentVersion, hasOpenSubtasks: row.currentHasOpenSubtasks,
      assigneeId: row.currentAssigneeId, assigneeHandle: row.currentAssigneeHandle, versionOk: row.versionOk,
    };
  }
  const { currentStatus: _s, currentVersion: _v, currentHasOpenSubtasks: _h, currentAssigneeId: _a, currentAssigneeHandle: _ah, versionOk: _o, ...task } = row;
  return { task };
}

const ProgressChecks = z.object({ currentStatus: TaskStatus, currentVersion: z.number().int(), versionOk: z.boolean() });
const CheckedProgressRow = z.union([ProgressChecks.extend(TaskWithSubtasksRow.shape), ProgressChecks.extend({ id: z.null() })]);

/**
 * What reportProgressIfAllowed found: nothing (no such task, or not the caller's to see), the task as it is after
 * the report, or the task's status and version when one of them refused the report (nothing was written then).
 */
export type CheckedProgress =
  | null
  | { task: TaskWithSubtasksRow }
  | { task: null; currentStatus: z.infer<typeof TaskStatus>; currentVersion: number; versionOk: boolean };

/**
 * updateTaskProgress in one statement and one round trip, atomic without a transaction: locks the task if the
 * caller may see it, and only if it is in progress and its version is one `versions` accepts ('any': no
 * If-Match), sets the percentage (and the note, which becomes the task's latest; none keeps the previous one),
 * records `progress_updated` with the percentage before and after (and the note), and returns the task with its
 * embedded subtasks. The same checks, in the same order, as lockTask then a status check, which took four
 * round trips with BEGIN and COMMIT. A concurrent report waits for the lock and then sees this one's result.
 */
export async function reportProgressIfAllowed(
  db: Db, who: Principal, taskId: number, percent: number, note: string | undefined, versions: 'any' | number[], actor: Actor,
): Promise<CheckedProgress> {
  if (!isId(taskId)) return null;
  const row = await db.maybeOne(sql.type(CheckedProgressRow)`
    with cur as (
      select t.id, t.status, t.version, t.progress_percent ${visibleTask(who, taskId)}
      for update of t),
    ok as (select cur.*, ${versionAccepted(versions)} as "versionOk" from cur),
    t as (
      update task set progress_percent = ${percent},
        ${note === undefined ? sql.fragment`` : sql.fragment`last_progress_note = ${note}, last_progress_note_at = now(),`}
        version = task.version + 1, updated_at = now()
      from ok
      where task.id = ok.id and ok.status = 'in_progress' and ok."versionOk"
      returning task.*, ok.progress_percent as progress_before),
    audit as (${taskAuditFrom(actor, 'progress_updated', sql.fragment`
      jsonb_build_object('progress_percent', jsonb_build_object('before', t.progress_before, 'after', t.progress_percent))
        || ${sql.jsonb(note === undefined ? {} : { note })}`)})
    select ok.status as "currentStatus", ok.version as "currentVersion", ok."versionOk", x.*
    from ok left join (${writtenTaskWithSubtasks('t', taskId)}) x on true`);
  if (!row) return null;
  if (row.id === null) return { task: null, currentStatus: row.currentStatus, currentVersion: row.currentVersion, versionOk: row.versionOk };
  const { currentStatus: _s, currentVersion: _v, versionOk: _o, ...task } = row;
  return { task };
}

export interface ClaimFilter {
  tags?: readonly string[];
  priorities?: readonly string[];
  parentTaskId?: number;
}

const ClaimNextRow = z.union([z.object({ visible: z.boolean() }).extend(TaskWithSubtasksRow.shape), z.object({ visible: z.boolean(), id: z.null() })]);

/** What claimNextIfMember found: not the caller's project (404), nothing left to claim, or the task it claimed. */
export type ClaimedNext = { visible: false } | { visible: true; task: TaskWithSubtasksRow | null };

/**
 * claimNextTask in one statement and one round trip, atomic without a transaction. It share-locks the project
 * and the caller's membership row (`access`), as findProjectAccess does for a change that must not race a
 * member's removal; the task scan reads `access` in an uncorrelated subquery, so those locks are taken (or
 * waited for) before any task row is. A membership removed while it waited is seen gone (the statement re-reads
 * the rows it locks): `access` is then empty, the 404.
 * Then it locks the most urgent pending, unassigned task of the project that matches the filter: highest
 * priority, then earliest due date (none last), then oldest. Rows another transaction holds are skipped, not
 * waited for, so concurrent claimers each get a different task; a row changed meanwhile is re-checked and
 * skipped if it no longer qualifies. It claims that task for `claimant` with the effects of `moves` (the
 * workflow's claim from pending), records `claimed`, and returns the task with its embedded subtasks.
 */
export async function claimNextIfMember(
  db: Db, who: Principal, projectId: number, filter: ClaimFilter, moves: readonly EffectsFrom[], actor: Actor,
): Promise<ClaimedNext> {
  if (!isId(projectId)) return { visible: false };
  const conditions = [
    sql.fragment`t.project_id = (select access.id from access)`,
    sql.fragment`t.tenant_id = ${who.tenantId}`,
    sql.fragment`t.status = 'pending'`,
    sql.fragment`t.assignee_id is null`,
    ...(filter.tags?.length ? [sql.fragment`t.tags @> ${sql.array([...filter.tags], 'text')}`] : []),
    ...(filter.priorities?.length ? [sql.fragment`t.priority = any(${sql.array([...filter.priorities], 'text')})`] : []),
    ...(filter.parentTaskId === undefined ? [] : [sql.fragment`t.parent_task_id = ${isId(filter.parentTaskId) ? filter.parentTaskId : null}`]),
  ];
  const row = await db.one(sql.type(ClaimNextRow)`
    with access as (
      select p.id from project p join member m on m.project_id = p.id and m.worker_id = ${who.workerId}
      where p.id = ${projectId} and p.tenant_id = ${who.tenantId}
      for share of p, m),
    ok as (
      select t.id, t.status, t.started_at is not null as started, t.assignee_id from task t
      where ${sql.join(conditions, sql.fragment` and `)}
      order by t.priority_rank desc, t.due_date asc nulls last, t.created_at, t.id
      limit 1
      for update of t skip locked),
    t as (
      update task set ${effectsOfState(moves)}, assignee_id = ${who.workerId}, version = task.version + 1, updated_at = now()
      from ok
      where task.id = ok.id
      returning task.*, ok.status as status_before, ok.assignee_id as assignee_before),
    audit as (${taskAuditFrom(actor, 'claimed', sql.fragment`jsonb_build_object(
      'status', jsonb_build_object('before', t.status_before, 'after', t.status),
      'assignee_id', jsonb_build_object('before', t.assignee_before, 'after', t.assignee_id))`)})
    select exists (select 1 from access) as visible, x.*
    from (select 1) one left join (${writtenTaskWithSubtasks('t', sql.fragment`(select ok.id from ok)`)}) x on true`);
  if (!row.visible) return { visible: false };
  if (row.id === null) return { visible: true, task: null };
  const { visible: _v, ...task } = row;
  return { visible: true, task };
}

const AssignChecks = z.object({ currentVersion: z.number().int(), currentProjectId: Id, versionOk: z.boolean(), assigneeOk: z.boolean() });
const CheckedAssignRow = z.union([AssignChecks.extend(TaskWithSubtasksRow.shape), AssignChecks.extend({ id: z.null() })]);

/** What assignIfAllowed found: nothing (404), the task after the assignment, or what refused it (nothing written). */
export type CheckedAssign = null | { task: TaskWithSubtasksRow } | { task: null; currentVersion: number; projectId: number; versionOk: boolean };

/**
 * assignTask in one statement and one round trip, atomic without a transaction: the project's share lock first
 * (projectShareLockedFirst), then the task if the caller may see it, with the caller's membership row; then, only
 * if its version is one `versions` accepts and the new assignee is a member of the project (or null: unassigned),
 * the update, its `assigned` entry with the assignee before (from the locked row) and after, and the task with
 * its embedded subtasks. The assignee's membership row is locked too (`for key share`): one removed while the
 * statement waited is seen gone, and a removal that comes later waits until the assignment is committed, then
 * unassigns the task. Refusals in the order lockTask and the assignee check had: 404, 412, then not a member.
 */
export async function assignIfAllowed(
  db: Db, who: Principal, taskId: number, assigneeId: number | null, versions: 'any' | number[], actor: Actor,
): Promise<CheckedAssign> {
  if (!isId(taskId)) return null;
  const assigneeIsMember = assigneeId === null
    ? sql.fragment`true`
    : isId(assigneeId) // an id beyond int8's range names no worker, so no member
      ? sql.fragment`exists (select 1 from member am where am.project_id = cur.project_id and am.worker_id = ${assigneeId} for key share)`
      : sql.fragment`false`;
  const row = await db.maybeOne(sql.type(CheckedAssignRow)`
    with cur as (
      select t.id, t.version, t.project_id, t.assignee_id
      ${visibleTask(who, taskId)} and ${projectShareLockedFirst(taskId)}
      for update of t for share of m),
    ok as (select cur.*, ${versionAccepted(versions)} as "versionOk", ${assigneeIsMember} as "assigneeOk" from cur),
    t as (
      update task set assignee_id = ${assigneeId === null || !isId(assigneeId) ? null : assigneeId}::int8,
        version = task.version + 1, updated_at = now()
      from ok
      where task.id = ok.id and ok."versionOk" and ok."assigneeOk"
      returning task.*, ok.assignee_id as assignee_before),
    audit as (${taskAuditFrom(actor, 'assigned', sql.fragment`
      jsonb_build_object('assignee_id', jsonb_build_object('before', t.assignee_before, 'after', t.assignee_id))`)})
    select ok.version as "currentVersion", ok.project_id as "currentProjectId", ok."versionOk", ok."assigneeOk", x.*
    from ok left join (${writtenTaskWithSubtasks('t', taskId)}) x on true`);
  if (!row) return null;
  if (row.id === null) return { task: null, currentVersion: row.currentVersion, projectId: row.currentProjectId, versionOk: row.versionOk };
  const { currentVersion: _v, currentProjectId: _p, versionOk: _o, assigneeOk: _a, ...task } = row;
  return { task };
}


/**
 * Deletes a locked task and records `task_deleted` in one statement: its subtasks follow through
 * task_parent_same_project_fkey (on delete cascade), and the entry's `subtasks_deleted` counts them at every depth
 * as the statement found them. `facts` are the rest of the entry's details. One round trip where counting,
 * deleting and recording took three.
 *
 * What the cascades change is recorded too, as the statement found it, so that streams, webhooks and the inbox
 * hear of it: each subtask deleted with the task gets its own `task_deleted` entry (`deleted_with` the task; its
 * creator and assignee are told), and each spawned occurrence of a deleted series root loses its
 * `recurring_root_id` as a change of its own (a new version and `updated_at`, a `task_updated` entry), which
 * task_recurring_root's `on delete set null` would otherwise make silently.
 */
export const deleteTaskWithAudit = (db: Db, taskId: number, actor: Actor, facts: Record<string, unknown>) =>
  db.query(sql.unsafe`
    with recursive ${descendantsOf(taskId, ['project_id', 'title', 'parent_task_id', 'created_by_id', 'assignee_id'])},
    t as (delete from task where id = ${taskId} returning id, project_id),
    audit as (${taskAuditFrom(actor, 'task_deleted', sql.fragment`${sql.jsonb(facts as never)} || jsonb_build_object('subtasks_deleted', (select count(*) from descendant))`)}),
    subtask_audit as (${taskAuditFrom(actor, 'task_deleted', sql.fragment`jsonb_build_object('title', descendant.title,
      'parent_task_id', descendant.parent_task_id, 'created_by_id', descendant.created_by_id, 'assignee_id', descendant.assignee_id,
      'deleted_with', ${taskId}::int8)`, 'descendant')}),
    series as (
      update task o set recurring_root_id = null, version = o.version + 1, updated_at = now()
      from (select id from descendant union all select ${taskId}::int8) gone(id)
      where o.recurring_root_id = gone.id and o.id <> ${taskId} and o.id not in (select id from descendant)
      returning o.id, o.project_id, gone.id as root_before),
    series_audit as (${taskAuditFrom(actor, 'task_updated',
      sql.fragment`jsonb_build_object('recurring_root_id', jsonb_build_object('before', series.root_before, 'after', null))`, 'series')})
    select 1`);

const SeriesRootRow = z.object({ id: Id, spawnCount: z.number().int() });

/**
 * Locks the first task of a recurring series: its spawn_count is the series' counter, and the lock orders
 * concurrent completions of occurrences of the same series. Null when the root was deleted.
 */
export const lockSeriesRoot = (db: Db, rootId: number) =>
  db.maybeOne(sql.type(SeriesRootRow)`
    select id, spawn_count as "spawnCount" from task where id = ${rootId} for update`);

/**
 * Inserts the next occurrence of task `fromId`: a pending, top-level copy (same project, title, description,
 * priority, tags, assignee and recurrence) without subtasks, progress or workflow timestamps. It is not put
 * under the parent of `fromId`: a series that never ends would otherwise keep that parent from ever completing.
 * task_spawned_from_key (unique where spawned_from_id is not null, hence the conflict target's predicate) makes
 * this happen once per task whatever the races: null when it already had one.
 */
export const insertNextOccurrence = (db: Db, fromId: number, rootId: number, dueDate: string): Promise<number | null> =>
  db.maybeOneFirst(sql.type(IdRow)`
    insert into task (tenant_id, project_id, title, description, priority, tags, assignee_id, due_date,
                      recurrence_pattern, recurrence_max, recurring_root_id, spawned_from_id, created_by_id)
    select tenant_id, project_id, title, description, priority, tags, assignee_id, ${dueDate}::timestamptz,
           recurrence_pattern, recurrence_max, ${rootId}, id, created_by_id
    from task where id = ${fromId}
    on conflict (spawned_from_id) where spawned_from_id is not null do nothing
    returning id`);

/**
 * Counts one more spawned occurrence on the series root; its version moves too (spawn_count is part of the
 * representation), unless the root is the task being completed, whose version the status change moves.
 */
export const incrementSpawnCount = (db: Db, rootId: number, completingTaskId: number) =>
  db.query(sql.unsafe`
    update task set spawn_count = spawn_count + 1, version = version + (id <> ${completingTaskId})::int
    where id = ${rootId}`);

/**
 * Tasks by id as they are now, each with its embedded subtasks like getTaskWithSubtasksById, in one statement
 * (events show the task as the API does); missing ids are left out.
 */
export const listTasksWithSubtasksByIds = (db: Db, ids: readonly number[]): Promise<readonly TaskWithSubtasksRow[]> =>
  ids.length === 0
    ? Promise.resolve([])
    : db.any(sql.type(TaskWithSubtasksRow)`
        select ${TASK_COLUMNS}, st.subtasks
        from unnest(${sql.array(ids, 'int8')}) as wanted(id)
        join task t on t.id = wanted.id
        left join worker a on a.id = t.assignee_id
        ${embeddedSubtasks(sql.fragment`wanted.id`)}`);
