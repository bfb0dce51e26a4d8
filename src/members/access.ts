import { sql } from 'slonik';
import { z } from 'zod';
import { Id, Role, type Db } from '../db/index.js';
import { ProblemError } from '../http/problem.js';
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
 * The caller's access to a project. A project that does not exist, is in another tenant or has the caller as
 * no member is the same 404; a member asking for an owner-only action gets 403. `lock` takes a row lock on the
 * project for the rest of the transaction.
 */
export async function requireProjectRole(
  db: Db,
  who: Principal,
  projectId: number,
  needed: 'member' | 'owner' = 'member',
  lock = false,
): Promise<ProjectAccess> {
  const access = await db.maybeOne(sql.type(ProjectAccessRow)`
    select p.id as "projectId", m.role, p.owner_id as "ownerId", p.is_default as "isDefault", p.version
    from project p
    join member m on m.project_id = p.id and m.worker_id = ${who.workerId}
    where p.id = ${projectId} and p.tenant_id = ${who.tenantId}
    ${lock ? sql.fragment`for update of p` : sql.fragment``}`);
  if (!access) throw new ProblemError('project-not-found', { detail: `No project ${projectId} is visible to you` });
  if (needed === 'owner' && access.role !== 'owner') {
    throw new ProblemError('forbidden', { detail: 'Only the project owner may do this' });
  }
  return access;
}
