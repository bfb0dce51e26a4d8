import { sql } from 'slonik';
import { z } from 'zod';
import { AgentType, Id, Timestamp, limitRows, type Db } from '../db/index.js';

const AgentRow = z.object({
  id: Id,
  handle: z.string(),
  name: z.string(),
  agentType: AgentType,
  capabilities: z.array(z.string()),
  version: z.number().int(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  /** created_at in whole microseconds since the epoch: the exact keyset position, which the ISO string is not. */
  createdUs: z.number().int(),
});
export type AgentRow = z.infer<typeof AgentRow>;

const AGENT_COLUMNS = sql.fragment`
  w.id, w.handle, w.name, w.agent_type as "agentType", w.capabilities, w.version,
  w.created_at as "createdAt", w.updated_at as "updatedAt",
  (extract(epoch from w.created_at) * 1000000)::int8 as "createdUs"`;

export interface NewAgent {
  handle: string;
  name: string;
  agent_type: AgentType;
  capabilities?: string[];
}

export interface AgentChanges {
  name?: string;
  agent_type?: AgentType;
  capabilities?: string[];
}

/**
 * A page of the tenant's agents, oldest first (imported agents keep their original created_at, so this is not
 * id order): limit + 1 rows after the key (createdUs, id) of the last row seen.
 */
export const listAgentsPage = (db: Db, tenantId: string, limit: number, after?: readonly [number, number]) =>
  db.any(sql.type(AgentRow)`
    select ${AGENT_COLUMNS}
    from worker w
    where w.tenant_id = ${tenantId} and w.type = 'agent'
      ${after === undefined ? sql.fragment`` : sql.fragment`and (w.created_at, w.id) > (timestamptz 'epoch' + ${after[0]} * interval '1 microsecond', ${after[1]})`}
    order by w.created_at, w.id
    ${limitRows(limit + 1)}`);

/** An agent of the tenant; null for a human's worker id or another tenant's agent. `lock` holds the row for the transaction. */
export const findAgent = (db: Db, tenantId: string, agentId: number, lock = false) =>
  db.maybeOne(sql.type(AgentRow)`
    select ${AGENT_COLUMNS}
    from worker w
    where w.id = ${agentId} and w.tenant_id = ${tenantId} and w.type = 'agent'
    ${lock ? sql.fragment`for update` : sql.fragment``}`);

/**
 * Registers an agent; `createdById` (the human registering it) may manage its keys. A handle any worker of the
 * tenant has violates worker_tenant_handle_key (→ 409 handle-taken).
 */
export const insertAgent = (db: Db, tenantId: string, agent: NewAgent, createdById: number) =>
  db.one(sql.type(AgentRow)`
    insert into worker as w (tenant_id, type, handle, name, agent_type, capabilities, created_by_id)
    values (${tenantId}, 'agent', ${agent.handle}, ${agent.name}, ${agent.agent_type},
            ${sql.array(agent.capabilities ?? [], 'text')}, ${createdById})
    returning ${AGENT_COLUMNS}`);

/** Applies the given changes, bumps version and updated_at; returns the agent as it is now. */
export const updateAgentRow = (db: Db, agentId: number, changes: AgentChanges) => {
  const assignments = [
    ...(changes.name === undefined ? [] : [sql.fragment`name = ${changes.name}`]),
    ...(changes.agent_type === undefined ? [] : [sql.fragment`agent_type = ${changes.agent_type}`]),
    ...(changes.capabilities === undefined ? [] : [sql.fragment`capabilities = ${sql.array(changes.capabilities, 'text')}`]),
    sql.fragment`version = w.version + 1`,
    sql.fragment`updated_at = now()`,
  ];
  return db.one(sql.type(AgentRow)`
    update worker w set ${sql.join(assignments, sql.fragment`, `)}
    where w.id = ${agentId}
    returning ${AGENT_COLUMNS}`);
};

const UsageRow = z.object({ projects: z.number().int(), createdTasks: z.number().int() });

/**
 * What still refers to the agent: the projects it is a member of, and tasks it created (imported history can
 * credit an agent with a task). Either keeps it from being deleted.
 */
export const countAgentUsage = (db: Db, agentId: number) =>
  db.one(sql.type(UsageRow)`
    select (select count(*) from member where worker_id = ${agentId}) as projects,
           (select count(*) from task where created_by_id = ${agentId}) as "createdTasks"`);

export const deleteAgentRow = (db: Db, agentId: number) =>
  db.query(sql.unsafe`delete from worker where id = ${agentId} and type = 'agent'`);
