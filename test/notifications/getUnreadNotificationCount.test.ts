/** getUnreadNotificationCount: how many of the caller's notifications are unread, as reading them changes it; 401. */
import { startTestApp, type TestApp } from '../helpers/app.js';
import { expectProblem, type SignedIn } from '../helpers/factories.js';
import { FAST, seedInbox, type Notification } from './support.js';

let t: TestApp;
let dave: SignedIn; // five notifications: erin assigned him five tasks
let erin: SignedIn;
let mine: Notification[];

beforeAll(async () => {
  t = await startTestApp({ env: FAST });
  ({ dave, erin, mine } = await seedInbox(t));
}, 120_000);
afterAll(() => t.close());

const unread = (user: SignedIn) => user.request<{ count: number }>('GET', '/api/notifications/unread-count');

describe('getUnreadNotificationCount', () => {
  it('counts the caller’s unread notifications only', async () => {
    expect(await unread(dave)).toMatchObject({ status: 200, body: { count: 5 } });
    expect((await unread(erin)).body).toEqual({ count: 0 });
  });

  it('drops as notifications are read, to 0 after marking all read', async () => {
    await dave.request('POST', `/api/notifications/${mine[1]!.id}/read`);
    expect((await unread(dave)).body).toEqual({ count: 4 });
    await dave.request('POST', `/api/notifications/${mine[1]!.id}/read`); // again: already read
    expect((await unread(dave)).body).toEqual({ count: 4 });
    await dave.request('POST', '/api/notifications/read-all');
    expect((await unread(dave)).body).toEqual({ count: 0 });
  });

  it('needs a token', async () => {
    expectProblem(await t.request('GET', '/api/notifications/unread-count'), 401, 'unauthorized');
  });
});
