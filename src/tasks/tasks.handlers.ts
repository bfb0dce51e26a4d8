import type { components } from '../../generated/api.js';
import { actorOf } from '../audit/index.js';
import type { HandlersFor } from '../http/handler.js';
import { toPage } from '../http/paging.js';
import { assertIfMatch, ifMatchVersions, notModifiedReply } from '../http/preconditions.js';
import { ProblemError, type FieldError } from '../http/problem.js';
import type { Principal } from '../http/principal.js';
import { projectNotFound, requireProjectRole } from '../members/index.js';
import { lockTask, taskNotFound } from './lock.js';
import { filterOf, pageOf } from './tasks-list.js';
import { cursorKeyOf, listMemberTasksPage, listProjectTasksPage } from './tasks-list.sql.js';
import {
  assignIfAllowed,
  deleteTaskWithAudit,
  findVisibleTask,
  findVisibleTaskWithSubtasks,
  insertTaskIfAllowed,
  reportProgressIfAllowed,
  updateTaskIfAllowed,
  type NewTask,
  type TaskPatch,
  type TaskRow,
  type TaskWithSubtasksRow,
} from './tasks.sql.js';
import { taskEtag, toTask, toTaskSummary } from './to-task.js';
import { claim, claimNext, complete, moveStatus, reject } from './workflow.js';

type TaskOps =
  | 'listProjectTasks' | 'listMyTasks' | 'createTask' | 'getTask' | 'updateTask' | 'deleteTask'
  | 'updateTaskStatus' | 'updateTaskProgress' | 'assignTask' | 'createSubtask' | 'approveTask' | 'rejectTask'
  | 'claimTask' | 'claimNextTask';
type TaskCreate = components['schemas']['TaskCreate'];
type RecurrenceInput = components['schemas']['RecurrenceInput'] | null | undefined;

/** A task row with its embedded subtasks as a single-task reply with its ETag. */
const rowReply = <S extends 200 | 201>(row: TaskWithSubtasksRow, status: S, headers: Record<string, string> = {}) => {
  const body = toTask(row, row.subtasks);
  return { status, body, headers: { ...headers, ETag: taskEtag(body) } };
};

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

const notAMember = (assigneeId: number | null, projectId: number): FieldError =>
  ({ pointer: '/body/assignee_id', message: `Worker ${assigneeId} is not a member of project ${projectId}` });

/** The row a create request asks for, as stored: trimmed title, defaults applied. */
function newTask(who: Principal, projectId: number, parentTaskId: number | null, body: Omit<TaskCreate, 'parent_task_id'>): NewTask {
  return {
    tenantId: who.tenantId,
    projectId,
    parentTaskId,
    title: trimmedTitle(body.title),
    description: body.description ?? null,
    priority: body.priority ?? 'medium',
    assigneeId: body.assignee_id ?? null,
    tags: body.tags ?? [],
    dueDate: body.due_date ?? null,
    recurrence: toRecurrence(body.recurrence),
    createdById: who.workerId,
  };
}

/** A refused assignee or parent as the 422 the contract documents, both named when both are wrong. */
function refusedFields(task: NewTask, assigneeOk: boolean, parentOk: boolean): ProblemError {
  const errors: FieldError[] = [];
  if (!assigneeOk) errors.push(notAMember(task.assigneeId, task.projectId));
  if (!parentOk) errors.push({ pointer: '/body/parent_task_id', message: `Task ${task.parentTaskId} is not in project ${task.projectId}` });
  return new ProblemError('validation-failed', { detail: `The request has ${errors.length} invalid field${errors.length === 1 ? '' : 's'}; see errors`, errors });
}

/** A task just created (it has no subtasks yet) as the 201 reply. */
const createdReply = (row: TaskRow) => {
  const body = toTask(row, []);
  return { status: 201 as const, body, headers: { Location: `/api/tasks/${row.id}`, ETag: taskEtag(body) } };
};

/**
 * Thin: each handler opens its transaction on `db`, checks access, calls the SQL or the workflow (every status
 * change goes through workflow.ts) and replies.
 */
export const taskHandlers = () =>
  ({
    listProjectTasks: async ({ db, principal: who, params, query }) => {
      const projectId = params.project_id;
      // The page statement checks the membership itself; only an empty page or a bad cursor need to know whether
      // the caller is a member (a stranger gets the 404 either way, never the cursor's 422).
      let page;
      try {
        page = pageOf(query);
      } catch (err) {
        await requireProjectRole(db, who, projectId);
        throw err;
      }
      const rows = await listProjectTasksPage(db, who, projectId, filterOf(who, query), page);
      if (rows.length === 0) await requireProjectRole(db, who, projectId);
      return { status: 200, body: toPage(rows, page.limit, page.sort, (r) => cursorKeyOf(page.sort, r), toTaskSummary) };
    },

    listMyTasks: async ({ db, principal: who, query }) => {
      const page = pageOf(query);
      const rows = await listMemberTasksPage(db, who, { ...filterOf(who, query), projectId: query.project_id }, page);
      return { status: 200, body: toPage(rows, page.limit, page.sort, (r) => cursorKeyOf(page.sort, r), toTaskSummary) };
    },

    // One statement: the access, assignee and parent checks and the insert with its audit entry (see
    // insertTaskIfAllowed); nothing is written unless all checks pass.
    createTask: async ({ db, principal: who, params, body }) => {
      const projectId = params.project_id;
      const task = newTask(who, projectId, body.parent_task_id ?? null, body);
      const inserted = await insertTaskIfAllowed(db, who, task, actorOf(who));
      if (inserted.task) return createdReply(inserted.task);
      if (!inserted.visible) throw projectNotFound(projectId);
      throw refusedFields(task, inserted.assigneeOk, inserted.parentOk);
    },

    // Two statements, no transaction: the parent's project, then createTask's checked insert under that parent
    // (insertTaskIfAllowed), which checks again, in the same statement as the insert, that the caller may see the
    // project and the parent is still in it; a parent deleted or a membership ended in between is the parent's 404.
    createSubtask: async ({ db, principal: who, params, body }) => {
      const parentId = params.task_id;
      const parent = await findVisibleTask(db, who, parentId);
      if (!parent) throw taskNotFound(parentId);
      const task = newTask(who, parent.projectId, parent.id, body);
      const inserted = await insertTaskIfAllowed(db, who, task, actorOf(who));
      if (inserted.task) return createdReply(inserted.task);
      if (!inserted.visible || !inserted.parentOk) throw taskNotFound(parentId);
      throw refusedFields(task, inserted.assigneeOk, true);
    },

    getTask: async ({ db, principal: who, params, headers }) => {
      const taskId = params.task_id;
      const task = await findVisibleTaskWithSubtasks(db, who, taskId);
      if (!task) throw taskNotFound(taskId);
      const body = toTask(task, task.subtasks);
      const etag = taskEtag(body);
      return notModifiedReply(headers['if-none-match'], etag) ?? { status: 200, body, headers: { ETag: etag } };
    },

    // One statement: the visibility and If-Match checks, the edit (if it changes anything) with its entry, and
    // the reply's row (see updateTaskIfAllowed); refusals in lockTask's order (404, 412), nothing written.
    updateTask: async ({ db, principal: who, params, headers, body }) => {
      const taskId = params.task_id;
      const ifMatch = headers['if-match'];
      const patch: TaskPatch = {
        title: body.title === undefined ? undefined : trimmedTitle(body.title),
        description: body.description,
        priority: body.priority,
        tags: body.tags,
        dueDate: body.due_date,
        recurrence: body.recurrence === undefined ? undefined : toRecurrence(body.recurrence),
      };
      const result = await updateTaskIfAllowed(db, who, taskId, patch, ifMatchVersions(ifMatch), actorOf(who));
      if (!result) throw taskNotFound(taskId);
      if (result.task) return rowReply(result.task, 200);
      assertIfMatch(ifMatch, result.currentVersion);
      throw new Error(`updateTaskIfAllowed refused task ${taskId} at version ${result.currentVersion}, which If-Match accepts`);
    },

    deleteTask: async ({ db, principal: who, params, headers }) =>
      db.transaction(async (tx) => {
        const task = await lockTask(tx, who, params.task_id, headers['if-match']);
        // The delete and its entry in one statement, which also counts the subtasks deleted with it. Creator and
        // assignee: the inbox tells them, after the row is gone.
        await deleteTaskWithAudit(tx, task.id, actorOf(who), {
          title: task.title,
          parent_task_id: task.parentTaskId,
          created_by_id: task.createdById,
          assignee_id: task.assigneeId,
        });
        return { status: 204, body: undefined };
      }),

    updateTaskStatus: async ({ db, principal: who, params, headers, body }) =>
      rowReply(await moveStatus(db, who, params.task_id, headers['if-match'], body.status), 200),

    // One statement: the visibility, If-Match and status checks and the update with its audit entry (see
    // reportProgressIfAllowed); nothing is written unless all pass, and the refusals come in lockTask's order.
    updateTaskProgress: async ({ db, principal: who, params, headers, body }) => {
      const taskId = params.task_id;
      const ifMatch = headers['if-match'];
      const result = await reportProgressIfAllowed(db, who, taskId, body.progress_percent, body.note, ifMatchVersions(ifMatch), actorOf(who));
      if (!result) throw taskNotFound(taskId);
      if (result.task) return rowReply(result.task, 200);
      if (!result.versionOk) assertIfMatch(ifMatch, result.currentVersion);
      throw new ProblemError('not-in-progress', { detail: `Task ${taskId} is ${result.currentStatus}; start it before reporting progress` });
    },

    // One statement (assignIfAllowed): the project's share lock first, as a member's removal takes it, then the
    // task, If-Match and the assignee's membership, and only if all pass the update with its entry.
    assignTask: async ({ db, principal: who, params, headers, body }) => {
      const ifMatch = headers['if-match'];
      const result = await assignIfAllowed(db, who, params.task_id, body.assignee_id, ifMatchVersions(ifMatch), actorOf(who));
      if (!result) throw taskNotFound(params.task_id);
      if (result.task) return rowReply(result.task, 200);
      if (!result.versionOk) assertIfMatch(ifMatch, result.currentVersion);
      throw new ProblemError('validation-failed', { detail: 'The assignee is not a member of the project', errors: [notAMember(body.assignee_id, result.projectId)] });
    },

    claimTask: async ({ db, principal: who, params, headers }) =>
      rowReply(await claim(db, who, params.task_id, headers['if-match']), 200),

    claimNextTask: async ({ db, principal: who, params, query }) => {
      const filter = { tags: query.tags, priorities: query.priority, parentTaskId: query.parent_task_id };
      const row = await claimNext(db, who, params.project_id, filter);
      return row === null ? { status: 204 as const, body: undefined } : rowReply(row, 200);
    },

    approveTask: async ({ db, principal: who, params, headers }) =>
      rowReply(await db.transaction((tx) => complete(tx, who, params.task_id, headers['if-match'], 'approved')), 200),

    rejectTask: async ({ db, principal: who, params, headers, body }) =>
      rowReply(await reject(db, who, params.task_id, headers['if-match'], body.reason), 200),
  }) satisfies HandlersFor<TaskOps>;
