import { sql } from 'slonik';
import { z } from 'zod';
import { Id, Timestamp, limitRows, type Db } from '../db/index.js';
import type { Principal } from '../http/principal.js';

const ProjectRow = z.object({
  id: Id,
  slug: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  ownerId: Id,
  isDefault: z.boolean(),
  memberCount: z.number().int(),
  taskCount: z.number().int(),
  version: z.number().int(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type ProjectRow = z.infer<typeof ProjectRow>;

const IdRow = z.object({ id: Id });

// The counts are subqueries of the same statement, so a page of projects costs one query whatever its size.
const PROJECT_COLUMNS = sql.fragment`
  p.id, p.slug, p.name, p.description, p.owner_id as "ownerId", p.is_default as "isDefault", p.version,
  p.created_at as "createdAt", p.updated_at as "updatedAt",
  (select count(*) from member c where c.project_id = p.id) as "memberCount",
  (select count(*) from task c where c.project_id = p.id) as "taskCount"`;

export interface NewProject {
  slug: string;
  name: string;
  description?: string | null;
}

export interface ProjectChanges {
  name?: string;
  /** `null` clears the description; absent leaves it unchanged. */
  description?: string | null;
}

/** A page of the projects the caller is a member of, oldest (lowest id) first: limit + 1 rows. */
export const listVisibleProjectsPage = (db: Db, who: Principal, limit: number, afterId?: number) =>
  db.any(sql.type(ProjectRow)`
    select ${PROJECT_COLUMNS}
    from project p
    join member m on m.project_id = p.id and m.worker_id = ${who.workerId}
    where p.tenant_id = ${who.tenantId}
      ${afterId === undefined ? sql.fragment`` : sql.fragment`and p.id > ${afterId}`}
    order by p.id
    ${limitRows(limit + 1)}`);

/** A project the caller is a member of; null if it does not exist, is in another tenant or is not theirs. */
export const findVisibleProject = (db: Db, who: Principal, projectId: number) =>
  db.maybeOne(sql.type(ProjectRow)`
    select ${PROJECT_COLUMNS}
    from project p
    join member m on m.project_id = p.id and m.worker_id = ${who.workerId}
    where p.id = ${projectId} and p.tenant_id = ${who.tenantId}`);

/**
 * Inserts a project owned by the caller together with their owner membership, in one statement; returns its id.
 * A slug already used in the tenant violates project_tenant_slug_key (→ 409 slug-taken in http/errors.ts).
 */
export const insertProject = (db: Db, who: Principal, project: NewProject) =>
  db.oneFirst(sql.type(IdRow)`
    with created as (
      insert into project (tenant_id, slug, name, description, owner_id)
      values (${who.tenantId}, ${project.slug}, ${project.name}, ${project.description ?? null}, ${who.workerId})
      returning id, owner_id
    ), owner as (
      insert into member (project_id, worker_id, role)
      select id, owner_id, 'owner' from created
    )
    select id from created`);

/** Applies the given changes, bumps version and updated_at; returns the project as it is now. */
export const updateProjectRow = (db: Db, projectId: number, changes: ProjectChanges) => {
  const assignments = [
    ...(changes.name === undefined ? [] : [sql.fragment`name = ${changes.name}`]),
    ...(changes.description === undefined ? [] : [sql.fragment`description = ${changes.description}`]),
    sql.fragment`version = p.version + 1`,
    sql.fragment`updated_at = now()`,
  ];
  return db.one(sql.type(ProjectRow)`
    update project p set ${sql.join(assignments, sql.fragment`, `)}
    where p.id = ${projectId}
    returning ${PROJECT_COLUMNS}`);
};

/** Deletes a project; its memberships and tasks (with their subtasks) go by cascade. */
export const deleteProjectRow = (db: Db, projectId: number) =>
  db.query(sql.unsafe`delete from project where id = ${projectId}`);
