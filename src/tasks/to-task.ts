import type { components } from '../../generated/api.js';
import { digestOf, etagOf } from '../http/preconditions.js';
import type { TaskRow, TaskSummaryRow } from './tasks.sql.js';
import { allowedTransitions } from './workflow.js';

type TaskSummary = components['schemas']['TaskSummary'];
type Task = components['schemas']['Task'];

/** Row → the contract's TaskSummary (snake_case, exactly its fields). */
export const toTaskSummary = (row: TaskSummaryRow): TaskSummary => ({
  id: row.id,
  project_id: row.projectId,
  title: row.title,
  status: row.status,
  allowed_transitions: allowedTransitions(row.status, row.hasOpenSubtasks),
  priority: row.priority,
  progress_percent: row.progressPercent,
  tags: row.tags,
  assignee_id: row.assigneeId,
  assignee_handle: row.assigneeHandle,
  due_date: row.dueDate,
  parent_task_id: row.parentTaskId,
  subtask_count: row.subtaskCount,
  is_recurring: row.isRecurring,
  created_at: row.createdAt,
  updated_at: row.updatedAt,
  version: row.version,
});

/** Row and its direct subtasks → the contract's Task. */
export const toTask = (row: TaskRow, subtasks: readonly TaskSummaryRow[]): Task => ({
  ...toTaskSummary(row),
  description: row.description,
  created_by_id: row.createdById,
  started_at: row.startedAt,
  completed_at: row.completedAt,
  recurrence: row.recurrencePattern === null ? null : { pattern: row.recurrencePattern, max_occurrences: row.recurrenceMax },
  recurring_root_id: row.recurringRootId,
  spawn_count: row.spawnCount,
  last_rejection:
    row.lastRejectedAt === null
      ? null
      : { reason: row.lastRejectionReason ?? '', rejected_by_id: row.lastRejectedById, rejected_by_handle: row.lastRejectedByHandle, rejected_at: row.lastRejectedAt },
  last_progress_note: row.lastProgressNoteAt === null ? null : { note: row.lastProgressNote ?? '', noted_at: row.lastProgressNoteAt },
  subtasks: subtasks.map(toTaskSummary),
});

/**
 * A task's ETag: its version, and for a task with subtasks also a digest of what the task embeds of them — the
 * first 50 as they are now, `subtask_count`, and `allowed_transitions` (which open subtasks restrict). A subtask's
 * change does not change its parent's row, yet it changes the parent's representation: without the digest a
 * revalidating client got 304 and kept a stale list of subtasks. If-Match compares only the version: a write to
 * the task is conditional on the task itself (see ifMatchVersions).
 */
export const taskEtag = (task: Task): string =>
  task.subtask_count === 0
    ? etagOf(task.version)
    : etagOf(task.version, digestOf([task.subtask_count, task.allowed_transitions, task.subtasks]));
