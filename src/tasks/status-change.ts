import { actorOf, recordAudit } from '../audit/index.js';
import type { AuditAction, Db, TaskStatus } from '../db/index.js';
import { ProblemError } from '../http/problem.js';
import type { Principal } from '../http/principal.js';
import { maySpawn, nextDueDate } from './recurrence.js';
import {
  countOpenDescendants,
  incrementSpawnCount,
  insertNextOccurrence,
  lockSeriesRoot,
  setTaskClaimed,
  setTaskStatusWithAudit,
  type Rejection,
  type TaskRow,
  type TaskWithSubtasksRow,
} from './tasks.sql.js';
import { decideClaim, effectsOf } from './workflow.js';

export interface StatusAudit {
  action: Extract<AuditAction, 'status_changed' | 'approved' | 'rejected'>;
  /** Facts recorded next to the status change, such as a rejection's reason. */
  details?: Record<string, unknown>;
  /** A rejection: becomes the task's last_rejection in the same statement. */
  rejection?: Rejection;
}

/**
 * Moves a task the transaction has locked to `to` (the caller checked that the workflow allows it): refuses to
 * complete a task with an open subtask at any depth, applies the workflow's side effects, records the change,
 * and completing a recurring task spawns the series' next occurrence. Returns the task as it is now, with its
 * embedded subtasks.
 */
export async function changeStatus(tx: Db, who: Principal, task: TaskRow, to: TaskStatus, audit: StatusAudit): Promise<TaskWithSubtasksRow> {
  if (to === 'completed') await assertNoOpenSubtasks(tx, task.id);
  // The update writes its audit entry (and a rejection) in the same statement, and returns the task.
  const row = await setTaskStatusWithAudit(tx, task.id, effectsOf(task.status, to, task.startedAt !== null), actorOf(who), {
    action: audit.action,
    details: { status: { before: task.status, after: to }, ...audit.details },
  }, audit.rejection);
  if (to === 'completed' && row.completedAt !== null && (await spawnNextOccurrence(tx, who, task, row.completedAt)) === task.id) {
    // The task is its series' root: the spawn counted on it (incrementSpawnCount leaves its version alone).
    return { ...row, spawnCount: row.spawnCount + 1 };
  }
  return row;
}

/**
 * Claims a task the transaction has locked for the caller: assigns them and starts it (pending → in_progress),
 * recorded as one `claimed` entry. Their own task in progress is left as it is; the refusals are decideClaim's.
 * Returns whether anything changed.
 */
export async function claim(tx: Db, who: Principal, task: TaskRow): Promise<boolean> {
  if (decideClaim(task, who.workerId).kind === 'noop') return false;
  await setTaskClaimed(tx, task.id, who.workerId);
  await recordAudit(tx, actorOf(who), {
    projectId: task.projectId,
    entityType: 'task',
    entityId: task.id,
    action: 'claimed',
    details: { assignee_id: { before: task.assigneeId, after: who.workerId }, status: { before: task.status, after: 'in_progress' } },
  });
  return true;
}

async function assertNoOpenSubtasks(tx: Db, taskId: number): Promise<void> {
  const open = await countOpenDescendants(tx, taskId);
  if (open > 0) {
    throw new ProblemError('open-subtasks', {
      detail: `Task ${taskId} has ${open} subtask${open === 1 ? '' : 's'} not yet completed; complete ${open === 1 ? 'it' : 'them'} first`,
    });
  }
}

/**
 * The next occurrence of a recurring series, at most once per completed task: the series' root is locked so
 * concurrent completions of its occurrences count one after the other, and task_spawned_from_key turns a
 * second spawn from the same task (completed, reopened, completed again) into nothing. Returns the id of the
 * root whose spawn count went up, or null when nothing was spawned.
 */
async function spawnNextOccurrence(tx: Db, who: Principal, task: TaskRow, completedAt: string): Promise<number | null> {
  if (task.recurrencePattern === null) return null;
  // A series whose first task was deleted lost its root (on delete set null): the task then counts for itself.
  const root = await lockSeriesRoot(tx, task.recurringRootId ?? task.id);
  if (!root) return null;
  const recurrence = { pattern: task.recurrencePattern, max_occurrences: task.recurrenceMax };
  if (!maySpawn(recurrence, root.spawnCount)) return null;
  const dueDate = nextDueDate(task.recurrencePattern, task.dueDate, completedAt);
  const spawnedId = await insertNextOccurrence(tx, task.id, root.id, dueDate);
  if (spawnedId === null) return null;
  await incrementSpawnCount(tx, root.id, task.id);
  await recordAudit(tx, actorOf(who), {
    projectId: task.projectId,
    entityType: 'task',
    entityId: spawnedId,
    action: 'recurrence_spawned',
    details: { spawned_from_id: task.id, recurring_root_id: root.id, due_date: dueDate, occurrence: root.spawnCount + 2 },
  });
  return root.id;
}
