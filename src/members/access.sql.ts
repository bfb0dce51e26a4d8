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
 * tenant or has the caller as no member. `lock` takes a row lock on the project for the rest of the transaction.
 */
export const findProjectAccess = (db: Db, who: Principal, projectId: number, lock: boolean): Promise<ProjectAccess | null> =>
  db.maybeOne(sql.type(ProjectAccessRow)`
    select p.id as "projectId", m.role, p.owner_id as "ownerId", p.is_default as "isDefault", p.version
    from project p
    join member m on m.project_id = p.id and m.worker_id = ${who.workerId}
    where p.id = ${projectId} and p.tenant_id = ${who.tenantId}
    ${lock ? sql.fragment`for update of p` : sql.fragment``}`);
