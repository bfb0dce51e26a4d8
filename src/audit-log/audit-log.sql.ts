import { sql } from 'slonik';
import { z } from 'zod';
import { ActorType, AuditAction, EntityType, Id, JsonObject, Timestamp, limitRows, type Db } from '../db/index.js';

/** The audit trail read back (the Audit operations); src/audit/ holds the one writer, recordAudit. */
export const AuditRow = z.object({
  id: Id,
  entity_type: EntityType,
  entity_id: Id,
  action: AuditAction,
  actor_id: Id.nullable(),
  actor_handle: z.string(),
  actor_type: ActorType,
  client: z.string().nullable(),
  details: JsonObject,
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
    ${limitRows(limit + 1)}`);
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
    ${limitRows(limit + 1)}`);
}
