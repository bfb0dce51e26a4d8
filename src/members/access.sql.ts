import { sql } from 'slonik';
import { z } from 'zod';
import { Id, Role, type Db } from '../db/index.js';
import type { Principal } from '../http/principal.js';

const ProjectAccessRow = z.object({
  projectId: Id,
  role: Role,
  ownerId: Id,
  isDefault: z.boolean(),
  version: z.number().int(),
});
export type ProjectAccess = z.infer<typeof ProjectAccessRow>;

/**
 * The caller's membership of a project in their tenant; null when the project does not exist, is in another
 * tenant or has the caller as no member. `lock` takes a row lock on the project for the rest of the transaction:
 * 'update' (changing the project or its members), or 'share' (a change that must not race a member's removal,
 * which takes the project for update). A shared lock holds the caller's membership row too: a statement that
 * waited for the project re-reads only the rows it locks, so a membership removed meanwhile must be one of them
 * to be seen gone (null: the 404), and the removal waits for the caller's transaction otherwise.
 */
export type ProjectLock = false | 'update' | 'share';

export const findProjectAccess = (db: Db, who: Principal, projectId: number, lock: ProjectLock): Promise<ProjectAccess | null> =>
  db.maybeOne(sql.type(ProjectAccessRow)`
    select p.id as "projectId", m.role, p.owner_id as "ownerId", p.is_default as "isDefault", p.version
    from project p
    join member m on m.project_id = p.id and m.worker_id = ${who.workerId}
    where p.id = ${projectId} and p.tenant_id = ${who.tenantId}
    ${lock === 'update' ? sql.fragment`for update of p` : lock === 'share' ? sql.fragment`for share of p, m` : sql.fragment``}`);
