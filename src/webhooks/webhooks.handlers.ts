import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { components } from '../../generated/api.js';
import { actorOf, changedFields, recordAudit } from '../audit/index.js';
import type { Config } from '../config.js';
import { Id, type Db } from '../db/index.js';
import type { HandlersFor } from '../http/handler.js';
import { decodeCursor, toPage } from '../http/paging.js';
import { assertIfMatch, etagOf, notModifiedReply } from '../http/preconditions.js';
import { ProblemError } from '../http/problem.js';
import type { Principal } from '../http/principal.js';
import type { JobQueue } from '../jobs/index.js';
import { requireProjectRole } from '../members/index.js';
import { DELIVERY_QUEUE, deliveryJobId, type DeliveryJob } from './deliver.js';
import { newSecret } from './signature.js';
import { checkWebhookUrl } from './url-guard.js';
import {
  deleteWebhookRow,
  findWebhook,
  insertWebhook,
  listDeliveriesPage,
  listWebhooksPage,
  updateWebhookRow,
  type DeliveryRow,
  type WebhookRow,
} from './webhooks.sql.js';

type Webhook = components['schemas']['Webhook'];

/**
 * What the audit trail (and so every member of the project) sees of a webhook: the URL's origin only — a path or
 * query may carry the receiver's token — and never the secret.
 */
export const auditedWebhook = (row: Pick<WebhookRow, 'url' | 'eventTypes' | 'active'>) => ({
  url: new URL(row.url).origin,
  event_types: [...row.eventTypes],
  active: row.active,
});
const DEFAULT_LIMIT = 50;
const PREVIOUS_SECRET_VALID_MS = 24 * 60 * 60_000;

export const toWebhook = (row: WebhookRow, secret?: string): Webhook => ({
  id: row.id,
  project_id: row.projectId,
  url: row.url,
  event_types: row.eventTypes as Webhook['event_types'],
  active: row.active,
  disabled_reason: row.disabledReason,
  disabled_at: row.disabledAt,
  secret_rotated_until: row.previousSecretExpiresAt && Date.parse(row.previousSecretExpiresAt) > Date.now() ? row.previousSecretExpiresAt : null,
  created_at: row.createdAt,
  updated_at: row.updatedAt,
  version: row.version,
  ...(secret ? { secret } : {}),
});
const toDelivery = (row: DeliveryRow) => row as components['schemas']['WebhookDelivery'];

export interface WebhookDeps {
  config: Config;
  jobs: JobQueue;
}

export const webhookHandlers = ({ config, jobs }: WebhookDeps) => {
  const policy = { allowPrivate: config.webhooks.allowPrivate, httpsOnly: config.webhooks.httpsOnly };

  /** Owners only; a webhook of another project is the same 404 as a missing one. */
  async function ownedWebhook(db: Db, who: Principal, projectId: number, webhookId: number, lock = false) {
    await requireProjectRole(db, who, projectId, 'owner');
    const hook = await findWebhook(db, projectId, webhookId, lock);
    if (!hook) throw new ProblemError('webhook-not-found', { detail: `Project ${projectId} has no webhook ${webhookId}` });
    return hook;
  }

  return {
    listWebhooks: async ({ db, principal: who, params, query }) => {
      await requireProjectRole(db, who, params.project_id, 'owner');
      const limit = query.limit ?? DEFAULT_LIMIT;
      const after = decodeCursor(query.cursor, 'webhooks', z.tuple([Id]))?.[0];
      const rows = await listWebhooksPage(db, params.project_id, limit, after);
      return { status: 200, body: toPage(rows, limit, 'webhooks', (r) => [r.id], (r) => toWebhook(r)) };
    },

    createWebhook: async ({ db, principal: who, params, body }) => {
      await requireProjectRole(db, who, params.project_id, 'owner');
      const url = await checkWebhookUrl(body.url, policy);
      const secret = newSecret();
      const row = await db.transaction(async (tx) => {
        const created = await insertWebhook(tx, {
          tenantId: who.tenantId, projectId: params.project_id, url, eventTypes: body.event_types ?? [], active: body.active ?? true,
          secret, createdById: who.workerId,
        });
        const facts = auditedWebhook(created);
        await recordAudit(tx, actorOf(who), {
          projectId: created.projectId, entityType: 'webhook', entityId: created.id, action: 'webhook_created',
          details: changedFields<Record<string, unknown>>({ url: null, event_types: null, active: null }, facts, ['url', 'event_types', 'active']),
        });
        return created;
      });
      return {
        status: 201,
        body: toWebhook(row, secret),
        headers: { Location: `/api/projects/${row.projectId}/webhooks/${row.id}`, ETag: etagOf(row.version) },
      };
    },

    getWebhook: async ({ db, principal: who, params, headers }) => {
      const hook = await ownedWebhook(db, who, params.project_id, params.webhook_id);
      const etag = etagOf(hook.version);
      return notModifiedReply(headers['if-none-match'], etag) ?? { status: 200, body: toWebhook(hook), headers: { ETag: etag } };
    },

    updateWebhook: async ({ db, principal: who, params, body, headers }) => {
      const url = body.url === undefined ? undefined : await checkWebhookUrl(body.url, policy);
      const secret = body.rotate_secret ? newSecret() : undefined;
      const row = await db.transaction(async (tx) => {
        const current = await ownedWebhook(tx, who, params.project_id, params.webhook_id, true);
        assertIfMatch(headers['if-match'], current.version);
        const updated = await updateWebhookRow(tx, params.webhook_id, {
          ...(url === undefined ? {} : { url }),
          ...(body.event_types === undefined ? {} : { eventTypes: body.event_types }),
          ...(body.active === undefined ? {} : { active: body.active }),
          ...(secret ? { rotate: { secret, previousValidMs: PREVIOUS_SECRET_VALID_MS } } : {}),
        });
        const changes: Record<string, unknown> = changedFields<Record<string, unknown>>(auditedWebhook(current), auditedWebhook(updated), ['url', 'event_types', 'active']);
        // A new path on the same origin is a change too, even though the trail shows origins only.
        if (updated.url !== current.url && !('url' in changes)) changes.url_path_changed = true;
        if (secret) changes.secret_rotated = true;
        if (Object.keys(changes).length > 0) {
          await recordAudit(tx, actorOf(who), {
            projectId: updated.projectId, entityType: 'webhook', entityId: updated.id, action: 'webhook_updated', details: changes,
          });
        }
        return updated;
      });
      return { status: 200, body: toWebhook(row, secret), headers: { ETag: etagOf(row.version) } };
    },

    deleteWebhook: async ({ db, principal: who, params, headers }) => {
      await db.transaction(async (tx) => {
        const current = await ownedWebhook(tx, who, params.project_id, params.webhook_id, true);
        assertIfMatch(headers['if-match'], current.version);
        await deleteWebhookRow(tx, params.webhook_id);
        await recordAudit(tx, actorOf(who), {
          projectId: current.projectId, entityType: 'webhook', entityId: current.id, action: 'webhook_deleted',
          details: changedFields<Record<string, unknown>>(auditedWebhook(current), { url: null, event_types: null, active: null }, ['url', 'event_types', 'active']),
        });
      });
      return { status: 204, body: undefined };
    },

    pingWebhook: async ({ db, principal: who, params }) => {
      const hook = await ownedWebhook(db, who, params.project_id, params.webhook_id);
      const messageId = `msg_ping_${randomUUID().replaceAll('-', '')}`;
      const now = new Date().toISOString();
      const event = {
        id: 0, type: 'webhook.ping' as const, occurred_at: now, project_id: hook.projectId,
        entity: { type: 'webhook', id: hook.id }, actor: { id: who.workerId, handle: who.handle, type: who.actorType, client: who.client },
        data: { changes: {}, task: null },
      };
      const job: DeliveryJob = {
        webhookId: hook.id, messageId, eventId: null, eventType: 'webhook.ping', attempt: 1,
        payload: JSON.stringify({ type: event.type, timestamp: now, data: event }),
      };
      await jobs.send(DELIVERY_QUEUE, job, { id: deliveryJobId(hook.id, messageId, 1) });
      return { status: 202, body: { message_id: messageId } };
    },

    listWebhookDeliveries: async ({ db, principal: who, params, query }) => {
      await ownedWebhook(db, who, params.project_id, params.webhook_id);
      const limit = query.limit ?? DEFAULT_LIMIT;
      const before = decodeCursor(query.cursor, 'deliveries', z.tuple([Id]))?.[0];
      const rows = await listDeliveriesPage(db, params.webhook_id, limit, before);
      return { status: 200, body: toPage(rows, limit, 'deliveries', (r) => [r.id], toDelivery) };
    },
  } satisfies HandlersFor<'listWebhooks' | 'createWebhook' | 'getWebhook' | 'updateWebhook' | 'deleteWebhook' | 'pingWebhook' | 'listWebhookDeliveries'>;
};
