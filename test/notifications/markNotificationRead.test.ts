/** markNotificationRead: marks one of the caller's notifications read, idempotently; 404 for anyone else's, 422, 401. */
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

describe('markNotificationRead', () => {
  it('marks one read (idempotently, keeping the first read_at); the others stay unread', async () => {
    const target = mine[1]!;
    const read = await dave.request<Notification>('POST', `/api/notifications/${target.id}/read`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual({ ...target, read_at: expect.stringMatching(/Z$/) });
    const again = await dave.request<Notification>('POST', `/api/notifications/${target.id}/read`);
    expect(again.status).toBe(200);
    expect(again.body.read_at).toBe(read.body.read_at);
    expect((await inbox(dave)).filter((n) => n.read_at !== null).map((n) => n.id)).toEqual([target.id]);
  });

  it("answers 404 for someone else's notification and for one that does not exist, and changes nothing", async () => {
    const target = mine[0]!;
    expectProblem(await erin.request('POST', `/api/notifications/${target.id}/read`), 404, 'notification-not-found');
    expectProblem(await dave.request('POST', '/api/notifications/999999999/read'), 404, 'notification-not-found');
    expect((await inbox(dave)).find((n) => n.id === target.id)?.read_at).toBeNull();
  });

  it.each(['abc', '0'])('422 at /path/notification_id for the id %s', async (id) => {
    const res = await dave.request('POST', `/api/notifications/${id}/read`);
    expectProblem(res, 422, 'validation-failed');
    expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ pointer: '/path/notification_id' })]));
  });

  it('needs a token', async () => {
    expectProblem(await t.request('POST', `/api/notifications/${mine[2]!.id}/read`), 401, 'unauthorized');
    expect((await inbox(dave)).find((n) => n.id === mine[2]!.id)?.read_at).toBeNull();
  });
});
