import type { TaskStatus } from '../db/index.js';
import { ProblemError } from '../http/problem.js';

/** The review workflow: which status may follow which. Everything else is a 409 naming the allowed ones. */
export const NEXT: Record<TaskStatus, readonly TaskStatus[]> = {
  pending: ['in_progress', 'blocked', 'completed'],
  in_progress: ['review', 'completed', 'blocked'],
  review: ['in_progress', 'completed'],
  completed: ['review'],
  blocked: ['pending', 'in_progress'],
};

/** Where a task may go now: the workflow's next statuses, without `completed` while a subtask is open. */
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

export interface StatusEffects {
  status: TaskStatus;
  /** Set only the first time the task starts. */
  startedAt: 'now' | 'keep';
  completedAt: 'now' | 'clear' | 'keep';
  progress: number | 'keep';
}

/** What a status change does besides the status itself. */
export function effectsOf(from: TaskStatus, to: TaskStatus, alreadyStarted: boolean): StatusEffects {
  return {
    status: to,
    startedAt: to === 'in_progress' && !alreadyStarted ? 'now' : 'keep',
    completedAt: to === 'completed' ? 'now' : from === 'completed' ? 'clear' : 'keep',
    progress: to === 'completed' ? 100 : 'keep',
  };
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
  if (task.status !== 'pending') {
    throw new ProblemError('invalid-transition', {
      detail: `Task ${task.id} is ${task.status}; only a pending task can be claimed`,
      extensions: { allowed_transitions: allowedTransitions(task.status, task.hasOpenSubtasks) },
    });
  }
  return { kind: 'claim' };
}
