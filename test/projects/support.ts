/**
 * Factories shared by the projects, members and agents suites (not a test file: jest
 * only runs *.test.ts). Everything goes through the API except tasks: their module is built separately, so
 * tasks are inserted as rows, exactly as the schema allows.
 */
import { sql } from 'slonik';
import { z } from 'zod';
import type { components } from '../../generated/api.js';
import type { ApiUser, TestApp } from '../helpers/app.js';
import type { SignedIn } from '../helpers/users.js';

export { signIn, type SignedIn } from '../helpers/users.js';

export type Project = components['schemas']['Project'];
export type Member = components['schemas']['Member'];
export type Agent = components['schemas']['Agent'];
export type Me = components['schemas']['Me'];

let projects = 0;
export async function createProject(owner: ApiUser, fields: Partial<{ slug: string; name: string; description: string | null }> = {}) {
  const n = ++projects;
  const res = await owner.request<Project>('POST', '/api/projects', {
    body: { slug: `project-${n}-${Date.now().toString(36)}`, name: `Project ${n}`, ...fields },
  });
  expect(res.status).toBe(201);
  return res.body;
}

let agents = 0;
export async function createAgent(user: ApiUser, fields: Partial<{ handle: string; name: string; agent_type: string; capabilities: string[] }> = {}) {
  const n = ++agents;
  const res = await user.request<Agent>('POST', '/api/agents', {
    body: { handle: `@agent-${n}-${Date.now().toString(36)}`, name: `Agent ${n}`, agent_type: 'claude', ...fields },
  });
  expect(res.status).toBe(201);
  return res.body;
}

/** Adds a signed-in human (or an agent, by id) to a project through the API, as its owner. */
export async function addMember(owner: ApiUser, projectId: number, who: SignedIn | { agentId: number }) {
  const body = 'agentId' in who ? { agent_id: who.agentId } : { user_id: who.sub };
  const res = await owner.request<Member>('POST', `/api/projects/${projectId}/members`, { body });
  expect(res.status).toBe(201);
  return res.body;
}

/** Inserts tasks as rows (optionally assigned, optionally as subtasks of the first one); returns their ids. */
export async function insertTasks(
  t: TestApp,
  projectId: number,
  count: number,
  options: { createdBy?: number; assigneeId?: number | null; withSubtask?: boolean } = {},
): Promise<number[]> {
  const project = await t.pool.one(sql.type(z.object({ tenant_id: z.string(), owner_id: z.number() }))`
    select tenant_id, owner_id from project where id = ${projectId}`);
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(
      await t.pool.oneFirst(sql.type(z.object({ id: z.number() }))`
        insert into task (tenant_id, project_id, title, created_by_id, assignee_id)
        values (${project.tenant_id}, ${projectId}, ${`Task ${i + 1}`}, ${options.createdBy ?? project.owner_id}, ${options.assigneeId ?? null})
        returning id`),
    );
  }
  if (options.withSubtask && ids[0] !== undefined) {
    ids.push(
      await t.pool.oneFirst(sql.type(z.object({ id: z.number() }))`
        insert into task (tenant_id, project_id, parent_task_id, title, created_by_id)
        values (${project.tenant_id}, ${projectId}, ${ids[0]}, 'Subtask', ${project.owner_id})
        returning id`),
    );
  }
  return ids;
}

export { auditOf, rowCounts, type AuditRow } from '../helpers/db.js';
export { problemType } from '../helpers/factories.js';
