/** Helpers and the seeded inbox of the notifications and reminder suites (not a test file). */
import type { components } from '../../generated/api.js';
import type { ApiUser, RawResponse, TestApp } from '../helpers/app.js';
import { createTask, newProject, signIn, type SignedIn } from '../helpers/factories.js';

export type Notification = components['schemas']['Notification'];
export type NotificationList = components['schemas']['NotificationList'];

/** Test timing: the job queue and the event hub look every 200–500 ms instead of every 1–2 s. */
export const FAST = { JOBS_POLL_INTERVAL_SECONDS: '0.5', EVENTS_POLL_INTERVAL_MS: '200' };

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns something other than undefined; fails after `ms`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, ms = 15_000, what = 'condition'): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - started > ms) throw new Error(`${what} not reached within ${ms} ms`);
    await sleep(100);
  }
}

/** The user's whole inbox, newest first (through the API, so each page is checked against the contract). */
export async function inbox(user: ApiUser, query: Record<string, string | number | boolean> = {}): Promise<Notification[]> {
  const items: Notification[] = [];
  let cursor: string | null = null;
  do {
    const res: RawResponse<NotificationList> = await user.request<NotificationList>('GET', '/api/notifications', { query: { ...query, limit: 100, ...(cursor ? { cursor } : {}) } });
    if (res.status !== 200) throw new Error(`listNotifications: ${res.status} ${JSON.stringify(res.body)}`);
    items.push(...res.body.items);
    cursor = res.body.next_cursor;
  } while (cursor);
  return items;
}

/** Waits until the user's inbox holds a notification matching `match`, and returns it. */
export const waitForNotification = (user: ApiUser, match: (n: Notification) => boolean, ms?: number) =>
  eventually(async () => (await inbox(user)).find(match), ms, `a notification for ${user.sub}`);

/**
 * An inbox to read: erin assigns dave five tasks in a shared project; returns them once all five notifications
 * are in dave's inbox, newest first.
 */
export async function seedInbox(t: TestApp): Promise<{ dave: SignedIn; erin: SignedIn; mine: Notification[] }> {
  const dave = await signIn(t, 'dave');
  const erin = await signIn(t, 'erin');
  const shared = await newProject(t, erin, [dave]);
  for (let i = 1; i <= 5; i++) await createTask(erin, shared, { title: `Inbox item ${i}`, assignee_id: dave.workerId });
  const mine = await waitForNotification(dave, (n) => n.task_title === 'Inbox item 5').then(() => inbox(dave));
  return { dave, erin, mine };
}
