import { sql } from 'slonik';
import { z } from 'zod';
import { auditInsertFrom, type Actor } from '../audit/index.js';
import { Id, Role, Timestamp, WorkerType, limitRows, type Db } from '../db/index.js';

const MemberRow = z.object({
  id: Id,
  workerId: Id,
  handle: z.string(),
  name: z.string(),
  type: WorkerType,
  role: Role,
  joinedAt: Timestamp,
});
export type MemberRow = z.infer<typeof MemberRow>;

const WorkerRow = z.object({ id: Id, handle: z.string(), name: z.string(), type: WorkerType });
export type WorkerRow = z.infer<typeof WorkerRow>;

const MEMBER_COLUMNS = sql.fragment`
  m.id, m.worker_id as "workerId", w.handle, w.name, w.type, m.role, m.joined_at as "joinedAt"`;

/** A page of a project's members in the order they joined (the owner first): limit + 1 rows. Visibility is the caller's job. */
export const listMembersPage = (db: Db, projectId: number, limit: number, afterId?: number) =>
  db.any(sql.type(MemberRow)`
    select ${MEMBER_COLUMNS}
    from member m
    join worker w on w.id = m.worker_id
    where m.project_id = ${projectId}
      ${afterId === undefined ? sql.fragment`` : sql.fragment`and m.id > ${afterId}`}
    order by m.id
    ${limitRows(limit + 1)}`);

/**
 * The human worker of a user (JWT sub) who has signed in to the tenant; null if they never did. The share lock
 * keeps the worker in place until the membership is written.
 */
export const findHumanWorker = (db: Db, tenantId: string, userId: string) =>
  db.maybeOne(sql.type(WorkerRow)`
    select w.id, w.handle, w.name, w.type from worker w
    where w.tenant_id = ${tenantId} and w.type = 'human' and w.user_id = ${userId}
    for share`);

/**
 * An agent of the tenant; null for a human's id or another tenant's agent. The share lock makes a concurrent
 * deleteAgent wait for this membership (and then refuse with agent-in-use), or this lookup wait for the delete.
 */
export const findAgentWorker = (db: Db, tenantId: string, agentId: number) =>
  db.maybeOne(sql.type(WorkerRow)`
    select w.id, w.handle, w.name, w.type from worker w
    where w.tenant_id = ${tenantId} and w.type = 'agent' and w.id = ${agentId}
    for share`);

/** Adds a worker as a plain member. A second membership violates member_project_worker_key (→ 409 already-member). */
export const insertMember = (db: Db, projectId: number, workerId: number) =>
  db.one(sql.type(MemberRow)`
    with m as (
      insert into member (project_id, worker_id, role)
      values (${projectId}, ${workerId}, 'member')
      returning id, worker_id, role, joined_at
    )
    select ${MEMBER_COLUMNS}
    from m
    join worker w on w.id = m.worker_id`);

/** A membership of this project, locked; null if the project has no membership with this id. */
export const lockMember = (db: Db, projectId: number, memberId: number) =>
  db.maybeOne(sql.type(MemberRow)`
    select ${MEMBER_COLUMNS}
    from member m
    join worker w on w.id = m.worker_id
    where m.id = ${memberId} and m.project_id = ${projectId}
    for update of m`);

/**
 * Unassigns the worker's tasks in the project, each as a change of its own: a new version (its ETag), `updated_at`,
 * and an `assigned` entry from the worker to nobody by `actor` — what a conditional GET, a sync by
 * `updated_since`, the event streams, webhooks and reminders see. Before the membership goes: removing it would
 * unassign them too (task_assignee_member_fkey, on delete set null), but silently.
 */
export const unassignMemberTasks = (db: Db, projectId: number, workerId: number, actor: Actor) =>
  db.query(sql.unsafe`
    with t as (
      update task set assignee_id = null, version = version + 1, updated_at = now()
      where project_id = ${projectId} and assignee_id = ${workerId}
      returning id, project_id),
    audit as (${auditInsertFrom(actor, sql.identifier(['t']), {
      entityType: 'task', action: 'assigned', projectId: sql.fragment`t.project_id`, entityId: sql.fragment`t.id`,
      details: sql.fragment`jsonb_build_object('assignee_id', jsonb_build_object('before', ${workerId}::int8, 'after', null))`,
    })})
    select 1`);

/** Removes a membership (after unassignMemberTasks). */
export const deleteMember = (db: Db, memberId: number) =>
  db.query(sql.unsafe`delete from member where id = ${memberId}`);

/** `50%_off\` → `50\%\_off\\`: q is matched literally, never as a LIKE pattern. */
const escapeLike = (text: string): string => text.replace(/[\\%_]/g, '\\$&');

export interface WorkerSearch {
  tenantId: string;
  q: string;
  /** Only members of this project (its visibility is the caller's job). */
  projectId?: number;
  limit: number;
}

/**
 * Workers of the tenant whose handle or name contains q, case-insensitively. Those whose handle or name starts
 * with q come first, then by handle.
 */
export const searchWorkers = (db: Db, search: WorkerSearch) => {
  const text = escapeLike(search.q.replace(/^@/, ''));
  const contains = `%${text}%`;
  const startsWith = `${text}%`;
  return db.any(sql.type(WorkerRow)`
    select w.id, w.handle, w.name, w.type
    from worker w
    ${search.projectId === undefined ? sql.fragment`` : sql.fragment`join member m on m.worker_id = w.id and m.project_id = ${search.projectId}`}
    where w.tenant_id = ${search.tenantId}
      and (w.handle ilike ${contains} or w.name ilike ${contains})
    order by (substr(w.handle, 2) ilike ${startsWith} or w.name ilike ${startsWith}) desc, w.handle
    ${limitRows(search.limit)}`);
};
