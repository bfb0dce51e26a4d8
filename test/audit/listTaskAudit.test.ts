/** listTaskAudit: a task's history, newest first, paged by a keyset cursor; 404 for a task the caller cannot see. */
import type { components } from '../../generated/api.js';
import type { TestApp } from '../helpers/app.js';
import { expectProblem, setStatus, setupTestApp, type SignedIn, type TestWorld } from '../helpers/factories.js';

type AuditList = components['schemas']['AuditList'];

let t: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let carol: SignedIn; // not a member
let world: TestWorld;

beforeAll(async () => {
  world = await setupTestApp();
  ({ t, alice, bob, carol } = world);
});
afterAll(() => t.close());

const history = (user: SignedIn, taskId: number | string, query: Record<string, string | number> = {}) =>
  user.request<AuditList>('GET', `/api/tasks/${taskId}/audit`, { query });

/** A task with four entries: created by alice, started, progress reported and assigned by bob. */
async function taskWithHistory() {
  const task = await world.newTask({ title: 'Audited' });
  await setStatus(alice, task.id, 'in_progress');
  await bob.request('PATCH', `/api/tasks/${task.id}/progress`, { body: { progress_percent: 40, note: 'Outline agreed' } });
  await bob.request('PATCH', `/api/tasks/${task.id}/assign`, { body: { assignee_id: bob.workerId } });
  return task;
}

describe('listTaskAudit', () => {
  it('lists every entry of the task newest first, with who did it and what changed', async () => {
    const task = await taskWithHistory();
    await world.newTask({ title: 'Another task' }); // entries of other tasks stay out
    const res = await bob.request<AuditList>('GET', `/api/tasks/${task.id}/audit`);
    expect(res.status).toBe(200);
    expect(res.body.next_cursor).toBeNull();
    expect(res.body.items.map((e) => [e.action, e.actor_handle])).toEqual([
      ['assigned', '@bob'],
      ['progress_updated', '@bob'],
      ['status_changed', '@alice'],
      ['task_created', '@alice'],
    ]);
    for (const entry of res.body.items) {
      expect(entry).toMatchObject({ entity_type: 'task', entity_id: task.id, actor_type: 'human', client: null });
    }
    expect(res.body.items[1]).toMatchObject({
      actor_id: bob.workerId,
      details: { progress_percent: { before: 0, after: 40 }, note: 'Outline agreed' },
    });
    const ids = res.body.items.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    const times = res.body.items.map((e) => e.created_at);
    expect(times).toEqual([...times].sort().reverse());
  });

  it('pages with limit and next_cursor: every entry exactly once, in the same order', async () => {
    const task = await taskWithHistory();
    const all = (await history(alice, task.id)).body.items.map((e) => e.id);
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: AuditList } = await history(alice, task.id, { limit: 3, ...(cursor ? { cursor } : {}) });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...res.body.items.map((e) => e.id));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(2);
    expect(seen).toEqual(all);
  });

  it('404 task-not-found for a non-member, a missing task and a deleted one', async () => {
    const task = await taskWithHistory();
    expectProblem(await history(carol, task.id), 404, 'task-not-found');
    expectProblem(await history(alice, 999999), 404, 'task-not-found');
    expect((await alice.request('DELETE', `/api/tasks/${task.id}`)).status).toBe(204);
    expectProblem(await history(alice, task.id), 404, 'task-not-found');
  });

  it.each<[string, string, Record<string, string | number>, string]>([
    ['a task id that is not an integer', 'abc', {}, '/path/task_id'],
    ['limit 0', '1', { limit: 0 }, '/query/limit'],
    ['limit 101', '1', { limit: 101 }, '/query/limit'],
    ['a forged cursor', '1', { cursor: 'not-a-cursor' }, '/query/cursor'],
  ])('422 for %s, naming the parameter', async (_name, taskId, query, pointer) => {
    const task = taskId === '1' ? (await world.newTask()).id : taskId;
    const res = await history(alice, task, query);
    expect(expectProblem(res, 422, 'validation-failed').errors?.map((e) => e.pointer)).toContain(pointer);
  });

  it('401 without a token', async () => {
    const task = await world.newTask();
    expectProblem(await t.request('GET', `/api/tasks/${task.id}/audit`), 401, 'unauthorized');
  });
});
