import { z } from 'zod';
import type { components } from '../../generated/api.js';

type Schemas = components['schemas'];

/** Zod row scalars shared by every *.sql.ts: what the type parsers in pool.ts hand us. */
export const Id = z.number().int().positive();
export const Timestamp = z.string(); // RFC 3339, produced by the timestamptz parser
/**
 * A jsonb column holding an object (audit details, notification data). node-postgres has parsed it, so its keys
 * are strings and its values JSON: the row check asks that it is an object and passes it on as it is. As
 * `z.record(z.string(), z.unknown())` it ran two schemas per key and copied the object on every row, 4 % of the
 * server's CPU on W3, where three event-log consumers read each created task's audit row (docs/performance-log.md,
 * seventh pass).
 */
export const JsonObject = z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), {
  message: 'Expected a JSON object',
});

/**
 * The contract's enums as runtime values, declared once. `valuesOf<Union>()([...])` compiles only when the
 * array lists exactly the members of the generated union: a value the contract lacks is refused by the element
 * type, a value the contract gained (after `make generate`) fails tsc with `missing: '<value>'` until it is
 * added here. The database's CHECK constraints (sql/) hold the same words.
 */
export const valuesOf =
  <Union extends string>() =>
  <const Values extends readonly Union[]>(
    values: Values & ([Exclude<Union, Values[number]>] extends [never] ? unknown : { missing: Exclude<Union, Values[number]> }),
  ): Values =>
    values;

export const TASK_STATUSES = valuesOf<Schemas['TaskStatus']>()(['pending', 'in_progress', 'review', 'completed', 'blocked']);
export const TASK_PRIORITIES = valuesOf<Schemas['TaskPriority']>()(['low', 'medium', 'high', 'critical']);
export const RECURRENCE_PATTERNS = valuesOf<Schemas['RecurrencePattern']>()(['hourly', 'daily', 'weekly', 'monthly']);
export const WORKER_TYPES = valuesOf<Schemas['WorkerType']>()(['human', 'agent']);
export const AGENT_TYPES = valuesOf<Schemas['AgentType']>()(['claude', 'qwen', 'gemini', 'custom']);
export const MEMBER_ROLES = valuesOf<Schemas['MemberRole']>()(['owner', 'member']);
export const ACTOR_TYPES = valuesOf<Schemas['ActorType']>()(['human', 'agent', 'system']);
export const AUDIT_ENTITY_TYPES = valuesOf<Schemas['AuditEntityType']>()(['task', 'project', 'member', 'agent', 'webhook']);
export const AUDIT_ACTIONS = valuesOf<Schemas['AuditAction']>()([
  'project_created', 'project_updated', 'project_deleted',
  'member_added', 'member_removed',
  'agent_created', 'agent_updated', 'agent_deleted',
  'task_created', 'task_updated', 'task_deleted',
  'status_changed', 'progress_updated', 'assigned', 'approved', 'rejected', 'recurrence_spawned', 'reminder_due',
  'claimed', 'agent_key_created', 'agent_key_revoked',
  'webhook_created', 'webhook_updated', 'webhook_deleted', 'webhook_disabled',
]);
export const EVENT_TYPES = valuesOf<Schemas['EventType']>()([
  'project.created', 'project.updated', 'project.deleted',
  'member.added', 'member.removed',
  'agent.created', 'agent.updated', 'agent.deleted', 'agent.key_created', 'agent.key_revoked',
  'task.created', 'task.updated', 'task.deleted', 'task.status_changed', 'task.progress_updated', 'task.assigned',
  'task.approved', 'task.rejected', 'task.claimed', 'task.spawned', 'task.reminder_due',
  'webhook.created', 'webhook.updated', 'webhook.deleted', 'webhook.disabled', 'webhook.ping',
]);
export const NOTIFICATION_TYPES = valuesOf<Schemas['NotificationType']>()([
  'task_assigned', 'task_review', 'task_completed', 'task_rejected', 'task_deleted', 'task_spawned', 'task_reminder',
]);
export const DELIVERY_STATUSES = valuesOf<Schemas['WebhookDelivery']['status']>()(['succeeded', 'retrying', 'failed', 'refused']);

export const TaskStatus = z.enum(TASK_STATUSES);
export type TaskStatus = z.infer<typeof TaskStatus>;
export const Priority = z.enum(TASK_PRIORITIES);
export type Priority = z.infer<typeof Priority>;
export const RecurrencePattern = z.enum(RECURRENCE_PATTERNS);
export type RecurrencePattern = z.infer<typeof RecurrencePattern>;
export const WorkerType = z.enum(WORKER_TYPES);
export type WorkerType = z.infer<typeof WorkerType>;
export const AgentType = z.enum(AGENT_TYPES);
export type AgentType = z.infer<typeof AgentType>;
export const Role = z.enum(MEMBER_ROLES);
export type Role = z.infer<typeof Role>;
export const ActorType = z.enum(ACTOR_TYPES);
export type ActorType = z.infer<typeof ActorType>;
export const EntityType = z.enum(AUDIT_ENTITY_TYPES);
export type EntityType = z.infer<typeof EntityType>;
export const AuditAction = z.enum(AUDIT_ACTIONS);
export type AuditAction = z.infer<typeof AuditAction>;
export const EventType = z.enum(EVENT_TYPES);
export type EventType = z.infer<typeof EventType>;
export const NotificationType = z.enum(NOTIFICATION_TYPES);
export type NotificationType = z.infer<typeof NotificationType>;
export const DeliveryStatus = z.enum(DELIVERY_STATUSES);
export type DeliveryStatus = z.infer<typeof DeliveryStatus>;
