/**
 * The world most suites start from, and the factories that add to it. `setupTestApp()` replaces the set-up every
 * task suite used to repeat (app, users, a shared project):
 *
 *   let t: TestApp, alice: SignedIn, bob: SignedIn, carol: SignedIn, project: number;
 *   beforeAll(async () => ({ t, alice, bob, carol, project } = await setupTestApp()));
 *   afterAll(() => t.close());
 *
 * Tasks go through the API (so every one is validated and audited as in production); projects and memberships
 * are inserted as rows, because the task rules only need them to exist (the projects suites create theirs
 * through the API).
 */
import pg from 'pg';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import type { components } from '../../generated/api.js';
import { startTestApp, type ApiUser, type RawResponse, type TestApp, type TestAppOptions } from './app.js';
import { signIn, type SignedIn } from './users.js';

export { signIn, type SignedIn } from './users.js';
import { rowCounts } from './db.js';

export { actionsOf, rowCounts, spawnedFrom, taskAudit, taskRow, type AuditRow, type TaskDbRow } from './db.js';

export type Task = components['schemas']['Task'];
export type TaskSummary = components['schemas']['TaskSummary'];
export type TaskList = components['schemas']['TaskList'];
export type Problem = components['schemas']['Problem'];

export interface TestWorld {
  t: TestApp;
  /** Owner of `project`. */
  alice: SignedIn;
  /** A member of `project`. */
  bob: SignedIn;
  /** Same tenant, a member of nothing of alice's. */
  carol: SignedIn;
  /** alice's project with bob as a member. */
  project: number;
  /** Factories bound to this app, alice and her project by default. */
  newProject(owner?: SignedIn, members?: SignedIn[]): Promise<number>;
  newTask(body?: Record<string, unknown>, user?: ApiUser, projectId?: number): Promise<Task>;
  newSubtask(parentId: number, body?: Record<string, unknown>, user?: ApiUser): Promise<Task>;
}

/** A server on its own database (startTestApp) with alice, bob and carol signed in and alice's project shared with bob. */
export async function setupTestApp(options: TestAppOptions = {}): Promise<TestWorld> {
  const t = await startTestApp(options);
  const alice = await signIn(t, 'alice');
  const bob = await signIn(t, 'bob');
  const carol = await signIn(t, 'carol');
  const project = await newProject(t, alice, [bob]);
  return {
    t,
    alice,
    bob,
    carol,
    project,
    newProject: (owner = alice, members = []) => newProject(t, owner, members),
    newTask: (body = {}, user = alice, projectId = project) => createTask(user, projectId, body),
    newSubtask: (parentId, body = {}, user = alice) => createSubtask(user, parentId, body),
  };
}

const IdRow = z.object({ id: z.number() });
let projects = 0;

/** A project owned by `owner` (inserted as rows: project + owner membership); returns its id. */
export async function newProject(
  t: { pool: DatabasePool },
  owner: { tenant: string; workerId: number },
  members: { workerId: number }[] = [],
): Promise<number> {
  const slug = `tasks-${++projects}-${Date.now().toString(36)}`;
  const id = await t.pool.oneFirst(sql.type(IdRow)`
    insert into project (tenant_id, slug, name, owner_id) values (${owner.tenant}, ${slug}, ${slug}, ${owner.workerId})
    returning id`);
  await t.pool.query(sql.unsafe`insert into member (project_id, worker_id, role) values (${id}, ${owner.workerId}, 'owner')`);
  for (const m of members) await addMember(t, id, m.workerId);
  return id;
}

/** Makes a worker a plain member of a project (inserted as a row). */
export const addMember = (t: { pool: DatabasePool }, projectId: number, workerId: number) =>
  t.pool.query(sql.unsafe`insert into member (project_id, worker_id) values (${projectId}, ${workerId})`);

/** A new project of `owner` with `workerId` as a member: its id and the membership's id (for removeProjectMember). */
export async function projectWithMember(t: { pool: DatabasePool }, owner: { tenant: string; workerId: number }, workerId: number): Promise<{ projectId: number; memberId: number }> {
  const projectId = await newProject(t, owner);
  const memberId = await t.pool.oneFirst(sql.type(z.object({ id: z.number() }))`
    insert into member (project_id, worker_id) values (${projectId}, ${workerId}) returning id`);
  return { projectId, memberId };
}

/** Deadlocks PostgreSQL has counted in the test database so far (races assert it does not grow). */
export const deadlockCount = (t: { pool: DatabasePool }) =>
  t.pool.oneFirst(sql.type(z.object({ n: z.number() }))`select deadlocks::int as n from pg_stat_database where datname = current_database()`);

/**
 * Races requests against a change that holds the row they need: `change` runs in an open transaction on its own
 * connection, then `send` starts the requests, and once `waiting` of them wait for a lock the change commits.
 * Returns their answers, each judged by the server on the state the change committed, not the one it first read.
 * Throws if fewer than `waiting` requests were seen waiting within 15 seconds: the race did not happen.
 */
export async function whileChangeHeld<T>(t: TestApp, change: { text: string; values: unknown[] }, waiting: number, send: () => Promise<T>[]): Promise<T[]> {
  const holder = new pg.Client({ connectionString: t.db.url });
  await holder.connect();
  try {
    await holder.query('begin');
    await holder.query(change.text, change.values);
    const sent = send();
    let n = 0;
    for (let tries = 0; n < waiting && tries < 750; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      // Inside a transaction PostgreSQL caches pg_stat_activity's list of sessions at the first look: a connection
      // the server opens for these requests afterwards would never be seen waiting unless the cache is cleared.
      await holder.query('select pg_stat_clear_snapshot()');
      const { rows } = await holder.query(`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`);
      n = rows[0].n;
    }
    await holder.query('commit');
    const answers = await Promise.all(sent);
    if (n < waiting) throw new Error(`whileChangeHeld: ${n} of the ${waiting} requests waited for the change's lock`);
    return answers;
  } finally {
    await holder.end();
  }
}

/**
 * A membership removed while a request waits for its project: a project of `owner` with `member` in it and one
 * pending task; `send` runs while a change like the owner's removal holds the project for update and deletes the
 * membership, and must wait for that lock. Returns its answer, with the project and the task.
 */
export async function whileMembershipRemoved<T>(
  t: TestApp, owner: SignedIn, member: SignedIn, send: (at: { projectId: number; taskId: number }) => Promise<T>,
): Promise<{ answer: T; projectId: number; taskId: number }> {
  const { projectId, memberId } = await projectWithMember(t, owner, member.workerId);
  const taskId = (await createTask(owner, projectId)).id;
  const [answer] = await whileChangeHeld(t, {
    text: `select id from project where id = ${projectId} for update; delete from member where id = ${memberId}`, values: [],
  }, 1, () => [send({ projectId, taskId })]);
  return { answer: answer!, projectId, taskId };
}

/** Creates a task through the API and expects a 201. */
export async function createTask(user: ApiUser, projectId: number, body: Record<string, unknown> = {}): Promise<Task> {
  const res = await user.request<Task>('POST', `/api/projects/${projectId}/tasks`, { body: { title: 'A task', ...body } });
  if (res.status !== 201) throw new Error(`createTask: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Creates a subtask through the API and expects a 201. */
export async function createSubtask(user: ApiUser, parentId: number, body: Record<string, unknown> = {}): Promise<Task> {
  const res = await user.request<Task>('POST', `/api/tasks/${parentId}/subtasks`, { body: { title: 'A subtask', ...body } });
  if (res.status !== 201) throw new Error(`createSubtask: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** PATCH …/progress as `user`, whatever the answer (the suites assert on it). */
export const progress = (user: ApiUser, id: number, body: Record<string, unknown>) =>
  user.request<Task>('PATCH', `/api/tasks/${id}/progress`, { body });
/** POST …/approve as `user`. */
export const approve = (user: ApiUser, id: number) => user.request<Task>('POST', `/api/tasks/${id}/approve`);
/** POST …/reject with `reason` as `user`. */
export const reject = (user: ApiUser, id: number, reason: unknown) => user.request<Task>('POST', `/api/tasks/${id}/reject`, { body: { reason } });

export async function setStatus(user: ApiUser, taskId: number, status: string, headers: Record<string, string> = {}) {
  return user.request<Task>('PATCH', `/api/tasks/${taskId}/status`, { body: { status }, headers });
}

/** Puts a task straight into a status (and the timestamps that go with it), bypassing the workflow. */
export const forceStatus = (t: TestApp, taskId: number, status: string) =>
  t.pool.query(sql.unsafe`
    update task set status = ${status},
      started_at = case when ${status} in ('in_progress', 'review', 'completed') then coalesce(started_at, now()) end,
      completed_at = case when ${status} = 'completed' then now() end,
      progress_percent = case when ${status} = 'completed' then 100 else progress_percent end
    where id = ${taskId}`);

/** The `type` URI of a problem slug. */
export const problemType = (slug: string) => `https://taskflow.dev/problems/${slug}`;

/** Expects a problem response of the given status and type. */
export function expectProblem(res: RawResponse, status: number, slug: string) {
  if (res.status !== status) throw new Error(`expected ${status} ${slug}, got ${res.status} ${JSON.stringify(res.body)}`);
  expect(res.body).toMatchObject({ type: problemType(slug), status });
  return res.body as Problem;
}

/**
 * The refusals every operation with a JSON body documents, before its handler runs: 400 malformed-json, 415
 * unsupported-media-type, 413 payload-too-large (over 1 MiB). Checks that none of them wrote anything.
 */
export async function expectBodyRefusals(t: TestApp, user: ApiUser, method: string, path: string): Promise<void> {
  const before = await rowCounts(t.pool);
  const json = { 'content-type': 'application/json' };
  expectProblem(await user.request(method, path, { rawBody: '{"title": ', headers: json }), 400, 'malformed-json');
  expectProblem(await user.request(method, path, { rawBody: 'title=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported-media-type');
  expectProblem(await user.request(method, path, { rawBody: JSON.stringify({ title: 'x'.repeat(1_100_000) }), headers: json }), 413, 'payload-too-large');
  expect(await rowCounts(t.pool)).toEqual(before);
}
