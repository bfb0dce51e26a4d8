import { z } from 'zod';
import { actorOf, recordAudit } from '../audit/index.js';
import { Id, type Db } from '../db/index.js';
import type { HandlersFor, RequestBody } from '../http/handler.js';
import { decodeCursor, toPage } from '../http/paging.js';
import { ProblemError } from '../http/problem.js';
import type { Principal } from '../http/principal.js';
import { requireProjectRole } from './access.js';
import {
  deleteMember,
  unassignMemberTasks,
  findAgentWorker,
  findHumanWorker,
  insertMember,
  listMembersPage,
  lockMember,
  searchWorkers,
  type MemberRow,
} from './members.sql.js';

const DEFAULT_LIMIT = 50;
const DEFAULT_SEARCH_LIMIT = 10;
const SORT = 'members';

const toMember = (row: MemberRow) => ({
  id: row.id,
  worker_id: row.workerId,
  handle: row.handle,
  name: row.name,
  type: row.type,
  role: row.role,
  joined_at: row.joinedAt,
});

/** The worker a MemberAdd body names: a signed-in human of the tenant or an agent of the tenant, else a 422 on that field. */
async function requireNewMember(db: Db, who: Principal, body: RequestBody<'addProjectMember'>) {
  if ('user_id' in body) {
    const human = await findHumanWorker(db, who.tenantId, body.user_id);
    if (human) return human;
    throw unknownWorker('/body/user_id', 'No user with this id has signed in to your tenant yet');
  }
  const agent = await findAgentWorker(db, who.tenantId, body.agent_id);
  if (agent) return agent;
  throw unknownWorker('/body/agent_id', 'Your tenant has no agent with this id');
}

const unknownWorker = (pointer: string, message: string) =>
  new ProblemError('validation-failed', { detail: message, errors: [{ pointer, message }] });

export const memberHandlers = () =>
  ({
    listProjectMembers: async ({ db, principal: who, params, query }) => {
      await requireProjectRole(db, who, params.project_id);
      const limit = query.limit ?? DEFAULT_LIMIT;
      const afterId = decodeCursor(query.cursor, SORT, z.tuple([Id]))?.[0];
      const rows = await listMembersPage(db, params.project_id, limit, afterId);
      return { status: 200, body: toPage(rows, limit, SORT, (row) => [row.id], toMember) };
    },

    addProjectMember: async ({ db, principal: who, params, body }) => {
      const { project_id: projectId } = params;
      const member = await db.transaction(async (tx) => {
        // Locked so that a concurrent deleteProject leaves this request a plain 404, not a foreign key failure.
        await requireProjectRole(tx, who, projectId, 'owner', 'update');
        const worker = await requireNewMember(tx, who, body);
        const added = await insertMember(tx, projectId, worker.id);
        await recordAudit(tx, actorOf(who), {
          projectId, entityType: 'member', entityId: added.id, action: 'member_added',
          details: { worker_id: worker.id, handle: worker.handle, type: worker.type },
        });
        return added;
      });
      return {
        status: 201,
        headers: { Location: `/api/projects/${projectId}/members/${member.id}` },
        body: toMember(member),
      };
    },

    removeProjectMember: async ({ db, principal: who, params }) => {
      const { project_id: projectId, member_id: memberId } = params;
      await db.transaction(async (tx) => {
        await requireProjectRole(tx, who, projectId, 'owner', 'update');
        const member = await lockMember(tx, projectId, memberId);
        if (!member) throw new ProblemError('member-not-found', { detail: `Project ${projectId} has no member ${memberId}` });
        if (member.role === 'owner') {
          throw new ProblemError('owner-membership', { detail: `${member.handle} owns project ${projectId} and cannot be removed from it` });
        }
        // Each of the worker's tasks here becomes unassigned as a change of its own (a version, an event).
        await unassignMemberTasks(tx, projectId, member.workerId, actorOf(who));
        await deleteMember(tx, memberId);
        await recordAudit(tx, actorOf(who), {
          projectId, entityType: 'member', entityId: memberId, action: 'member_removed',
          details: { worker_id: member.workerId, handle: member.handle, type: member.type },
        });
      });
      return { status: 204, body: undefined };
    },

    searchMembers: async ({ db, principal: who, query }) => {
      if (query.project_id !== undefined) await requireProjectRole(db, who, query.project_id);
      const items = await searchWorkers(db, {
        tenantId: who.tenantId,
        q: query.q,
        projectId: query.project_id,
        limit: query.limit ?? DEFAULT_SEARCH_LIMIT,
      });
      return { status: 200, body: { items: [...items] } };
    },
  }) satisfies HandlersFor<'listProjectMembers' | 'addProjectMember' | 'removeProjectMember' | 'searchMembers'>;
