/** listNotifications: the caller's inbox, newest first, paged by a keyset cursor, filtered by read state; 422, 401. */
import { startTestApp, type TestApp } from '../helpers/app.js';
import { expectProblem, type SignedIn } from '../helpers/factories.js';
import { FAST, inbox, seedInbox, type Notification, type NotificationList } from './support.js';

let t: TestApp;
let dave: SignedIn; // five notifications: erin assigned him five tasks
let erin: SignedIn;
let mine: Notification[];

beforeAll(async () => {
  t = await startTestApp({ env: FAST });
  ({ dave, erin, mine } = await seedInbox(t));
}, 120_000);
afterAll(() => t.close());

describe('listNotifications', () => {
  it('lists newest first with a keyset cursor', async () => {
    expect(mine.map((n) => n.task_title)).toEqual(['Inbox item 5', 'Inbox item 4', 'Inbox item 3', 'Inbox item 2', 'Inbox item 1']);
    expect(mine.every((n) => n.type === 'task_assigned' && n.actor.handle === '@erin' && n.actor.id === erin.workerId && n.read_at === null)).toBe(true);
    const first = await dave.request<NotificationList>('GET', '/api/notifications', { query: { limit: 2 } });
    expect(first.status).toBe(200);
    expect(first.body.items.map((n) => n.id)).toEqual([mine[0]!.id, mine[1]!.id]);
    const second = await dave.request<NotificationList>('GET', '/api/notifications', { query: { limit: 2, cursor: first.body.next_cursor! } });
    expect(second.body.items.map((n) => n.id)).toEqual([mine[2]!.id, mine[3]!.id]);
    const last = await dave.request<NotificationList>('GET', '/api/notifications', { query: { limit: 2, cursor: second.body.next_cursor! } });
    expect(last.body.items.map((n) => n.id)).toEqual([mine[4]!.id]);
    expect(last.body.next_cursor).toBeNull();
  });

  it('shows only the caller’s own notifications', async () => {
    expect(await inbox(erin)).toEqual([]);
  });

  it('unread=true and unread=false split the inbox by read state', async () => {
    const target = mine[1]!;
    expect((await dave.request('POST', `/api/notifications/${target.id}/read`)).status).toBe(200);
    expect((await inbox(dave, { unread: true })).map((n) => n.id)).toEqual(mine.filter((n) => n.id !== target.id).map((n) => n.id));
    expect((await inbox(dave, { unread: false })).map((n) => n.id)).toEqual([target.id]);
  });

  it.each([
    [{ unread: 'maybe' }, '/query/unread'],
    [{ limit: '0' }, '/query/limit'],
    [{ limit: '101' }, '/query/limit'],
    [{ cursor: 'not-a-cursor' }, '/query/cursor'],
  ])('422 for %j, naming the parameter', async (query, pointer) => {
    const res = await dave.request('GET', '/api/notifications', { query });
    expectProblem(res, 422, 'validation-failed');
    expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ pointer })]));
  });

  it('needs a token', async () => {
    expectProblem(await t.request('GET', '/api/notifications'), 401, 'unauthorized');
  });
});
