import type { Db } from '../db/index.js';
import { ProblemError } from '../http/problem.js';
import type { Principal } from '../http/principal.js';
import { findProjectAccess, type ProjectAccess, type ProjectLock } from './access.sql.js';

export type { ProjectAccess };

/** The 404 for a project that does not exist or that the caller is not a member of (the two are not told apart). */
export const projectNotFound = (projectId: number) =>
  new ProblemError('project-not-found', { detail: `No project ${projectId} is visible to you` });

/**
 * The caller's access to a project. A project that does not exist, is in another tenant or has the caller as
 * no member is the same 404; a member asking for an owner-only action gets 403. `lock` takes a row lock on the
 * project for the rest of the transaction (findProjectAccess).
 */
export async function requireProjectRole(
  db: Db,
  who: Principal,
  projectId: number,
  needed: 'member' | 'owner' = 'member',
  lock: ProjectLock = false,
): Promise<ProjectAccess> {
  const access = await findProjectAccess(db, who, projectId, lock);
  if (!access) throw projectNotFound(projectId);
  if (needed === 'owner' && access.role !== 'owner') {
    throw new ProblemError('forbidden', { detail: 'Only the project owner may do this' });
  }
  return access;
}
