import { sql, type FragmentSqlToken, type IdentifierSqlToken } from 'slonik';
import type { ActorType, AuditAction, Db, EntityType } from '../db/index.js';

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
