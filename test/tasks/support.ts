/**
 * Factories and database assertions for the tasks suites (not a test file: jest only runs *.test.ts). Tasks go
 * through the API; projects and memberships are inserted as rows, because the projects module is built
 * separately and the tasks rules only need them to exist.
 */
import { sql } from 'slonik';
import { z } from 'zod';
import type { components } from '../../generated/api.js';
import type { ApiUser, RawResponse, TestApp } from '../helpers/app.js';
import type { SignedIn } from '../helpers/users.js';

export { signIn, type SignedIn } from '../helpers/users.js';

export type Task = components['schemas']['Task'];
export type TaskSummary = components['schemas']['TaskSummary'];
export type TaskList = components['schemas']['TaskList'];
export type Problem = components['schemas']['Problem'];

const IdRow = z.object({ id: z.number() });
let projects = 0;

/** A project owned by `owner` (inserted as rows: project + owner membership); returns its id. */
export async function newProject(t: TestApp, owner: SignedIn, members: SignedIn[] = []): Promise<number> {
  const slug = `tasks-${++projects}-${Date.now().toString(36)}`;
  const id = await t.pool.oneFirst(sql.type(IdRow)`
    insert into project (tenant_id, slug, name, owner_id) values (${owner.tenant}, ${slug}, ${slug}, ${owner.workerId})
    returning id`);
  await t.pool.query(sql.unsafe`insert into member (project_id, worker_id, role) values (${id}, ${owner.workerId}, 'owner')`);
  for (const m of members) await addMember(t, id, m.workerId);
  return id;
}

export const addMember = (t: TestApp, projectId: number, workerId: number) =>
  t.pool.query(sql.unsafe`insert into member (project_id, worker_id) values (${projectId}, ${workerId})`);

/** Creates a task through the API and expects a 201. */
export async function createTask(user: ApiUser, projectId: number, body: Record<string, unknown> = {}): Promise<Task> {
  const res = await user.request<Task>('POST', `/api/projects/${projectId}/tasks`, { body: { title: 'A task', ...body } });
  if (res.status !== 201) throw new Error(`createTask: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function createSubtask(user: ApiUser, parentId: number, body: Record<string, unknown> = {}): Promise<Task> {
  const res = await user.request<Task>('POST', `/api/tasks/${parentId}/subtasks`, { body: { title: 'A subtask', ...body } });
  if (res.status !== 201) throw new Error(`createSubtask: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

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

const AuditRow = z.object({
  action: z.string(),
  entity_id: z.number(),
  project_id: z.number().nullable(),
  actor_id: z.number().nullable(),
  details: z.record(z.string(), z.unknown()),
});
export type AuditRow = z.infer<typeof AuditRow>;

/** Audit entries about one task, oldest first. */
export const auditOf = (t: TestApp, taskId: number) =>
  t.pool.any(sql.type(AuditRow)`
    select action, entity_id, project_id, actor_id, details
    from audit_log where entity_type = 'task' and entity_id = ${taskId} order by id`);

export const actionsOf = async (t: TestApp, taskId: number) => (await auditOf(t, taskId)).map((a) => a.action);

const TaskDbRow = z.object({
  id: z.number(),
  project_id: z.number(),
  parent_task_id: z.number().nullable(),
  title: z.string(),
  description: z.string().nullable(),
  status: z.string(),
  priority: z.string(),
  progress_percent: z.number(),
  tags: z.array(z.string()),
  assignee_id: z.number().nullable(),
  due_date: z.string().nullable(),
  recurrence_pattern: z.string().nullable(),
  recurrence_max: z.number().nullable(),
  recurring_root_id: z.number().nullable(),
  spawned_from_id: z.number().nullable(),
  spawn_count: z.number(),
  created_by_id: z.number(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  version: z.number(),
});
export type TaskDbRow = z.infer<typeof TaskDbRow>;

const TASK_DB_COLUMNS = sql.fragment`id, project_id, parent_task_id, title, description, status, priority, progress_percent, tags,
  assignee_id, due_date, recurrence_pattern, recurrence_max, recurring_root_id, spawned_from_id, spawn_count, created_by_id,
  started_at, completed_at, version`;

export const taskRow = (t: TestApp, id: number) =>
  t.pool.maybeOne(sql.type(TaskDbRow)`select ${TASK_DB_COLUMNS} from task where id = ${id}`);

/** Occurrences spawned from a task (0 or 1, by the unique constraint). */
export const spawnedFrom = (t: TestApp, id: number) =>
  t.pool.any(sql.type(TaskDbRow)`select ${TASK_DB_COLUMNS} from task where spawned_from_id = ${id}`);

const Counts = z.object({ tasks: z.number(), audit: z.number() });

/** Row counts a rejected write could change: compare before and after to prove it left nothing. */
export const rowCounts = (t: TestApp) =>
  t.pool.one(sql.type(Counts)`
    select (select count(*)::int from task) as tasks, (select count(*)::int from audit_log) as audit`);

/** Expects a problem response of the given type. */
export function expectProblem(res: RawResponse, status: number, slug: string) {
  if (res.status !== status) throw new Error(`expected ${status} ${slug}, got ${res.status} ${JSON.stringify(res.body)}`);
  expect(res.body).toMatchObject({ type: `https://taskflow.dev/problems/${slug}`, status });
  return res.body as Problem;
}
