import type { components } from '../../generated/api.js';
import { actorOf, changedFields, recordAudit } from '../audit/index.js';
import type { DatabasePool, Db } from '../db/index.js';
import type { HandlersFor, QueryParams } from '../http/handler.js';
import { toPage } from '../http/paging.js';
import { assertIfMatch, etagOf, notModifiedReply } from '../http/preconditions.js';
import { ProblemError, type FieldError } from '../http/problem.js';
import type { Principal } from '../http/principal.js';
import { requireProjectRole } from '../members/index.js';
import { changeStatus, claim } from './status-change.js';
import { cursorKeyOf, listMemberTasksPage, listProjectTasksPage, type PageRequest, type TaskFilter, type TaskSort } from './tasks-list.sql.js';
import {
  countDescendants,
  deleteTaskRow,
  findVisibleTask,
  findVisibleTaskWithSubtasks,
  getTaskWithSubtasksById,
  insertTaskWithAudit,
  isProjectMember,
  isTaskInProject,
  lockNextClaimable,
  lockSeriesRootOf,
  lockVisibleTask,
  shareLockProject,
  shareLockProjectOfTask,
  setTaskAssignee,
  setTaskProgressWithAudit,
  updateTaskFields,
  type TaskPatch,
  type TaskRow,
  type TaskWithSubtasksRow,
} from './tasks.sql.js';
import { toTask, toTaskSummary } from './to-task.js';
import { assertTransition } from './workflow.js';

type TaskOps =
  | 'listProjectTasks' | 'listMyTasks' | 'createTask' | 'getTask' | 'updateTask' | 'deleteTask'
  | 'updateTaskStatus' | 'updateTaskProgress' | 'assignTask' | 'createSubtask' | 'approveTask' | 'rejectTask'
  | 'claimTask' | 'claimNextTask';
type Task = components['schemas']['Task'];
type TaskCreate = components['schemas']['TaskCreate'];
type RecurrenceInput = components['schemas']['RecurrenceInput'] | null | undefined;

const DEFAULT_LIMIT = 50;
const DEFAULT_SORT: TaskSort = '-created_at';

const taskNotFound = (taskId: number) =>
  new ProblemError('task-not-found', { detail: `Task ${taskId} does not exist or you are not a member of its project` });

/** Locks the task for this transaction: missing or not yours is the same 404; a stale If-Match is a 412. */
async function lockTask(tx: Db, who: Principal, taskId: number, ifMatch: string | string[] | undefined): Promise<TaskRow> {
  const task = await lockVisibleTask(tx, who, taskId);
  if (!task) throw taskNotFound(taskId);
  assertIfMatch(ifMatch, task.version);
  return task;
}

/** lockTask for a change that may complete the task and so spawn its series' next occurrence. */
async function lockTaskToComplete(tx: Db, who: Principal, taskId: number, ifMatch: string | string[] | undefined): Promise<TaskRow> {
  await lockSeriesRootOf(tx, who, taskId); // the root before the occurrence, in the order a delete of the root takes them
  return lockTask(tx, who, taskId, ifMatch);
}

/** A task row with its embedded subtasks as a single-task reply with its ETag. */
const rowReply = <S extends 200 | 201>(row: TaskWithSubtasksRow, status: S, headers: Record<string, string> = {}) =>
  ({ status, body: toTask(row, row.subtasks), headers: { ...headers, ETag: etagOf(row.version) } });

/** The task as it is now with its direct subtasks, as a single-task reply with its ETag. */
async function taskReply<S extends 200 | 201>(db: Db, taskId: number, status: S, headers: Record<string, string> = {}) {
  return rowReply(await getTaskWithSubtasksById(db, taskId), status, headers);
}

/** The filters both task lists share, as the contract names them (`assignee_id=me` is the caller). */
const filterOf = (who: Principal, query: QueryParams<'listProjectTasks'>): TaskFilter => ({
  statuses: query.status,
  priorities: query.priority,
  assigneeId: query.assignee_id === undefined ? undefined : query.assignee_id === 'me' ? who.workerId : Number(query.assignee_id),
  tags: query.tags,
  q: query.q,
  dueBefore: query.due_before,
  dueAfter: query.due_after,
  hasDueDate: query.has_due_date,
  parentId: query.parent_task_id === undefined ? undefined : query.parent_task_id === 'none' ? null : Number(query.parent_task_id),
  updatedSince: query.updated_since,
});

const pageOf = (query: QueryParams<'listProjectTasks'>): PageRequest => ({
  sort: query.sort ?? DEFAULT_SORT,
  limit: query.limit ?? DEFAULT_LIMIT,
  cursor: query.cursor,
});

const toRecurrence = (r: RecurrenceInput) => (r ? { pattern: r.pattern, maxOccurrences: r.max_occurrences ?? null } : null);

/** A title as stored: trimmed, and never blank (the contract's pattern already refuses all-whitespace). */
function trimmedTitle(title: string): string {
  const trimmed = title.trim();
  if (trimmed === '') {
    throw new ProblemError('validation-failed', {
      detail: 'The title is blank',
      errors: [{ pointer: '/body/title', message: 'must not be blank' }],
    });
  }
  return trimmed;
}

/** The assignee must be a member of the project; null means unassigned. */
async function assigneeProblem(db: Db, projectId: number, assigneeId: number | null | undefined): Promise<FieldError[]> {
  if (assigneeId === null || assigneeId === undefined || (await isProjectMember(db, projectId, assigneeId))) return [];
  return [{ pointer: '/body/assignee_id', message: `Worker ${assigneeId} is not a member of project ${projectId}` }];
}

/** Validates and inserts a task in a project the caller may write to, with its `task_created` entry. */
async function createTaskIn(tx: Db, who: Principal, projectId: number, parentTaskId: number | null, body: Omit<TaskCreate, 'parent_task_id'>, checkParent: boolean) {
  const title = trimmedTitle(body.title);
  const errors = await assigneeProblem(tx, projectId, body.assignee_id);
  if (checkParent && parentTaskId !== null && !(await isTaskInProject(tx, parentTaskId, projectId))) {
    errors.push({ pointer: '/body/parent_task_id', message: `Task ${parentTaskId} is not in project ${projectId}` });
  }
  if (errors.length) {
    throw new ProblemError('validation-failed', { detail: `The request has ${errors.length} invalid field${errors.length === 1 ? '' : 's'}; see errors`, errors });
  }
  const task = {
    tenantId: who.tenantId,
    projectId,
    parentTaskId,
    title,
    description: body.description ?? null,
    priority: body.priority ?? 'medium',
    assigneeId: body.assignee_id ?? null,
    tags: body.tags ?? [],
    dueDate: body.due_date ?? null,
    recurrence: toRecurrence(body.recurrence),
    createdById: who.workerId,
  };
  // The insert writes its task_created entry (title, priority, assignee, parent, due date, recurrence as stored).
  const row = await insertTaskWithAudit(tx, task, actorOf(who));
  // A task just created has no subtasks yet.
  return { status: 201 as const, body: toTask(row, []), headers: { Location: `/api/tasks/${row.id}`, ETag: etagOf(row.version) } };
}

/** What updateTask may change, as the contract names it: the before/after of `task_updated`. */
const editable = ({ title, description, priority, tags, due_date, recurrence }: Task) => ({ title, description, priority, tags, due_date, recurrence });
const EDITABLE = ['title', 'description', 'priority', 'tags', 'due_date', 'recurrence'] as const;

export const taskHandlers = ({ pool }: { pool: DatabasePool }) =>
  ({
    listProjectTasks: async ({ principal: who, params, query }) => {
      const projectId = params.project_id;
      await requireProjectRole(pool, who, projectId);
      const page = pageOf(query);
      const rows = await listProjectTasksPage(pool, who, projectId, filterOf(who, query), page);
      return { status: 200, body: toPage(rows, page.limit, page.sort, (r) => cursorKeyOf(page.sort, r), toTaskSummary) };
    },

    listMyTasks: async ({ principal: who, query }) => {
      const page = pageOf(query);
      const rows = await listMemberTasksPage(pool, who, { ...filterOf(who, query), projectId: query.project_id }, page);
      return { status: 200, body: toPage(rows, page.limit, page.sort, (r) => cursorKeyOf(page.sort, r), toTaskSummary) };
    },

    createTask: async ({ principal: who, params, body }) =>
      pool.transaction(async (tx) => {
        const projectId = params.project_id;
        await requireProjectRole(tx, who, projectId);
        return createTaskIn(tx, who, projectId, body.parent_task_id ?? null, body, true);
      }),

    createSubtask: async ({ principal: who, params, body }) =>
      pool.transaction(async (tx) => {
        const parentId = params.task_id;
        const parent = await findVisibleTask(tx, who, parentId);
        if (!parent) throw taskNotFound(parentId);
        return createTaskIn(tx, who, parent.projectId, parent.id, body, false);
      }),

    getTask: async ({ principal: who, params, headers }) => {
      const taskId = params.task_id;
      const task = await findVisibleTaskWithSubtasks(pool, who, taskId);
      if (!task) throw taskNotFound(taskId);
      return notModifiedReply(headers['if-none-match'], task.version) ?? { status: 200, body: toTask(task, task.subtasks), headers: { ETag: etagOf(task.version) } };
    },

    updateTask: async ({ principal: who, params, headers, body }) =>
      pool.transaction(async (tx) => {
        const before = await lockTask(tx, who, params.task_id, headers['if-match']);
        const patch: TaskPatch = {
          title: body.title === undefined ? undefined : trimmedTitle(body.title),
          description: body.description,
          priority: body.priority,
          tags: body.tags,
          dueDate: body.due_date,
          recurrence: body.recurrence === undefined ? undefined : toRecurrence(body.recurrence),
        };
        const changed = await updateTaskFields(tx, before.id, patch);
        const reply = await taskReply(tx, before.id, 200);
        if (changed) {
          await recordAudit(tx, actorOf(who), {
            projectId: before.projectId,
            entityType: 'task',
            entityId: before.id,
            action: 'task_updated',
            details: changedFields(editable(toTask(before, [])), editable(reply.body), EDITABLE),
          });
        }
        return reply;
      }),

    deleteTask: async ({ principal: who, params, headers }) =>
      pool.transaction(async (tx) => {
        const task = await lockTask(tx, who, params.task_id, headers['if-match']);
        const subtasksDeleted = await countDescendants(tx, task.id);
        await deleteTaskRow(tx, task.id);
        await recordAudit(tx, actorOf(who), {
          projectId: task.projectId,
          entityType: 'task',
          entityId: task.id,
          action: 'task_deleted',
          // Creator and assignee: the inbox tells them, after the row is gone.
          details: {
            title: task.title,
            parent_task_id: task.parentTaskId,
            subtasks_deleted: subtasksDeleted,
            created_by_id: task.createdById,
            assignee_id: task.assigneeId,
          },
        });
        return { status: 204, body: undefined };
      }),

    updateTaskStatus: async ({ principal: who, params, headers, body }) =>
      pool.transaction(async (tx) => {
        const lock = body.status === 'completed' ? lockTaskToComplete : lockTask;
        const task = await lock(tx, who, params.task_id, headers['if-match']);
        assertTransition(task.status, body.status, task.hasOpenSubtasks);
        return rowReply(await changeStatus(tx, who, task, body.status, { action: 'status_changed' }), 200);
      }),

    updateTaskProgress: async ({ principal: who, params, headers, body }) =>
      pool.transaction(async (tx) => {
        const task = await lockTask(tx, who, params.task_id, headers['if-match']);
        if (task.status !== 'in_progress') {
          throw new ProblemError('not-in-progress', { detail: `Task ${task.id} is ${task.status}; start it before reporting progress` });
        }
        // The update writes its progress_updated entry and the note, and returns the task as it is now.
        const row = await setTaskProgressWithAudit(tx, task.id, body.progress_percent, body.note, actorOf(who), {
          progress_percent: { before: task.progressPercent, after: body.progress_percent },
          ...(body.note === undefined ? {} : { note: body.note }),
        });
        return rowReply(row, 200);
      }),

    assignTask: async ({ principal: who, params, headers, body }) =>
      pool.transaction(async (tx) => {
        // Removing a member locks the project, then unassigns its tasks; taking the project first keeps the same
        // order here, so an assignment racing a removal waits instead of deadlocking.
        await shareLockProjectOfTask(tx, params.task_id);
        const task = await lockTask(tx, who, params.task_id, headers['if-match']);
        const errors = await assigneeProblem(tx, task.projectId, body.assignee_id);
        if (errors.length) throw new ProblemError('validation-failed', { detail: 'The assignee is not a member of the project', errors });
        await setTaskAssignee(tx, task.id, body.assignee_id);
        await recordAudit(tx, actorOf(who), {
          projectId: task.projectId,
          entityType: 'task',
          entityId: task.id,
          action: 'assigned',
          details: { assignee_id: { before: task.assigneeId, after: body.assignee_id } },
        });
        return taskReply(tx, task.id, 200);
      }),

    claimTask: async ({ principal: who, params, headers }) =>
      pool.transaction(async (tx) => {
        // The project first, as assignTask and member removal take it: a claim racing a removal waits, never deadlocks.
        await shareLockProjectOfTask(tx, params.task_id);
        const task = await lockTask(tx, who, params.task_id, headers['if-match']);
        await claim(tx, who, task);
        return taskReply(tx, task.id, 200);
      }),

    claimNextTask: async ({ principal: who, params, query }) =>
      pool.transaction(async (tx) => {
        const projectId = params.project_id;
        await requireProjectRole(tx, who, projectId);
        await shareLockProject(tx, projectId);
        const filter = { tags: query.tags, priorities: query.priority, parentTaskId: query.parent_task_id };
        const taskId = await lockNextClaimable(tx, who.tenantId, projectId, filter);
        if (taskId === null) return { status: 204 as const, body: undefined };
        await claim(tx, who, await getTaskWithSubtasksById(tx, taskId));
        return taskReply(tx, taskId, 200);
      }),

    approveTask: async ({ principal: who, params, headers }) =>
      pool.transaction(async (tx) => {
        const task = await lockTaskToComplete(tx, who, params.task_id, headers['if-match']);
        if (task.status !== 'review') {
          throw new ProblemError('not-in-review', { detail: `Task ${task.id} is ${task.status}; only a task in review can be approved` });
        }
        return rowReply(await changeStatus(tx, who, task, 'completed', { action: 'approved' }), 200);
      }),

    rejectTask: async ({ principal: who, params, headers, body }) =>
      pool.transaction(async (tx) => {
        const task = await lockTask(tx, who, params.task_id, headers['if-match']);
        if (task.status !== 'review') {
          throw new ProblemError('not-in-review', { detail: `Task ${task.id} is ${task.status}; only a task in review can be rejected` });
        }
        // The status change writes last_rejection in the same statement.
        const row = await changeStatus(tx, who, task, 'in_progress', {
          action: 'rejected',
          details: { reason: body.reason },
          rejection: { reviewerId: who.workerId, reason: body.reason },
        });
        return rowReply(row, 200);
      }),
  }) satisfies HandlersFor<TaskOps>;
