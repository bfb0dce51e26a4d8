/**
 * Isolation: a user of another tenant and a non-member of the same tenant get 404 on every task operation, see
 * empty lists, and their rejected writes leave no row and no audit entry behind.
 */
import { sql } from 'slonik';
import { z } from 'zod';
import { startTestApp, type RawResponse, type TestApp } from '../helpers/app.js';
import {
  createSubtask,
  createTask,
  expectProblem,
  forceStatus,
  newProject,
  signIn,
  taskRow,
  type SignedIn,
  type TaskList,
} from '../helpers/factories.js';

let t: TestApp;
let alice: SignedIn;
let mallory: SignedIn; // another tenant
let nina: SignedIn; // same tenant, not a member
let project: number;

beforeAll(async () => {
  t = await startTestApp();
  alice = await signIn(t, 'alice');
  mallory = await signIn(t, 'mallory', { tenant: 'globex' });
  nina = await signIn(t, 'nina');
  project = await newProject(t, alice);
});
afterAll(() => t.close());

const fingerprint = async () =>
  t.pool.one(sql.type(z.object({ tasks: z.string(), audit: z.number() }))`
    select coalesce((select string_agg(id || ':' || version || ':' || status || ':' || coalesce(assignee_id, 0), ',' order by id) from task), '') as tasks,
           (select count(*)::int from audit_log) as audit`);

// [operation, attempt, a status in which the operation would be allowed — only visibility refuses it]
type Attempt = [string, (who: SignedIn, taskId: number) => Promise<RawResponse>, string];
const attempts: Attempt[] = [
  ['getTask', (who, id) => who.request('GET', `/api/tasks/${id}`), 'pending'],
  ['updateTask', (who, id) => who.request('PATCH', `/api/tasks/${id}`, { body: { title: 'pwned' } }), 'pending'],
  ['deleteTask', (who, id) => who.request('DELETE', `/api/tasks/${id}`), 'pending'],
  ['updateTaskStatus', (who, id) => who.request('PATCH', `/api/tasks/${id}/status`, { body: { status: 'completed' } }), 'pending'],
  ['updateTaskProgress', (who, id) => who.request('PATCH', `/api/tasks/${id}/progress`, { body: { progress_percent: 99 } }), 'in_progress'],
  ['assignTask', (who, id) => who.request('PATCH', `/api/tasks/${id}/assign`, { body: { assignee_id: who.workerId } }), 'pending'],
  ['createSubtask', (who, id) => who.request('POST', `/api/tasks/${id}/subtasks`, { body: { title: 'pwned' } }), 'pending'],
  ['approveTask', (who, id) => who.request('POST', `/api/tasks/${id}/approve`), 'review'],
  ['rejectTask', (who, id) => who.request('POST', `/api/tasks/${id}/reject`, { body: { reason: 'pwned' } }), 'review'],
];

describe.each([
  ['another tenant', () => mallory],
  ['a non-member of the same tenant', () => nina],
])('%s', (_who, outsider) => {
  it.each(attempts)('%s: 404 task-not-found, exactly as for a task that does not exist; nothing written', async (_op, attempt, status) => {
    const task = await createTask(alice, project, { title: 'Secret', recurrence: { pattern: 'daily' } });
    await forceStatus(t, task.id, status);
    const before = await fingerprint();
    const res = await attempt(outsider(), task.id);
    const missing = await attempt(outsider(), 999999);
    expectProblem(res, 404, 'task-not-found');
    expectProblem(missing, 404, 'task-not-found');
    expect({ ...(res.body as object), instance: undefined, detail: undefined }).toEqual({ ...(missing.body as object), instance: undefined, detail: undefined });
    expect(await fingerprint()).toEqual(before);
  });

  it('If-Match does not leak the version: still 404', async () => {
    const task = await createTask(alice, project);
    expectProblem(await outsider().request('PATCH', `/api/tasks/${task.id}/status`, { body: { status: 'blocked' }, headers: { 'If-Match': '"1"' } }), 404, 'task-not-found');
  });

  it('lists: the project is a 404, and "my work" is empty even when filtering on the owner', async () => {
    await createTask(alice, project, { assignee_id: alice.workerId });
    expectProblem(await outsider().request('GET', `/api/projects/${project}/tasks`), 404, 'project-not-found');
    const queries: Record<string, string>[] = [{}, { assignee_id: String(alice.workerId) }, { status: 'pending' }];
    for (const query of queries) {
      const res = await outsider().request<TaskList>('GET', '/api/tasks', { query });
      expect(res.status).toBe(200);
      expect(res.body.items.filter((i) => i.project_id === project)).toEqual([]);
    }
  });

  it('cannot create a task in the project, nor point a task of their own at it', async () => {
    const before = await fingerprint();
    expectProblem(await outsider().request('POST', `/api/projects/${project}/tasks`, { body: { title: 'pwned' } }), 404, 'project-not-found');
    const secret = await createTask(alice, project);
    const afterSecret = await fingerprint();
    expect(afterSecret.audit).toBe(before.audit + 1);
    // Their own project, with alice's task as parent or alice as assignee: 422, nothing written.
    const res = await outsider().request('POST', `/api/projects/${outsider().projectId}/tasks`, {
      body: { title: 'pwned', parent_task_id: secret.id, assignee_id: alice.workerId },
    });
    expect(expectProblem(res, 422, 'validation-failed').errors?.map((e) => e.pointer)).toEqual(['/body/assignee_id', '/body/parent_task_id']);
    expect(await fingerprint()).toEqual(afterSecret);
  });

  it('the audit trail of the task is a 404 too', async () => {
    const task = await createTask(alice, project);
    expectProblem(await outsider().request('GET', `/api/tasks/${task.id}/audit`), 404, 'task-not-found');
  });
});

describe('membership is what grants access', () => {
  it('a member removed from the project loses the task; their assignment is cleared by the database', async () => {
    const bob = await signIn(t, 'bob');
    const shared = await newProject(t, alice, [bob]);
    const task = await createTask(alice, shared, { assignee_id: bob.workerId });
    const sub = await createSubtask(bob, task.id);
    expect((await bob.request('GET', `/api/tasks/${task.id}`)).status).toBe(200);
    await t.pool.query(sql.unsafe`delete from member where project_id = ${shared} and worker_id = ${bob.workerId}`);
    expectProblem(await bob.request('GET', `/api/tasks/${task.id}`), 404, 'task-not-found');
    expectProblem(await bob.request('GET', `/api/tasks/${sub.id}`), 404, 'task-not-found');
    expect(await taskRow(t, task.id)).toMatchObject({ assignee_id: null });
  });
});
