import { sql, type FragmentSqlToken, type IdentifierSqlToken } from 'slonik';
import { z } from 'zod';
import { Id, Timestamp, type Db } from '../db/index.js';

export type EntityType = 'task' | 'project' | 'member' | 'agent';

/** Every action the trail records; the contract's AuditEntry.action enum lists the same words. */
export const AuditAction = z.enum([
  'project_created', 'project_updated', 'project_deleted',
  'member_added', 'member_removed',
  'agent_created', 'agent_updated', 'agent_deleted',
  'task_created', 'task_updated', 'task_deleted',
  'status_changed', 'progress_updated', 'assigned', 'approved', 'rejected', 'recurrence_spawned', 'reminder_due',
  'claimed', 'agent_key_created', 'agent_key_revoked',
]);
export type AuditAction = z.infer<typeof AuditAction>;
export type ActorType = 'human' | 'agent' | 'system';

export interface Actor {
  tenantId: string;
  workerId: number | null;
  handle: string;
  type: ActorType;
  /** The OAuth client a human's token named; null otherwise. */
  client?: string | null;
}

export interface AuditRecord {
  projectId: number | null;
  entityType: EntityType;
  entityId: number;
  action: AuditAction;
  /** Changed fields as { field: { before, after } }, or facts about the event. */
  details?: Record<string, unknown>;
  /** When it happened, if not now: imported history (src/import) keeps its original timestamps. */
  createdAt?: string;
}

/** The INSERT into audit_log (with auditInsertFrom). Call it inside the transaction of the change it records. */
export async function recordAudit(db: Db, actor: Actor, record: AuditRecord): Promise<void> {
  await db.query(sql.unsafe`
    insert into audit_log (tenant_id, project_id, entity_type, entity_id, action, actor_id, actor_handle, actor_type, client, details, created_at)
    values (${actor.tenantId}, ${record.projectId}, ${record.entityType}, ${record.entityId}, ${record.action},
            ${actor.workerId}, ${actor.handle}, ${actor.type}, ${actor.client ?? null}, ${sql.jsonb((record.details ?? {}) as never)},
            coalesce(${record.createdAt ?? null}::timestamptz, now()))`);
}

/** An entry whose ids and details are SQL over the rows of `source`, a CTE of the same statement. */
export interface AuditRecordFrom {
  entityType: EntityType;
  action: AuditAction;
  projectId: FragmentSqlToken;
  entityId: FragmentSqlToken;
  /** A jsonb expression. */
  details: FragmentSqlToken;
}

/**
 * recordAudit as a data-modifying CTE: the entry for the row another CTE of the same statement writes, so the
 * change and its entry take one round trip (and commit together like any single statement).
 */
export const auditInsertFrom = (actor: Actor, source: IdentifierSqlToken, record: AuditRecordFrom): FragmentSqlToken => sql.fragment`
  insert into audit_log (tenant_id, project_id, entity_type, entity_id, action, actor_id, actor_handle, actor_type, client, details)
  select ${actor.tenantId}, ${record.projectId}, ${record.entityType}, ${record.entityId}, ${record.action},
         ${actor.workerId}, ${actor.handle}, ${actor.type}, ${actor.client ?? null}, ${record.details}
  from ${source}`;

export const AuditRow = z.object({
  id: Id,
  entity_type: z.enum(['task', 'project', 'member', 'agent']),
  entity_id: Id,
  action: AuditAction,
  actor_id: Id.nullable(),
  actor_handle: z.string(),
  actor_type: z.enum(['human', 'agent', 'system']),
  client: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  created_at: Timestamp,
});
export type AuditRow = z.infer<typeof AuditRow>;

const AUDIT_COLUMNS = sql.fragment`a.id, a.entity_type, a.entity_id, a.action, a.actor_id, a.actor_handle, a.actor_type, a.client, a.details, a.created_at`;

export interface AuditFilter {
  actorId?: number;
  action?: AuditAction;
  entityType?: EntityType;
}

/** A page of a task's trail, newest first (limit + 1 rows). Null when the task is not visible to the worker. */
export async function listTaskAuditPage(db: Db, tenantId: string, workerId: number, taskId: number, limit: number, beforeId?: number) {
  const visible = await db.exists(sql.unsafe`
    select 1 from task t join member m on m.project_id = t.project_id and m.worker_id = ${workerId}
    where t.id = ${taskId} and t.tenant_id = ${tenantId}`);
  if (!visible) return null;
  return db.any(sql.type(AuditRow)`
    select ${AUDIT_COLUMNS} from audit_log a
    where a.entity_type = 'task' and a.entity_id = ${taskId} and a.tenant_id = ${tenantId}
      ${beforeId === undefined ? sql.fragment`` : sql.fragment`and a.id < ${beforeId}`}
    order by a.id desc
    limit ${limit + 1}`);
}

/** A page of a project's trail, newest first (limit + 1 rows); visibility is checked by the caller. */
export function listProjectAuditPage(db: Db, tenantId: string, projectId: number, filter: AuditFilter, limit: number, beforeId?: number) {
  const conditions = [
    sql.fragment`a.project_id = ${projectId}`,
    sql.fragment`a.tenant_id = ${tenantId}`,
    ...(filter.actorId === undefined ? [] : [sql.fragment`a.actor_id = ${filter.actorId}`]),
    ...(filter.action === undefined ? [] : [sql.fragment`a.action = ${filter.action}`]),
    ...(filter.entityType === undefined ? [] : [sql.fragment`a.entity_type = ${filter.entityType}`]),
    ...(beforeId === undefined ? [] : [sql.fragment`a.id < ${beforeId}`]),
  ];
  return db.any(sql.type(AuditRow)`
    select ${AUDIT_COLUMNS} from audit_log a
    where ${sql.join(conditions, sql.fragment` and `)}
    order by a.id desc
    limit ${limit + 1}`);
}
