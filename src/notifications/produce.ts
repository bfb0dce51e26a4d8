import type { components } from '../../generated/api.js';
import type { AuditAction } from '../db/index.js';
import { isImportedHistory, type EventRow } from '../events/index.js';

export type NotificationType = components['schemas']['NotificationType'];

/** Who a task concerns, as it is when its events are turned into notifications. */
export interface TaskParties {
  id: number;
  title: string;
  createdById: number;
  assigneeId: number | null;
}

export interface NotificationDraft {
  tenant_id: string;
  recipient_id: number;
  event_id: number;
  type: NotificationType;
  project_id: number | null;
  task_id: number;
  task_title: string;
  actor_id: number | null;
  actor_handle: string;
  actor_type: string;
  data: Record<string, unknown>;
}

const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
const after = (v: unknown): unknown => (v && typeof v === 'object' && 'after' in v ? (v as { after: unknown }).after : undefined);

/** The actions that can notify anyone: the inbox producer reads only these from the event log. */
export const NOTIFYING_ACTIONS = [
  'task_created', 'assigned', 'status_changed', 'approved', 'rejected', 'task_deleted', 'recurrence_spawned', 'reminder_due',
] as const satisfies readonly AuditAction[];

/** Who gets which notification for one event: [type, recipients, data], before removing the actor. */
function route(row: EventRow, task: TaskParties | undefined): [NotificationType, (number | null)[], Record<string, unknown>] | undefined {
  const d = row.details;
  const concerned = [task?.createdById ?? null, task?.assigneeId ?? null];
  switch (row.action as (typeof NOTIFYING_ACTIONS)[number]) {
    case 'task_created':
      return ['task_assigned', [num(d.assignee_id)], {}];
    case 'assigned':
      return ['task_assigned', [num(after(d.assignee_id))], {}];
    case 'status_changed': {
      const to = after(d.status);
      if (to === 'review') return ['task_review', concerned, {}];
      if (to === 'completed') return ['task_completed', concerned, {}];
      return undefined;
    }
    case 'approved':
      return ['task_completed', concerned, {}];
    case 'rejected':
      return ['task_rejected', concerned, { reason: d.reason ?? null }];
    case 'task_deleted':
      return ['task_deleted', [num(d.created_by_id), num(d.assignee_id)], {}];
    case 'recurrence_spawned':
      return ['task_spawned', concerned, { spawned_from_id: d.spawned_from_id ?? null, due_date: d.due_date ?? null }];
    case 'reminder_due':
      return ['task_reminder', [num(d.assignee_id)], { tier: d.tier, due_date: d.due_date, late_by_ms: d.late_by_ms }];
    default:
      return undefined;
  }
}

/**
 * The notifications one event produces: for the people it concerns (the assignee, the task's creator),
 * never for whoever made the change, and none for imported history (a 2025 assignment is not news).
 */
export function notificationsFor(row: EventRow, task: TaskParties | undefined): NotificationDraft[] {
  if (row.entityType !== 'task' || isImportedHistory(row.details)) return [];
  const routed = route(row, task);
  if (!routed) return [];
  const [type, candidates, data] = routed;
  const recipients = new Set(candidates.filter((id): id is number => id !== null && id !== row.actorId));
  const title = task?.title ?? (typeof row.details.title === 'string' ? row.details.title : `Task ${row.entityId}`);
  return [...recipients].map((recipientId) => ({
    tenant_id: row.tenantId,
    recipient_id: recipientId,
    event_id: row.id,
    type,
    project_id: row.projectId,
    task_id: row.entityId,
    task_title: title,
    actor_id: row.actorId,
    actor_handle: row.actorHandle,
    actor_type: row.actorType,
    data,
  }));
}
