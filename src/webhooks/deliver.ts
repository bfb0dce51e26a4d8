import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Job } from 'pg-boss';
import type { Config } from '../config.js';
import type { DatabasePool } from '../db/index.js';
import { findEventById, toEvents, type Event } from '../events/index.js';
import { recordAudit } from '../audit/index.js';
import type { JobQueue } from '../jobs/index.js';
import type { Logger } from '../observability/logger.js';
import { sign } from './signature.js';
import { ForbiddenAddressError, guardedLookup, isForbiddenAddress } from './url-guard.js';
import { getWebhookById, insertDelivery, markWebhookFailing, markWebhookHealthy, type DeliveryAttempt } from './webhooks.sql.js';

export const DELIVERY_QUEUE = 'webhook-delivery';
const MAX_STORED_BODY = 1024;

export interface DeliveryJob {
  webhookId: number;
  /** `webhook-id`: the same for every attempt of one message. */
  messageId: string;
  eventId: number | null;
  eventType: string;
  attempt: number;
  /** The body, fixed at the first attempt so every retry sends the same bytes (pings carry it from the start). */
  payload?: string;
}

/** pg-boss job ids are UUIDs: one per (webhook, message, attempt), so queuing an attempt twice queues it once. */
export function deliveryJobId(webhookId: number, messageId: string, attempt: number): string {
  const h = createHash('sha256').update(`${webhookId}\u0000${messageId}\u0000${attempt}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export const payloadOf = (event: Event) => JSON.stringify({ type: event.type, timestamp: event.occurred_at, data: event });

interface Outcome {
  statusCode: number | null;
  body: string | null;
  error: string | null;
  refused: boolean;
}

/** One POST, with the SSRF guard on the address actually connected to, a hard timeout and at most 1 KiB kept. */
function post(url: string, body: string, headers: Record<string, string>, settings: Config['webhooks']): Promise<Outcome> {
  return new Promise((resolve) => {
    const target = new URL(url);
    const host = target.hostname.replace(/^\[|\]$/g, '');
    if (!settings.allowPrivate && isIP(host) && isForbiddenAddress(host)) {
      resolve({ statusCode: null, body: null, error: `${host} is a forbidden address`, refused: true });
      return;
    }
    const client = target.protocol === 'https:' ? https : http;
    let settled = false;
    const done = (o: Outcome) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        resolve(o);
      }
    };
    const req = client.request(
      target,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'TaskFlow-Webhooks/1.0', ...headers, 'content-length': Buffer.byteLength(body) },
        lookup: guardedLookup(settings.allowPrivate) as never,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (chunk: Buffer) => {
          if (kept < MAX_STORED_BODY) {
            chunks.push(chunk);
            kept += chunk.length;
          }
        });
        const finish = () => {
          const text = Buffer.concat(chunks).subarray(0, MAX_STORED_BODY).toString('utf8').replace(/\uFFFD+$/, '');
          done({ statusCode: res.statusCode ?? null, body: Buffer.byteLength(text) > MAX_STORED_BODY ? text.slice(0, 512) : text, error: null, refused: false });
        };
        res.on('end', finish);
        res.on('error', finish);
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      done({ statusCode: null, body: null, error: `no answer within ${settings.timeoutMs} ms`, refused: false });
    }, settings.timeoutMs);
    req.on('error', (err) => done({ statusCode: null, body: null, error: err.message.slice(0, 300), refused: err instanceof ForbiddenAddressError }));
    req.end(body);
  });
}

/** The delivery worker: one attempt per job; a failure queues the next attempt per the backoff schedule. */
export function deliveryWorker(pool: DatabasePool, jobs: JobQueue, settings: Config['webhooks'], logger: Logger) {
  return async (job: Job<DeliveryJob>): Promise<void> => {
    const d = job.data;
    const hook = await getWebhookById(pool, d.webhookId);
    const isPing = d.eventId === null;
    if (!hook || (!hook.active && !isPing)) return; // deleted or disabled since: nothing more to send
    let payload = d.payload;
    if (payload === undefined) {
      const row = d.eventId === null ? null : await findEventById(pool, d.eventId);
      if (!row) return;
      payload = payloadOf((await toEvents(pool, [row]))[0]!);
    }
    const timestamp = Math.floor(Date.now() / 1000);
    const signatures = [sign(hook.secret, d.messageId, timestamp, payload)];
    if (hook.previousSecret && hook.previousSecretExpiresAt && Date.parse(hook.previousSecretExpiresAt) > Date.now()) {
      signatures.push(sign(hook.previousSecret, d.messageId, timestamp, payload));
    }
    const started = performance.now();
    const outcome = await post(hook.url, payload, {
      'webhook-id': d.messageId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatures.join(' '),
    }, settings);
    const latencyMs = Math.round(performance.now() - started);
    const ok = outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;

    const attempt: DeliveryAttempt = {
      webhookId: hook.id, messageId: d.messageId, eventId: d.eventId, eventType: d.eventType, attempt: d.attempt,
      status: 'succeeded', statusCode: outcome.statusCode, latencyMs, error: outcome.error, responseBody: outcome.body, nextRetryAt: null,
    };
    if (ok) {
      await markWebhookHealthy(pool, hook.id);
    } else {
      const reason = `Every delivery failed for ${Math.round(settings.disableAfterMs / 3_600_000)} h (last: ${outcome.statusCode ? `HTTP ${outcome.statusCode}` : outcome.error})`;
      // Disabling is a change of the webhook like any other: it commits with its audit entry (the server's).
      const state = await pool.transaction(async (tx) => {
        const failing = await markWebhookFailing(tx, hook.id, settings.disableAfterMs, reason);
        if (failing?.disabledNow) {
          await recordAudit(tx, { tenantId: hook.tenantId, workerId: null, handle: 'system', type: 'system' }, {
            projectId: hook.projectId, entityType: 'webhook', entityId: hook.id, action: 'webhook_disabled',
            details: { active: { before: true, after: false }, reason },
          });
        }
        return failing;
      });
      if (state?.disabledNow) logger.warn({ webhookId: hook.id }, 'webhook disabled: its endpoint kept failing');
      const delay = settings.retryDelaysMs[d.attempt];
      if (state?.active && delay !== undefined) {
        const nextRetryAt = new Date(Date.now() + delay);
        // The next attempt is queued before this one is recorded: a crash in between repeats this attempt, never loses the next.
        await jobs.send(DELIVERY_QUEUE, { ...d, attempt: d.attempt + 1, payload } satisfies DeliveryJob, {
          id: deliveryJobId(hook.id, d.messageId, d.attempt + 1),
          startAfter: nextRetryAt,
        });
        Object.assign(attempt, { status: outcome.refused ? 'refused' : 'retrying', nextRetryAt });
      } else {
        attempt.status = outcome.refused ? 'refused' : 'failed';
      }
    }
    await insertDelivery(pool, attempt);
  };
}
