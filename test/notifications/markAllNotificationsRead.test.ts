/** markAllNotificationsRead: every unread notification of the caller read, {updated} says how many; idempotency, 422, 401. */
import { startTestApp, type TestApp } from '../helpers/app.js';
import { expectProblem, type SignedIn } from '../helpers/factories.js';
import { FAST, inbox, seedInbox, type Notification } from './support.js';

let t: TestApp;
let dave: SignedIn; // five notifications: erin assigned him five tasks
let erin: SignedIn;
let mine: Notification[];

beforeAll(async () => {
  t = await startTestApp({ env: FAST });
  ({ dave, erin, mine } = await seedInbox(t));
}, 120_000);
afterAll(() => t.close());

describe('markAllNotificationsRead', () => {
  it('marks all read: {updated} counts only the unread ones; a second call updates nothing; others are untouched', async () => {
    await dave.request('POST', `/api/notifications/${mine[1]!.id}/read`);
    const all = await dave.request('POST', '/api/notifications/read-all');
    expect(all).toMatchObject({ status: 200, body: { updated: 4 } });
    expect((await dave.request('GET', '/api/notifications/unread-count')).body).toEqual({ count: 0 });
    expect((await inbox(dave)).every((n) => n.read_at !== null)).toBe(true);
    expect((await dave.request('POST', '/api/notifications/read-all')).body).toEqual({ updated: 0 });
    expect((await inbox(erin, {})).length).toBe(0);
  });

  it('a retry with the same Idempotency-Key replays the first answer; the key on another operation is a 422', async () => {
    const key = `read-all-${Date.now()}`;
    const first = await erin.request('POST', '/api/notifications/read-all', { headers: { 'idempotency-key': key } });
    expect(first).toMatchObject({ status: 200, body: { updated: 0 } });
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const retry = await erin.request('POST', '/api/notifications/read-all', { headers: { 'idempotency-key': key } });
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    const reused = await erin.request('POST', `/api/notifications/${mine[0]!.id}/read`, { headers: { 'idempotency-key': key } });
    expect(reused.status).toBe(422);
    expect(reused.body).toMatchObject({ type: 'https://taskflow.dev/problems/idempotency-key-reused' });
  });

  it('needs a token', async () => {
    expectProblem(await t.request('POST', '/api/notifications/read-all'), 401, 'unauthorized');
  });
});
