import { sql } from 'slonik';
import { z } from 'zod';
import { Id, Timestamp, type Db } from '../db/index.js';

export type EntityType = 'task' | 'project' | 'member' | 'agent';
export type ActorType = 'human' | 'agent' | 'system';

export interface Actor {
  tenantId: string;
  workerId: number | null;
  handle: string;
  type: ActorType;
}

export interface AuditRecord {
  projectId: number | null;
  entityType: EntityType;
  entityId: number;
  action: string;
  /** Changed fields as { field: { before, after } }, or facts about the event. */
  details?: Record<string, unknown>;
}

/** The only INSERT into audit_log. Call it inside the transaction of the change it records. */
export async function recordAudit(db: Db, actor: Actor, record: AuditRecord): Promise<void> {
  await db.query(sql.unsafe`
    insert into audit_log (tenant_id, project_id, entity_type, entity_id, action, actor_id, actor_handle, actor_type, details)
    values (${actor.tenantId}, ${record.projectId}, ${record.entityType}, ${record.entityId}, ${record.action},
            ${actor.workerId}, ${actor.handle}, ${actor.type}, ${sql.jsonb((record.details ?? {}) as never)})`);
}

export const AuditRow = z.object({
  id: Id,
  entity_type: z.enum(['task', 'project', 'member', 'agent']),
  entity_id: Id,
  action: z.string(),
  actor_id: Id.nullable(),
  actor_handle: z.string(),
  actor_type: z.enum(['human', 'agent', 'system']),
  details: z.record(z.string(), z.unknown()),
  created_at: Timestamp,
});
export type AuditRow = z.infer<typeof AuditRow>;
