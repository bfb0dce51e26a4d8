/** A local webhook receiver, the test timings and a webhook factory for the webhook suites (not a test file). */
import type { components } from '../../generated/api.js';
import type { ApiUser } from '../helpers/app.js';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: Record<string, string>;
  body: string;
  at: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Status to answer the n-th request (0-based); 200 by default. */
  respond: (n: number) => number;
  waitFor(count: number, ms?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(respond: (n: number) => number = () => 200): Promise<Receiver> {
  const received: Received[] = [];
  const waiters = new Set<() => void>();
  const receiver = { respond } as Receiver;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = received.length;
      received.push({ headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      const status = receiver.respond(n);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : `failing on purpose (${n + 1}) ${'x'.repeat(2000)}`);
      for (const w of waiters) w();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/taskflow`,
    received,
    waitFor: (count: number, ms = 180_000) =>
      new Promise<void>((resolve, reject) => {
        if (received.length >= count) return resolve();
        const timer = setTimeout(() => reject(new Error(`receiver: ${received.length} of ${count} requests within ${ms} ms`)), ms);
        const check = () => {
          if (received.length >= count) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/**
 * Standard Webhooks verification, written from the specification (not with the server's code): HMAC-SHA256 of
 * `${id}.${timestamp}.${body}` keyed with the base64-decoded part of `whsec_…`, compared with each `v1,` signature.
 */
export function verifyStandardWebhook(secret: string, r: Received): boolean {
  const key = Buffer.from(secret.split('_')[1]!, 'base64');
  const expected = createHmac('sha256', key).update(`${r.headers['webhook-id']}.${r.headers['webhook-timestamp']}.${r.body}`).digest();
  return (r.headers['webhook-signature'] ?? '').split(' ').some((s) => {
    const [version, signature] = s.split(',');
    const given = Buffer.from(signature ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

export type Webhook = components['schemas']['Webhook'];
export type WebhookList = components['schemas']['WebhookList'];
export type DeliveryList = components['schemas']['WebhookDeliveryList'];
export type Payload = components['schemas']['WebhookPayload'];

// Events appear once every older transaction of the PostgreSQL cluster has finished: while other suites run
// long transactions on the shared test server (an import holds one for a minute), they wait. Never skip.
export const LONG = 240_000;

/** Deliveries to the local receiver (a loopback address), retried within a second, the queue polled often. */
export const FAST = {
  WEBHOOK_ALLOW_PRIVATE: 'true',
  WEBHOOK_RETRY_DELAYS_MS: '0,300,300,300,300,300,300,300',
  JOBS_POLL_INTERVAL_SECONDS: '0.5',
  EVENTS_POLL_INTERVAL_MS: '200',
};

/** Creates a webhook through the API as `owner` and expects a 201 (the secret is in the answer, once). */
export async function newWebhook(owner: ApiUser, projectId: number, url: string, body: Record<string, unknown> = {}): Promise<Webhook> {
  const res = await owner.request<Webhook>('POST', `/api/projects/${projectId}/webhooks`, { body: { url, ...body } });
  if (res.status !== 201) throw new Error(`createWebhook: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Reads until `done` holds or `ms` passes; returns the last value read. */
export async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, ms = 180_000): Promise<T> {
  for (const deadline = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 100))) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
  }
}
