import { AuditAction } from '../db/index.js';

/**
 * Phase I verbs → TaskFlow's audit actions. The trail's action is a closed enum shared with the contract, so a
 * verb TaskFlow has no word for becomes the nearest generic one (task_updated, project_updated) rather than
 * an entry the API could not serve. Whenever the word changes, `details.phase1_action` keeps the original.
 */
const TASK_ACTIONS: Record<string, AuditAction> = {
  created: 'task_created',
  subtask_created: 'task_created',
  updated: 'task_updated',
  edited: 'task_updated',
  deleted: 'task_deleted',
  started: 'status_changed',
  completed: 'status_changed',
  review_requested: 'status_changed',
  blocked: 'status_changed',
  unblocked: 'status_changed',
  reopened: 'status_changed',
  progressed: 'progress_updated',
  delegated: 'assigned',
  assigned: 'assigned',
  unassigned: 'assigned',
  approved: 'approved',
  rejected: 'rejected',
  spawned: 'recurrence_spawned',
};
const PROJECT_ACTIONS: Record<string, AuditAction> = {
  created: 'project_created',
  updated: 'project_updated',
  edited: 'project_updated',
  deleted: 'project_deleted',
};

export function mapAction(entity: 'task' | 'project', action: string): AuditAction {
  const known = AuditAction.safeParse(action);
  if (known.success) return known.data;
  return (entity === 'task' ? TASK_ACTIONS : PROJECT_ACTIONS)[action] ?? (entity === 'task' ? 'task_updated' : 'project_updated');
}
