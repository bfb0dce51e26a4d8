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

export function assertTransition(from: TaskStatus, to: TaskStatus): void {
  if (!NEXT[from].includes(to)) {
    throw new ProblemError('invalid-transition', {
      detail: `A task cannot go from ${from} to ${to}; from ${from} it may go to: ${NEXT[from].join(', ')}`,
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
