import { z } from 'zod';
import { actorOf, changedFields, recordAudit } from '../audit/index.js';
import { Id } from '../db/index.js';
import type { HandlersFor } from '../http/handler.js';
import { decodeCursor, toPage } from '../http/paging.js';
import { assertIfMatch, etagOf, notModifiedReply } from '../http/preconditions.js';
import { ProblemError } from '../http/problem.js';
import { countAgentUsage, deleteAgentRow, findAgent, insertAgent, listAgentsPage, updateAgentRow, type AgentRow } from './agents.sql.js';

const DEFAULT_LIMIT = 50;
const SORT = 'agents';
const CursorKey = z.tuple([z.number().int(), Id]);

const toAgent = (row: AgentRow) => ({
  id: row.id,
  handle: row.handle,
  name: row.name,
  agent_type: row.agentType,
  capabilities: row.capabilities,
  created_at: row.createdAt,
  updated_at: row.updatedAt,
  version: row.version,
});

const notFound = (agentId: number) =>
  new ProblemError('agent-not-found', { detail: `Agent ${agentId} does not exist in your tenant` });

export const agentHandlers = () =>
  ({
    listAgents: async ({ db, principal: who, query }) => {
      const limit = query.limit ?? DEFAULT_LIMIT;
      const after = decodeCursor(query.cursor, SORT, CursorKey);
      const rows = await listAgentsPage(db, who.tenantId, limit, after);
      return { status: 200, body: toPage(rows, limit, SORT, (row) => [row.createdUs, row.id], toAgent) };
    },

    createAgent: async ({ db, principal: who, body }) => {
      const agent = await db.transaction(async (tx) => {
        const created = await insertAgent(tx, who.tenantId, body, who.workerId);
        await recordAudit(tx, actorOf(who), {
          projectId: null, entityType: 'agent', entityId: created.id, action: 'agent_created',
          details: { handle: created.handle, name: created.name, agent_type: created.agentType, capabilities: created.capabilities },
        });
        return created;
      });
      return {
        status: 201,
        headers: { Location: `/api/agents/${agent.id}`, ETag: etagOf(agent.version) },
        body: toAgent(agent),
      };
    },

    getAgent: async ({ db, principal: who, params, headers }) => {
      const agent = await findAgent(db, who.tenantId, params.agent_id);
      if (!agent) throw notFound(params.agent_id);
      const etag = etagOf(agent.version);
      return notModifiedReply(headers['if-none-match'], etag) ?? { status: 200, headers: { ETag: etag }, body: toAgent(agent) };
    },

    updateAgent: async ({ db, principal: who, params, headers, body }) => {
      const { agent_id: agentId } = params;
      const agent = await db.transaction(async (tx) => {
        const before = await findAgent(tx, who.tenantId, agentId, true);
        if (!before) throw notFound(agentId);
        assertIfMatch(headers['if-match'], before.version);
        const after = await updateAgentRow(tx, agentId, body);
        await recordAudit(tx, actorOf(who), {
          projectId: null, entityType: 'agent', entityId: agentId, action: 'agent_updated',
          details: changedFields(toAgent(before), toAgent(after), ['name', 'agent_type', 'capabilities']),
        });
        return after;
      });
      return { status: 200, headers: { ETag: etagOf(agent.version) }, body: toAgent(agent) };
    },

    deleteAgent: async ({ db, principal: who, params, headers }) => {
      const { agent_id: agentId } = params;
      await db.transaction(async (tx) => {
        const agent = await findAgent(tx, who.tenantId, agentId, true);
        if (!agent) throw notFound(agentId);
        assertIfMatch(headers['if-match'], agent.version);
        const usage = await countAgentUsage(tx, agentId);
        if (usage.projects > 0) {
          throw new ProblemError('agent-in-use', {
            detail: `${agent.handle} is still a member of ${usage.projects} project(s); remove it from them first`,
          });
        }
        if (usage.createdTasks > 0) {
          throw new ProblemError('agent-in-use', { detail: `${agent.handle} is the creator of ${usage.createdTasks} task(s) and must stay` });
        }
        await deleteAgentRow(tx, agentId);
        await recordAudit(tx, actorOf(who), {
          projectId: null, entityType: 'agent', entityId: agentId, action: 'agent_deleted',
          details: { handle: agent.handle, name: agent.name, agent_type: agent.agentType },
        });
      });
      return { status: 204, body: undefined };
    },
  }) satisfies HandlersFor<'listAgents' | 'createAgent' | 'getAgent' | 'updateAgent' | 'deleteAgent'>;
