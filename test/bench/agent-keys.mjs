/**
 * The agent-key variant of W1 (W1K): one agent per seeded user, a member of exactly that user's projects, with
 * an API key. W1K sends W1's very requests with the agents' keys instead of the users' JWTs, so the difference
 * between the two is the cost of authenticating by key (issue 15: at most 5 % of throughput).
 */
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { PROJECTS, TENANT, USERS, projectMembers } from './seed.mjs';

/** Creates the agents, memberships and keys; returns the keys' secrets, index k for user k + 1. */
export async function seedAgentKeys(dbUrl) {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    await client.query('begin');
    const secrets = [];
    for (let n = 1; n <= USERS; n++) {
      const { rows } = await client.query(
        `insert into worker (tenant_id, type, handle, name, agent_type, created_by_id)
         values ($1, 'agent', $2, $3, 'claude', (select id from worker where tenant_id = $1 and user_id = $4)) returning id`,
        [TENANT, `@bench-agent-${n}`, `Bench agent ${n}`, `user-${n}`],
      );
      const agentId = rows[0].id;
      for (let p = 1; p <= PROJECTS; p++) {
        if (projectMembers(p).includes(n)) await client.query(`insert into member (project_id, worker_id) values ($1, $2)`, [p, agentId]);
      }
      const secret = `tfa_${randomBytes(32).toString('base64url')}`;
      await client.query(
        `insert into agent_key (tenant_id, agent_id, name, prefix, secret_hash, created_by_id)
         values ($1, $2, 'bench', $3, $4, (select created_by_id from worker where id = $2))`,
        [TENANT, agentId, secret.slice(0, 12), createHash('sha256').update(secret).digest()],
      );
      secrets.push(secret);
    }
    await client.query('commit');
    return secrets;
  } finally {
    await client.end();
  }
}
