/**
 * BACKGROUND_WORKERS=false: an instance that serves HTTP only. It produces no notifications itself; an
 * instance with background workers started later picks the change up from the event log, so nothing is lost.
 */
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTask, newProject, signIn, type SignedIn } from '../helpers/factories.js';
import { FAST, inbox, sleep, waitForNotification } from './support.js';

let api: TestApp;
let worker: TestApp | undefined;
let alice: SignedIn;
let bob: SignedIn;
let project: number;

beforeAll(async () => {
  api = await startTestApp({ env: { ...FAST, BACKGROUND_WORKERS: 'false' } });
  alice = await signIn(api, 'alice');
  bob = await signIn(api, 'bob');
  project = await newProject(api, alice, [bob]);
}, 120_000);
afterAll(async () => {
  await worker?.close();
  await api.close();
});

describe('BACKGROUND_WORKERS=false', () => {
  it('serves the API but produces nothing; a worker instance started later catches up from the event log', async () => {
    const task = await createTask(alice, project, { title: 'Assigned while no worker runs', assignee_id: bob.workerId });
    // With workers (FAST: the event hub looks every 200 ms) the notification would be there well within this.
    await sleep(2_500);
    expect((await inbox(bob)).filter((n) => n.task_id === task.id)).toEqual([]);
    const count = await bob.request<{ count: number }>('GET', '/api/notifications/unread-count');
    expect(count.status).toBe(200);
    expect(count.body).toEqual({ count: 0 });

    worker = await startTestApp({ databaseUrl: api.db.url, sso: api.sso, env: FAST });
    // bob still asks the HTTP-only instance: the worker instance wrote the notification into the shared database.
    const n = await waitForNotification(bob, (x) => x.task_id === task.id && x.type === 'task_assigned');
    expect(n).toMatchObject({ type: 'task_assigned', task_title: 'Assigned while no worker runs', actor: { id: alice.workerId } });
  });
});
