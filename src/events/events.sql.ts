import { sql } from 'slonik';
import { z } from 'zod';
import { Id, JsonObject, Timestamp, limitRows, type AuditAction, type Db } from '../db/index.js';
import type { Position } from './cursor.js';

/** An audit row read as an event. Actor type and action are kept as stored, whatever new values appear. */
export const EventRow = z.object({
  id: Id,
  xid: z.string(),
  tenantId: z.string(),
  projectId: Id.nullable(),
  entityType: z.string(),
  entityId: Id,
  action: z.string(),
  actorId: Id.nullable(),
  actorHandle: z.string(),
  actorType: z.string(),
  client: z.string().nullable(),
  details: JsonObject,
  createdAt: Timestamp,
});
export type EventRow = z.infer<typeof EventRow>;

const EVENT_COLUMNS = sql.fragment`
  a.id, a.xid::text as xid, a.tenant_id as "tenantId", a.project_id as "projectId", a.entity_type as "entityType",
  a.entity_id as "entityId", a.action, a.actor_id as "actorId", a.actor_handle as "actorHandle",
  a.actor_type as "actorType", a.client, a.details, a.created_at as "createdAt"`;

const Horizon = z.object({ horizon: z.string(), next: z.string() });

/**
 * The visibility horizon: every transaction with a smaller xid has finished, so no event below it can still
 * appear. `next` is the first xid not yet handed out: no honest cursor points past it.
 */
export const readHorizon = (db: Db) =>
  db.one(sql.type(Horizon)`
    select pg_snapshot_xmin(s)::text as horizon, pg_snapshot_xmax(s)::text as next
    from (select pg_current_snapshot() as s) snapshot`);

export interface EventScope {
  tenantId: string;
  workerId: number;
  projectId?: number;
  actions?: readonly string[];
}

/**
 * Events after `after` and below `horizon` that the worker may see (projects they are a member of; the
 * tenant's agents), in feed order, limit + 1 rows.
 */
export function listVisibleEvents(db: Db, scope: EventScope, after: Position, horizon: string, limit: number) {
  const conditions = [
    sql.fragment`(a.xid, a.id) > (${after.xid}::xid8, ${after.id})`,
    sql.fragment`a.xid < ${horizon}::xid8`,
    sql.fragment`a.tenant_id = ${scope.tenantId}`,
    scope.projectId === undefined
      ? sql.fragment`(exists (select 1 from member m where m.project_id = a.project_id and m.worker_id = ${scope.workerId})
                      or (a.project_id is null and a.entity_type = 'agent'))`
      : sql.fragment`a.project_id = ${scope.projectId}`,
    ...(scope.actions?.length ? [sql.fragment`a.action = any(${sql.array([...scope.actions], 'text')})`] : []),
  ];
  return db.any(sql.type(EventRow)`
    select ${EVENT_COLUMNS} from audit_log a
    where ${sql.join(conditions, sql.fragment` and `)}
    order by a.xid, a.id
    ${limitRows(limit + 1)}`);
}

/**
 * Every tenant's events after `after` and below `horizon`, in feed order (the stream hub, the webhook dispatcher
 * and the event log's consumers); only those with one of `actions` when given, so that a consumer is not sent the
 * events it ignores. The filter is on `action` alone, which no index leads with: the scan stays on
 * audit_log_position_idx in feed order (test/events/consumer-selection.test.ts checks the plan).
 */
export const listAllEvents = (db: Db, after: Position, horizon: string, limit: number, actions?: readonly AuditAction[]) =>
  db.any(sql.type(EventRow)`
    select ${EVENT_COLUMNS} from audit_log a
    where (a.xid, a.id) > (${after.xid}::xid8, ${after.id}) and a.xid < ${horizon}::xid8
      ${actions ? sql.fragment`and a.action = any(${sql.array([...actions], 'text')})` : sql.fragment``}
    order by a.xid, a.id
    ${limitRows(limit)}`);

const Membership = z.object({ projectId: Id, workerId: Id });

/** Who may see the events of these projects right now. */
export const listProjectMembers = (db: Db, projectIds: readonly number[]) =>
  projectIds.length === 0
    ? Promise.resolve([] as readonly z.infer<typeof Membership>[])
    : db.any(sql.type(Membership)`
        select project_id as "projectId", worker_id as "workerId" from member
        where project_id = any(${sql.array([...projectIds], 'int8')})`);

/** One event by its audit id (webhook deliveries), or null. */
export const findEventById = (db: Db, id: number) =>
  db.maybeOne(sql.type(EventRow)`select ${EVENT_COLUMNS} from audit_log a where a.id = ${id}`);

const ConsumerPosition = z.object({ xid: z.string(), id: z.number().int().min(0) });

/**
 * Locks a consumer's position for this transaction, or null when another instance holds it (it is processing
 * the next batch right now) or the consumer does not exist.
 */
export const lockConsumerPosition = (db: Db, consumer: string) =>
  db.maybeOne(sql.type(ConsumerPosition)`
    select xid::text as xid, audit_id as id from event_consumer_position
    where consumer = ${consumer}
    for update skip locked`);

/** Moves a consumer's position (locked by lockConsumerPosition in the same transaction). */
export const setConsumerPosition = (db: Db, consumer: string, to: Position) =>
  db.query(sql.unsafe`
    update event_consumer_position set xid = ${to.xid}::xid8, audit_id = ${to.id} where consumer = ${consumer}`);
