import { sql } from 'slonik';
import { z } from 'zod';
import { DeliveryStatus, Id, Timestamp, limitRows, type Db } from '../db/index.js';
import type { Position } from '../events/index.js';

export const WebhookRow = z.object({
  id: Id,
  tenantId: z.string(),
  projectId: Id,
  url: z.string(),
  eventTypes: z.array(z.string()),
  active: z.boolean(),
  secret: z.string(),
  previousSecret: z.string().nullable(),
  previousSecretExpiresAt: Timestamp.nullable(),
  failingSince: Timestamp.nullable(),
  disabledReason: z.string().nullable(),
  disabledAt: Timestamp.nullable(),
  version: z.number().int(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type WebhookRow = z.infer<typeof WebhookRow>;

const COLUMNS = sql.fragment`
  w.id, w.tenant_id as "tenantId", w.project_id as "projectId", w.url, w.event_types as "eventTypes", w.active,
  w.secret, w.previous_secret as "previousSecret", w.previous_secret_expires_at as "previousSecretExpiresAt",
  w.failing_since as "failingSince", w.disabled_reason as "disabledReason", w.disabled_at as "disabledAt", w.version,
  w.created_at as "createdAt", w.updated_at as "updatedAt"`;

export interface NewWebhook {
  tenantId: string;
  projectId: number;
  url: string;
  eventTypes: readonly string[];
  active: boolean;
  secret: string;
  createdById: number;
}

export const insertWebhook = (db: Db, w: NewWebhook) =>
  db.one(sql.type(WebhookRow)`
    insert into webhook as w (tenant_id, project_id, url, event_types, active, secret, created_by_id)
    values (${w.tenantId}, ${w.projectId}, ${w.url}, ${sql.array([...w.eventTypes], 'text')}, ${w.active}, ${w.secret}, ${w.createdById})
    returning ${COLUMNS}`);

/** A webhook of the project, or null. `lock` holds it for the rest of the transaction. */
export const findWebhook = (db: Db, projectId: number, webhookId: number, lock = false) =>
  db.maybeOne(sql.type(WebhookRow)`
    select ${COLUMNS} from webhook w where w.project_id = ${projectId} and w.id = ${webhookId}
    ${lock ? sql.fragment`for update` : sql.fragment``}`);

export const getWebhookById = (db: Db, webhookId: number) =>
  db.maybeOne(sql.type(WebhookRow)`select ${COLUMNS} from webhook w where w.id = ${webhookId}`);

/** A page of the project's webhooks, oldest first (limit + 1 rows). */
export const listWebhooksPage = (db: Db, projectId: number, limit: number, afterId?: number) =>
  db.any(sql.type(WebhookRow)`
    select ${COLUMNS} from webhook w
    where w.project_id = ${projectId} ${afterId === undefined ? sql.fragment`` : sql.fragment`and w.id > ${afterId}`}
    order by w.id ${limitRows(limit + 1)}`);

export interface WebhookPatch {
  url?: string;
  eventTypes?: readonly string[];
  active?: boolean;
  /** A new secret; the current one keeps signing until `previousValidMs` from now. */
  rotate?: { secret: string; previousValidMs: number };
}

export const updateWebhookRow = (db: Db, webhookId: number, patch: WebhookPatch) =>
  db.one(sql.type(WebhookRow)`
    update webhook w set
      url = coalesce(${patch.url ?? null}, w.url),
      event_types = coalesce(${patch.eventTypes ? sql.array([...patch.eventTypes], 'text') : null}::text[], w.event_types),
      active = coalesce(${patch.active ?? null}::boolean, w.active),
      -- re-enabling clears what the server recorded when it disabled the webhook
      failing_since = case when ${patch.active ?? null}::boolean then null else w.failing_since end,
      disabled_reason = case when ${patch.active ?? null}::boolean then null else w.disabled_reason end,
      disabled_at = case when ${patch.active ?? null}::boolean then null else w.disabled_at end,
      previous_secret = case when ${patch.rotate ? true : false} then w.secret else w.previous_secret end,
      previous_secret_expires_at = case when ${patch.rotate ? true : false}
        then now() + make_interval(secs => ${(patch.rotate?.previousValidMs ?? 0) / 1000}) else w.previous_secret_expires_at end,
      secret = coalesce(${patch.rotate?.secret ?? null}, w.secret),
      version = w.version + 1,
      updated_at = now()
    where w.id = ${webhookId}
    returning ${COLUMNS}`);

export const deleteWebhookRow = (db: Db, webhookId: number) => db.query(sql.unsafe`delete from webhook where id = ${webhookId}`);

/** Whether any webhook is active at all: without one the dispatcher moves past new events without reading them. */
export const anyActiveWebhook = (db: Db) => db.exists(sql.unsafe`select 1 from webhook where active`);

/** Active webhooks of these projects (the dispatcher matches events against them). */
export const listActiveWebhooks = (db: Db, projectIds: readonly number[]) =>
  projectIds.length === 0
    ? Promise.resolve([] as readonly WebhookRow[])
    : db.any(sql.type(WebhookRow)`
        select ${COLUMNS} from webhook w where w.active and w.project_id = any(${sql.array([...projectIds], 'int8')})`);

/** Success: the endpoint is healthy again. */
export const markWebhookHealthy = (db: Db, webhookId: number) =>
  db.query(sql.unsafe`update webhook set failing_since = null where id = ${webhookId} and failing_since is not null`);

const FailingRow = z.object({ active: z.boolean(), disabledNow: z.boolean() });

/**
 * A failed attempt: remembers since when it fails, and disables the webhook once that is `disableAfterMs` ago.
 * Disabling is a change of the webhook as the API shows it: a new version (its ETag) and `updated_at`.
 */
export const markWebhookFailing = (db: Db, webhookId: number, disableAfterMs: number, reason: string) =>
  db.maybeOne(sql.type(FailingRow)`
    with failing as (
      select id, coalesce(failing_since, now()) as since,
             active and coalesce(failing_since, now()) <= now() - make_interval(secs => ${disableAfterMs / 1000}) as disabling
      from webhook where id = ${webhookId} for update
    )
    update webhook w set
      version = case when f.disabling then w.version + 1 else w.version end,
      updated_at = case when f.disabling then now() else w.updated_at end,
      failing_since = f.since,
      active = w.active and not f.disabling,
      disabled_at = case when f.disabling then now() else w.disabled_at end,
      disabled_reason = case when f.disabling then ${reason} else w.disabled_reason end
    from failing f where w.id = f.id
    returning w.active, f.disabling as "disabledNow"`);

export interface DeliveryAttempt {
  webhookId: number;
  messageId: string;
  eventId: number | null;
  eventType: string;
  attempt: number;
  status: DeliveryStatus;
  statusCode: number | null;
  latencyMs: number | null;
  error: string | null;
  responseBody: string | null;
  nextRetryAt: Date | null;
}

/** Records an attempt; a job re-run after a crash records the same attempt once. */
export const insertDelivery = (db: Db, d: DeliveryAttempt) =>
  db.query(sql.unsafe`
    insert into webhook_delivery (webhook_id, message_id, event_id, event_type, attempt, status, status_code, latency_ms, error, response_body, next_retry_at)
    values (${d.webhookId}, ${d.messageId}, ${d.eventId}, ${d.eventType}, ${d.attempt}, ${d.status}, ${d.statusCode}, ${d.latencyMs},
            ${d.error}, ${d.responseBody}, ${d.nextRetryAt ? d.nextRetryAt.toISOString() : null}::timestamptz)
    on conflict on constraint webhook_delivery_attempt_key do nothing`);

export const DeliveryRow = z.object({
  id: Id,
  message_id: z.string(),
  event_id: Id.nullable(),
  event_type: z.string(),
  attempt: z.number().int(),
  status: DeliveryStatus,
  status_code: z.number().int().nullable(),
  latency_ms: z.number().int().nullable(),
  error: z.string().nullable(),
  response_body: z.string().nullable(),
  attempted_at: Timestamp,
  next_retry_at: Timestamp.nullable(),
});
export type DeliveryRow = z.infer<typeof DeliveryRow>;

/** A page of a webhook's attempts, newest first (limit + 1 rows). */
export const listDeliveriesPage = (db: Db, webhookId: number, limit: number, beforeId?: number) =>
  db.any(sql.type(DeliveryRow)`
    select id, message_id, event_id, event_type, attempt, status, status_code, latency_ms, error, response_body, attempted_at, next_retry_at
    from webhook_delivery
    where webhook_id = ${webhookId} ${beforeId === undefined ? sql.fragment`` : sql.fragment`and id < ${beforeId}`}
    order by id desc ${limitRows(limit + 1)}`);

const PositionRow = z.object({ xid: z.string(), id: z.number().int().min(0) });

export const readDispatchPosition = (db: Db): Promise<Position> =>
  db.one(sql.type(PositionRow)`select xid::text as xid, audit_id as id from webhook_dispatch_position`);

/** Compare-and-set: false when another instance moved the position first. */
export const advanceDispatchPosition = async (db: Db, from: Position, to: Position): Promise<boolean> =>
  (
    await db.query(sql.unsafe`
      update webhook_dispatch_position set xid = ${to.xid}::xid8, audit_id = ${to.id}
      where xid = ${from.xid}::xid8 and audit_id = ${from.id}`)
  ).rowCount === 1;
