import { actorOf, recordAudit } from '../audit/index.js';
import { generateAgentKey } from '../auth/index.js';
import type { Db } from '../db/index.js';
import type { HandlersFor } from '../http/handler.js';
import { ProblemError } from '../http/problem.js';
import type { Principal } from '../http/principal.js';
import { findManagedAgent, insertAgentKey, listAgentKeyRows, revokeAgentKeyRow, type AgentKeyRow } from './agent-keys.sql.js';

const toAgentKey = (row: AgentKeyRow) => ({
  id: row.id,
  agent_id: row.agentId,
  name: row.name,
  prefix: row.prefix,
  created_at: row.createdAt,
  last_used_at: row.lastUsedAt,
  expires_at: row.expiresAt,
  revoked_at: row.revokedAt,
});

/** The agent, if the caller may manage its keys: 404 outside the tenant, 403 for a human who may not. */
async function requireAgentManager(db: Db, who: Principal, agentId: number) {
  const agent = Number.isSafeInteger(agentId) ? await findManagedAgent(db, who.tenantId, agentId, who.workerId) : null;
  if (!agent) throw new ProblemError('agent-not-found', { detail: `Agent ${agentId} does not exist in your tenant` });
  if (!agent.mayManage) {
    throw new ProblemError('not-agent-manager', {
      detail: `${who.handle} did not register ${agent.handle} and owns none of its projects`,
    });
  }
  return agent;
}

export const agentKeyHandlers = () =>
  ({
    listAgentKeys: async ({ db, principal: who, params }) => {
      const agent = await requireAgentManager(db, who, params.agent_id);
      const rows = await listAgentKeyRows(db, agent.id);
      return { status: 200, body: { items: rows.map(toAgentKey) } };
    },

    createAgentKey: async ({ db, principal: who, params, body }) => {
      const name = body.name.trim();
      const expiresAt = body.expires_at ?? null;
      if (expiresAt !== null && Date.parse(expiresAt) <= Date.now()) {
        throw new ProblemError('validation-failed', {
          detail: 'The expiry is in the past',
          errors: [{ pointer: '/body/expires_at', message: 'must be in the future' }],
        });
      }
      return db.transaction(async (tx) => {
        const agent = await requireAgentManager(tx, who, params.agent_id);
        const key = generateAgentKey();
        const row = await insertAgentKey(tx, {
          tenantId: who.tenantId, agentId: agent.id, name, prefix: key.prefix, hash: key.hash, expiresAt, createdById: who.workerId,
        });
        await recordAudit(tx, actorOf(who), {
          projectId: null, entityType: 'agent', entityId: agent.id, action: 'agent_key_created',
          details: { key_id: row.id, name: row.name, prefix: row.prefix, expires_at: row.expiresAt },
        });
        return {
          status: 201 as const,
          headers: { Location: `/api/agents/${agent.id}/keys/${row.id}` },
          body: { ...toAgentKey(row), last_used_at: null, revoked_at: null, secret: key.secret },
        };
      });
    },

    revokeAgentKey: async ({ db, principal: who, params }) =>
      db.transaction(async (tx) => {
        const agent = await requireAgentManager(tx, who, params.agent_id);
        const row = await revokeAgentKeyRow(tx, agent.id, params.key_id);
        if (!row) throw new ProblemError('agent-key-not-found', { detail: `Agent ${agent.id} has no API key ${params.key_id}` });
        if (row.wasActive) {
          await recordAudit(tx, actorOf(who), {
            projectId: null, entityType: 'agent', entityId: agent.id, action: 'agent_key_revoked',
            details: { key_id: row.id, name: row.name, prefix: row.prefix },
          });
        }
        return { status: 204 as const, body: undefined };
      }),
  }) satisfies HandlersFor<'listAgentKeys' | 'createAgentKey' | 'revokeAgentKey'>;
