import { actorOf } from '../audit/index.js';
import type { Db, TaskStatus } from '../db/index.js';
import { assertIfMatch, ifMatchVersions } from '../http/preconditions.js';
import { ProblemError } from '../http/problem.js';
import type { Principal } from '../http/principal.js';
import { projectNotFound } from '../members/index.js';
import { lockTask, taskNotFound } from './lock.js';
import { maySpawn, nextDueDate } from './recurrence.js';
import {
  claimNextIfMember,
  completeIfNoOpenSubtasks,
  getTaskWithSubtasksById,
  incrementSpawnCount,
  insertNextOccurrence,
  lockSeriesRoot,
  moveIfAllowed,
  recordTaskAudit,
  type ClaimFilter,
  type EffectsFrom,
  type StatusEffects,
  type TaskRow,
  type TaskWithSubtasksRow,
} from './tasks.sql.js';

/*
 * The task workflow. Every change of a task's status goes through this module: updateTaskStatus, approveTask,
 * rejectTask, claimTask and claimNextTask call one function each (moveStatus, complete, reject, claim,
 * claimNext), which locks, checks the table and the guards, applies the effects, records the audit entry and
 * returns the task as stored. Reading top-down: the table, the guards, the effects (pure), then the moves
 * (one statement each where nothing else must be locked or read first, a transaction otherwise).
 */

// ── The table ────────────────────────────────────────────────────────────────────────────────────────────

/** The review workflow: which status may follow which. Everything else is a 409 naming the allowed ones. */
export const NEXT: Record<TaskStatus, readonly TaskStatus[]> = {
  pending: ['in_progress', 'blocked', 'completed'],
  in_progress: ['review', 'completed', 'blocked'],
  review: ['in_progress', 'completed'],
  completed: ['review'],
  blocked: ['pending', 'in_progress'],
};

/**
 * The moves a caller can ask for, each recorded as its own audit action. A status change goes anywhere NEXT
 * allows; approve, reject and claim are named edges of the same table that start from one status only.
 */
export const MOVES = {
  status_changed: { from: null, to: null },
  approved: { from: 'review', to: 'completed' },
  rejected: { from: 'review', to: 'in_progress' },
  claimed: { from: 'pending', to: 'in_progress' },
} as const satisfies Record<string, { from: TaskStatus | null; to: TaskStatus | null }>;

// ── The guards ───────────────────────────────────────────────────────────────────────────────────────────

/** Where a task may go now: the table's next statuses, without `completed` while a subtask is open. */
export function allowedTransitions(from: TaskStatus, hasOpenSubtasks: boolean): TaskStatus[] {
  return NEXT[from].filter((to) => !(to === 'completed' && hasOpenSubtasks));
}

export function assertTransition(from: TaskStatus, to: TaskStatus, hasOpenSubtasks = false): void {
  if (!NEXT[from].includes(to)) {
    throw new ProblemError('invalid-transition', {
      detail: `A task cannot go from ${from} to ${to}; from ${from} it may go to: ${NEXT[from].join(', ')}`,
      extensions: { allowed_transitions: allowedTransitions(from, hasOpenSubtasks) },
    });
  }
}

/** Approve and reject judge a task in review; any other status is a 409 not-in-review. */
function assertInReview(task: { id: number; status: TaskStatus }, move: 'approved' | 'rejected'): void {
  if (task.status !== MOVES[move].from) {
    const verb = move === 'approved' ? 'approved' : 'rejected';
    throw new ProblemError('not-in-review', { detail: `Task ${task.id} is ${task.status}; only a task in review can be ${verb}` });
  }
}

/** `completed` waits for every subtask, at any depth: the refusal when `open` of them are not completed. */
function openSubtasks(taskId: number, open: number): ProblemError {
  return new ProblemError('open-subtasks', {
    detail: `Task ${taskId} has ${open} subtask${open === 1 ? '' : 's'} not yet completed; complete ${open === 1 ? 'it' : 'them'} first`,
  });
}

/** What claiming a task means for a worker: it is theirs already, it is free to take, or it is refused. */
export type ClaimDecision = { kind: 'noop' } | { kind: 'claim' };

/**
 * Claiming assigns the caller and starts the task. Someone else's task is 409 already-claimed naming them; the
 * caller's own task in progress is a no-op; otherwise only a pending task can be claimed (pending → in_progress).
 */
export function decideClaim(
  task: { id: number; status: TaskStatus; assigneeId: number | null; assigneeHandle: string | null; hasOpenSubtasks: boolean },
  workerId: number,
): ClaimDecision {
  if (task.assigneeId !== null && task.assigneeId !== workerId) {
    throw new ProblemError('already-claimed', {
      detail: `Task ${task.id} is held by ${task.assigneeHandle ?? `worker ${task.assigneeId}`}`,
      extensions: { assignee_handle: task.assigneeHandle ?? `worker ${task.assigneeId}` },
    });
  }
  if (task.assigneeId === workerId && task.status === 'in_progress') return { kind: 'noop' };
  if (task.status !== MOVES.claimed.from) {
    throw new ProblemError('invalid-transition', {
      detail: `Task ${task.id} is ${task.status}; only a pending task can be claimed`,
      extensions: { allowed_transitions: allowedTransitions(task.status, task.hasOpenSubtasks) },
    });
  }
  return { kind: 'claim' };
}

// ── The effects ──────────────────────────────────────────────────────────────────────────────────────────

export type { StatusEffects };

/** What a status change does besides the status itself. Completing a recurring task also spawns (below). */
export function effectsOf(from: TaskStatus, to: TaskStatus, alreadyStarted: boolean): StatusEffects {
  return {
    status: to,
    startedAt: to === 'in_progress' && !alreadyStarted ? 'now' : 'keep',
    completedAt: to === 'completed' ? 'now' : from === 'completed' ? 'clear' : 'keep',
    progress: to === 'completed' ? 100 : 'keep',
  };
}

// ── The moves ────────────────────────────────────────────────────────────────────────────────────────────

type IfMatch = string | string[] | undefined;

/** A status change that completes a task: updateTaskStatus to `completed`, or an approval. */
export type Completing = 'status_changed' | 'approved';

/**
 * updateTaskStatus: a move to any status but `completed` is one statement (moveIfAllowed) that applies this
 * module's table and effects, computed here for every state the task may be in; completing waits for the
 * subtasks and may spawn, so it takes complete's transaction. Refusals are the same either way, in the same
 * order: 404, 412, then the table's 409 (assertTransition, from the state the statement found).
 */
export async function moveStatus(db: Db, who: Principal, taskId: number, ifMatch: IfMatch, to: TaskStatus): Promise<TaskWithSubtasksRow> {
  if (to === 'completed') return db.transaction((tx) => complete(tx, who, taskId, ifMatch, 'status_changed'));
  const result = await moveIfAllowed(db, who, taskId, MOVES_TO[to], ifMatchVersions(ifMatch), actorOf(who));
  if (!result) throw taskNotFound(taskId);
  if (result.task) return result.task;
  if (!result.versionOk) assertIfMatch(ifMatch, result.currentVersion);
  assertTransition(result.currentStatus, to, result.hasOpenSubtasks);
  throw new Error(`moveIfAllowed refused task ${taskId} (${result.currentStatus} → ${to}), which the workflow allows`);
}

/**
 * rejectTask: one statement like moveStatus (review → in_progress, with the task's latest rejection and a
 * `rejected` entry naming the reason). Refusals in lockTask's order: 404, 412, then 409 not-in-review.
 */
export async function reject(db: Db, who: Principal, taskId: number, ifMatch: IfMatch, reason: string): Promise<TaskWithSubtasksRow> {
  const result = await moveIfAllowed(db, who, taskId, REJECTED_FROM, ifMatchVersions(ifMatch), actorOf(who),
    { action: 'rejected', rejection: { reviewerId: who.workerId, reason } });
  if (!result) throw taskNotFound(taskId);
  if (result.task) return result.task;
  if (!result.versionOk) assertIfMatch(ifMatch, result.currentVersion);
  assertInReview({ id: taskId, status: result.currentStatus }, 'rejected');
  throw new Error(`moveIfAllowed refused to reject task ${taskId} in review`);
}

const STATUSES = Object.keys(NEXT) as TaskStatus[];

/** For each target, every state a task may move to it from (its status, started or not), with that move's effects. */
const MOVES_TO = Object.fromEntries(STATUSES.map((to) => [to, STATUSES.filter((from) => NEXT[from].includes(to))
  .flatMap((from) => [false, true].map((started) => ({ from, started, effects: effectsOf(from, to, started) })))])) as Record<TaskStatus, EffectsFrom[]>;

/** A named move's states: the one status it starts from (started or not), with that move's effects. */
const movesOf = (move: 'rejected' | 'claimed'): EffectsFrom[] => MOVES_TO[MOVES[move].to].filter((m) => m.from === MOVES[move].from);
const REJECTED_FROM = movesOf('rejected');
const CLAIMED_FROM = movesOf('claimed');

/**
 * updateTaskStatus to completed (see moveStatus) and approveTask, in a transaction of two statements (four round
 * trips with BEGIN and COMMIT; four more to spawn): the series' root and then the task locked (404, 412), the
 * move checked against the table (409 invalid-transition, not-in-review), then the completion with its effects and
 * audit entry only if no subtask is open (else 409 open-subtasks, nothing written); completing a recurring task
 * spawns the series' next occurrence. Returns the task as stored, with its embedded subtasks.
 */
export async function complete(tx: Db, who: Principal, taskId: number, ifMatch: IfMatch, move: Completing): Promise<TaskWithSubtasksRow> {
  const to = MOVES.approved.to; // `completed`, whichever move
  // Completing may spawn: the series' root is locked before the task, in the order a delete of the root takes them.
  const task = await lockTask(tx, who, taskId, ifMatch, { seriesRootFirst: true });
  if (move === 'status_changed') assertTransition(task.status, to, task.hasOpenSubtasks);
  else assertInReview(task, move);
  const completion = await completeIfNoOpenSubtasks(tx, task.id, effectsOf(task.status, to, task.startedAt !== null), actorOf(who), {
    action: move,
    details: { status: { before: task.status, after: to } },
  });
  if (!completion.task) throw openSubtasks(task.id, completion.openSubtasks);
  const row = completion.task;
  if (row.completedAt !== null && (await spawnNextOccurrence(tx, who, task, row.completedAt)) === task.id) {
    // The task is its series' root: the spawn counted on it (incrementSpawnCount leaves its version alone).
    return { ...row, spawnCount: row.spawnCount + 1 };
  }
  return row;
}

/**
 * claimTask: one statement like moveStatus, which takes the project's share lock first (as assignTask and member
 * removal take it, so a claim racing a removal waits, never deadlocks), then the task; the caller becomes its
 * assignee and it starts. Refusals in lockTask's order (404, 412), then decideClaim's; the caller's own task in
 * progress is returned as it is, nothing written.
 */
export async function claim(db: Db, who: Principal, taskId: number, ifMatch: IfMatch): Promise<TaskWithSubtasksRow> {
  const result = await moveIfAllowed(db, who, taskId, CLAIMED_FROM, ifMatchVersions(ifMatch), actorOf(who), { action: 'claimed', claimant: who.workerId });
  if (!result) throw taskNotFound(taskId);
  if (result.task) return result.task;
  if (!result.versionOk) assertIfMatch(ifMatch, result.currentVersion);
  const decision = decideClaim({ id: taskId, status: result.currentStatus, assigneeId: result.assigneeId, assigneeHandle: result.assigneeHandle, hasOpenSubtasks: result.hasOpenSubtasks }, who.workerId);
  if (decision.kind === 'noop') return getTaskWithSubtasksById(db, taskId);
  throw new Error(`moveIfAllowed refused to claim task ${taskId} (${result.currentStatus}), which decideClaim allows`);
}

/**
 * claimNextTask: the most urgent pending, unassigned task of the project that matches the filter, claimed for
 * the caller (rows other claimers hold are skipped), in one statement that checks the caller's membership and
 * takes the project's share lock first, as claim and assignTask take it. 404 when the project is not the
 * caller's; null when no task is left.
 */
export async function claimNext(db: Db, who: Principal, projectId: number, filter: ClaimFilter): Promise<TaskWithSubtasksRow | null> {
  const result = await claimNextIfMember(db, who, projectId, filter, CLAIMED_FROM, actorOf(who));
  if (!result.visible) throw projectNotFound(projectId);
  return result.task;
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
  await recordTaskAudit(tx, actorOf(who), { id: spawnedId, projectId: task.projectId }, 'recurrence_spawned', {
    spawned_from_id: task.id, recurring_root_id: root.id, due_date: dueDate, occurrence: root.spawnCount + 2,
  });
  return root.id;
}
