import { sql } from 'slonik';
import { z } from 'zod';
import { Id, WorkerType, type Db, type Role } from '../db/index.js';

/**
 * The Phase I import's SQL. Rows go in as one jsonb array per statement (jsonb_to_recordset), so a file of
 * thousands of tasks costs one statement per subtask level, not one per task. The audit history is the
 * exception: it goes through recordAudit, the only INSERT into audit_log.
 */

/**
 * Each project the import creates gets a `project_created` entry with these details. `source` is also how a
 * later run tells a project it imported from one the tenant made itself with the same slug.
 */
export const IMPORTED_PROJECT_MARK = { source: 'phase1' } as const;

const ProjectRow = z.object({ id: Id, slug: z.string(), imported: z.boolean() });
const WorkerRow = z.object({ id: Id, handle: z.string(), type: WorkerType });
const TaskKeyRow = z.object({ id: Id, projectId: Id, importKey: z.string() });
const ProjectIdRow = z.object({ projectId: Id });
const Phase1IdRow = z.object({ phase1Id: z.string() });

/** Serialises imports into one tenant: a second run waits, then finds everything the first one wrote. */
export const lockTenantImport = (db: Db, tenantId: string) =>
  db.query(sql.unsafe`select pg_advisory_xact_lock(hashtextextended(${JSON.stringify(['phase1-import', tenantId])}, 0))`);

/** The tenant's projects with these slugs; `imported` when a Phase I import created them. */
export const findProjectsBySlug = (db: Db, tenantId: string, slugs: readonly string[]) =>
  db.any(sql.type(ProjectRow)`
    select p.id, p.slug,
           exists (select 1 from audit_log a
                   where a.project_id = p.id and a.entity_type = 'project' and a.entity_id = p.id
                     and a.action = 'project_created' and a.details @> ${sql.jsonb(IMPORTED_PROJECT_MARK)}) as imported
    from project p
    where p.tenant_id = ${tenantId} and p.slug = any(${sql.array(slugs, 'text')})`);

export type NewProject = { slug: string; name: string; description: string | null };

export const insertProjects = (db: Db, tenantId: string, ownerId: number, projects: readonly NewProject[]) =>
  db.any(sql.type(ProjectRow)`
    insert into project (tenant_id, slug, name, description, owner_id)
    select ${tenantId}, r.slug, r.name, r.description, ${ownerId}
    from jsonb_to_recordset(${sql.jsonb(projects)}) as r(slug text, name text, description text)
    returning id, slug, true as imported`);

/** The tenant's workers with these handles, whoever created them (the API, SSO sign-in, an earlier import). */
export const findWorkersByHandle = (db: Db, tenantId: string, handles: readonly string[]) =>
  db.any(sql.type(WorkerRow)`
    select id, handle, type from worker
    where tenant_id = ${tenantId} and handle = any(${sql.array(handles, 'text')})`);

export type NewWorker = {
  handle: string;
  type: WorkerType;
  /** `phase1:@handle` for a human (see README.md), null for an agent. */
  userId: string | null;
  name: string;
  agentType: string | null;
  capabilities: string[];
  createdAt: string | null;
};

export const insertWorkers = (db: Db, tenantId: string, workers: readonly NewWorker[]) =>
  db.any(sql.type(WorkerRow)`
    insert into worker (tenant_id, type, user_id, handle, name, agent_type, capabilities, created_at, updated_at)
    select ${tenantId}, r.type, r."userId", r.handle, r.name, r."agentType", r.capabilities,
           coalesce(r."createdAt", now()), coalesce(r."createdAt", now())
    from jsonb_to_recordset(${sql.jsonb(workers)})
      as r(handle text, type text, "userId" text, name text, "agentType" text, capabilities text[], "createdAt" timestamptz)
    returning id, handle, type`);

export type NewMember = { projectId: number; workerId: number; role: Role };

/** Adds the memberships that are missing; returns one row per membership it created. */
export const insertMissingMembers = (db: Db, members: readonly NewMember[]) =>
  db.any(sql.type(ProjectIdRow)`
    insert into member (project_id, worker_id, role)
    select r."projectId", r."workerId", r.role
    from jsonb_to_recordset(${sql.jsonb(members)}) as r("projectId" bigint, "workerId" bigint, role text)
    on conflict (project_id, worker_id) do nothing
    returning project_id as "projectId"`);

/** Tasks an earlier import wrote into these projects, by import key. */
export const findImportedTasks = (db: Db, projectIds: readonly number[]) =>
  db.any(sql.type(TaskKeyRow)`
    select id, project_id as "projectId", import_key as "importKey" from task
    where project_id = any(${sql.array(projectIds, 'int8')}) and import_key is not null`);

export type NewTask = {
  projectId: number;
  parentTaskId: number | null;
  title: string;
  description: string | null;
  status: string;
  priority: string;
  progress: number;
  tags: string[];
  assigneeId: number | null;
  dueDate: string | null;
  recurrencePattern: string | null;
  recurrenceMax: number | null;
  createdById: number;
  startedAt: string | null;
  completedAt: string | null;
  createdAt: string;
  updatedAt: string;
  importKey: string;
};

/** One level of the task tree; parents must already be in the table (the same-project foreign key checks it). */
export const insertTasks = (db: Db, tenantId: string, tasks: readonly NewTask[]) =>
  db.any(sql.type(TaskKeyRow)`
    insert into task (tenant_id, project_id, parent_task_id, title, description, status, priority, progress_percent,
                      tags, assignee_id, due_date, recurrence_pattern, recurrence_max, created_by_id,
                      started_at, completed_at, created_at, updated_at, import_key)
    select ${tenantId}, r."projectId", r."parentTaskId", r.title, r.description, r.status, r.priority, r.progress,
           r.tags, r."assigneeId", r."dueDate", r."recurrencePattern", r."recurrenceMax", r."createdById",
           r."startedAt", r."completedAt", r."createdAt", r."updatedAt", r."importKey"
    from jsonb_to_recordset(${sql.jsonb(tasks)}) as r(
      "projectId" bigint, "parentTaskId" bigint, title text, description text, status text, priority text,
      progress smallint, tags text[], "assigneeId" bigint, "dueDate" timestamptz, "recurrencePattern" text,
      "recurrenceMax" integer, "createdById" bigint, "startedAt" timestamptz, "completedAt" timestamptz,
      "createdAt" timestamptz, "updatedAt" timestamptz, "importKey" text)
    returning id, project_id as "projectId", import_key as "importKey"`);

/** Phase I audit ids already in these projects' trails (imported entries carry `details.phase1_id`). */
export const findImportedAuditIds = (db: Db, tenantId: string, projectIds: readonly number[]) =>
  db.anyFirst(sql.type(Phase1IdRow)`
    select details->>'phase1_id' as "phase1Id" from audit_log
    where project_id = any(${sql.array(projectIds, 'int8')}) and tenant_id = ${tenantId} and details ? 'phase1_id'`);
