/** Shared by the reliability suites: what the database holds, and a small world to act on. */
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import type { ApiUser, TestApp } from '../helpers/app.js';

export { rowCounts, TABLES, type RowCounts } from '../helpers/db.js';

/** Invariants that must hold whatever happened: each violation is a row described as text. */
export async function integrityViolations(pool: DatabasePool): Promise<string[]> {
  const checks = {
    'task without its task_created/recurrence_spawned audit entry': sql.unsafe`
      select 'task ' || t.id as row from task t
      where not exists (select 1 from audit_log a where a.entity_type = 'task' and a.entity_id = t.id
                        and a.action in ('task_created', 'recurrence_spawned'))`,
    'project without project_created audit entry': sql.unsafe`
      select 'project ' || p.id as row from project p
      where not p.is_default and not exists (select 1 from audit_log a where a.entity_type = 'project' and a.entity_id = p.id and a.action = 'project_created')`,
    'project without exactly one owner membership': sql.unsafe`
      select 'project ' || p.id as row from project p
      where (select count(*) from member m where m.project_id = p.id and m.role = 'owner' and m.worker_id = p.owner_id) <> 1`,
    'human without a default project': sql.unsafe`
      select 'worker ' || w.id as row from worker w
      where w.type = 'human' and not exists (select 1 from project p where p.owner_id = w.id and p.is_default)`,
    'idempotency key claimed but never completed': sql.unsafe`
      select 'key ' || key as row from idempotency_key where completed_at is null or status_code is null`,
  };
  const found: string[] = [];
  for (const [what, query] of Object.entries(checks)) {
    const rows = await pool.any(query);
    for (const r of rows) found.push(`${what}: ${(r as { row: string }).row}`);
  }
  return found;
}

export interface World {
  projectId: number;
  projectEtag: string;
  taskIds: number[];
  subtaskId: number;
  agentId: number;
  memberId: number;
  /** Worker ids that are members of the project (owner first). */
  memberWorkerIds: number[];
}

/** A project owned by `owner` with a member, an agent, a few tasks in several states and a subtask. */
export async function buildWorld(owner: ApiUser, member: ApiUser, tag: string): Promise<World> {
  const me = await member.request('GET', '/api/me');
  const ownerMe = await owner.request('GET', '/api/me');
  const project = await owner.request('POST', '/api/projects', { body: { slug: `world-${tag}`, name: `World ${tag}` } });
  expect(project.status).toBe(201);
  const projectId = project.body.id as number;
  const added = await owner.request('POST', `/api/projects/${projectId}/members`, { body: { user_id: member.sub } });
  expect(added.status).toBe(201);
  const agent = await owner.request('POST', '/api/agents', { body: { handle: `@agent-${tag}`, name: `Agent ${tag}`, agent_type: 'claude' } });
  expect(agent.status).toBe(201);
  const agentMember = await owner.request('POST', `/api/projects/${projectId}/members`, { body: { agent_id: agent.body.id } });
  expect(agentMember.status).toBe(201);
  const taskIds: number[] = [];
  for (const [i, status] of (['pending', 'in_progress', 'review', 'blocked'] as const).entries()) {
    const task = await owner.request('POST', `/api/projects/${projectId}/tasks`, {
      body: { title: `Task ${i} of ${tag}`, assignee_id: me.body.worker.id, tags: ['a', `t${i}`], due_date: `2026-0${i + 1}-15T09:00:00Z` },
    });
    expect(task.status).toBe(201);
    const id = task.body.id as number;
    if (status === 'in_progress' || status === 'review') await owner.request('PATCH', `/api/tasks/${id}/status`, { body: { status: 'in_progress' } });
    if (status === 'review') await owner.request('PATCH', `/api/tasks/${id}/status`, { body: { status: 'review' } });
    if (status === 'blocked') await owner.request('PATCH', `/api/tasks/${id}/status`, { body: { status: 'blocked' } });
    taskIds.push(id);
  }
  const sub = await owner.request('POST', `/api/tasks/${taskIds[0]}/subtasks`, { body: { title: `Subtask of ${tag}` } });
  expect(sub.status).toBe(201);
  const current = await owner.request('GET', `/api/projects/${projectId}`);
  return {
    projectId,
    projectEtag: current.headers.get('etag')!,
    taskIds,
    subtaskId: sub.body.id,
    agentId: agent.body.id,
    memberId: added.body.id,
    memberWorkerIds: [ownerMe.body.worker.id, me.body.worker.id, agent.body.id],
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Counts outcomes by class (2xx, 4xx, 503, …) for the README's Reliability numbers. */
export class Tally {
  readonly byClass = new Map<string, number>();
  sent = 0;
  add(label: string): void {
    this.sent++;
    this.byClass.set(label, (this.byClass.get(label) ?? 0) + 1);
  }
  toString(): string {
    return `${this.sent} sent: ${[...this.byClass].sort().map(([k, v]) => `${k}=${v}`).join(', ')}`;
  }
}

/**
 * What the server itself counted (taskflow_http_requests_total on /metrics), by status: the request numbers in
 * README (Reliability). Printed by each suite when it ends.
 */
export async function serverTally(t: TestApp, label: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  const byStatus: Record<string, number> = {};
  for (const m of text.matchAll(/^taskflow_http_requests_total\{[^}]*status="(\d+)"[^}]*\} (\d+)/gm)) {
    byStatus[m[1]!] = (byStatus[m[1]!] ?? 0) + Number(m[2]);
  }
  const total = Object.values(byStatus).reduce((a, b) => a + b, 0);
  const cls = (c: string) => Object.entries(byStatus).filter(([s]) => s.startsWith(c)).reduce((a, [, n]) => a + n, 0);
  const detail = Object.entries(byStatus).sort().map(([s, n]) => `${s}=${n}`).join(' ');
  console.log(`${label}: ${total} requests answered — 2xx ${cls('2')}, 4xx ${cls('4')}, 5xx ${cls('5')} (${detail})`);
  return byStatus;
}
