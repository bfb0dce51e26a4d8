/** Agent API keys: minting, listing, revoking, who may, what a key can and cannot do, and the audit trail. */
import { createHash } from 'node:crypto';
import { sql } from 'slonik';
import { z } from 'zod';
import { contract, operationsMarked } from '../../src/app.js';
import { keyedAgent, type KeyedAgent } from '../helpers/agents.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTask, expectProblem, forceStatus, newProject, signIn, type SignedIn } from '../tasks/support.js';

let t: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let project: number;
let agent: KeyedAgent;

beforeAll(async () => {
  t = await startTestApp();
  alice = await signIn(t, 'alice');
  bob = await signIn(t, 'bob');
  project = await newProject(t, alice, [bob]);
  agent = await keyedAgent(t, alice, [project]);
});
afterAll(() => t.close());

const bearer = (secret: string) => ({ headers: { authorization: `Bearer ${secret}` } });
const KeyRow = z.object({ prefix: z.string(), secret_hash: z.instanceof(Buffer), last_used_at: z.string().nullable() });
const keyRow = (id: number) =>
  t.pool.one(sql.type(KeyRow)`select prefix, secret_hash, last_used_at from agent_key where id = ${id}`);

describe('minting and listing', () => {
  it('shows the secret once, stores only its SHA-256 and a display prefix', async () => {
    const { key } = agent;
    expect(key.secret).toMatch(/^tfa_[A-Za-z0-9_-]{43}$/);
    expect(key).toMatchObject({ agent_id: agent.id, name: 'test runner', prefix: key.secret.slice(0, 12), last_used_at: null, revoked_at: null });
    const row = await keyRow(key.id);
    expect(row.prefix).toBe(key.secret.slice(0, 12));
    expect(row.secret_hash.equals(createHash('sha256').update(key.secret).digest())).toBe(true);
    const list = await alice.request('GET', `/api/agents/${agent.id}/keys`);
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([expect.objectContaining({ id: key.id, prefix: key.prefix })]);
    expect(JSON.stringify(list.body)).not.toContain(key.secret);
  });

  it('records agent_key_created without the secret', async () => {
    const rows = await t.pool.any(sql.type(z.object({ action: z.string(), details: z.record(z.string(), z.unknown()) }))`
      select action, details from audit_log where entity_type = 'agent' and entity_id = ${agent.id} and action like 'agent_key%'`);
    expect(rows).toEqual([{ action: 'agent_key_created', details: expect.objectContaining({ key_id: agent.key.id, prefix: agent.key.prefix }) }]);
    expect(JSON.stringify(rows)).not.toContain(agent.key.secret);
  });

  it('refuses an expiry in the past and a blank name, naming the field', async () => {
    const past = await alice.request('POST', `/api/agents/${agent.id}/keys`, { body: { name: 'old', expires_at: '2020-01-01T00:00:00Z' } });
    expect(expectProblem(past, 422, 'validation-failed').errors).toEqual([expect.objectContaining({ pointer: '/body/expires_at' })]);
    const blank = await alice.request('POST', `/api/agents/${agent.id}/keys`, { body: { name: '' } });
    expect(expectProblem(blank, 422, 'validation-failed').errors).toEqual([expect.objectContaining({ pointer: '/body/name' })]);
  });

  it('lets the creator and owners of the agent’s projects manage keys, nobody else', async () => {
    const carol = await signIn(t, 'carol');
    const carols = await newProject(t, carol);
    expectProblem(await carol.request('GET', `/api/agents/${agent.id}/keys`), 403, 'not-agent-manager');
    expectProblem(await bob.request('POST', `/api/agents/${agent.id}/keys`, { body: { name: 'bob' } }), 403, 'not-agent-manager');
    expectProblem(await bob.request('DELETE', `/api/agents/${agent.id}/keys/${agent.key.id}`), 403, 'not-agent-manager');
    await alice.request('POST', `/api/projects/${project}/members`, { body: { user_id: 'carol' } });
    expectProblem(await carol.request('GET', `/api/agents/${agent.id}/keys`), 403, 'not-agent-manager'); // a member, not an owner
    await t.pool.query(sql.unsafe`insert into member (project_id, worker_id) values (${carols}, ${agent.id})`);
    expect((await carol.request('GET', `/api/agents/${agent.id}/keys`)).status).toBe(200); // owner of a project the agent is in
    const mallory = await signIn(t, 'mallory', { tenant: 'other' });
    expectProblem(await mallory.request('GET', `/api/agents/${agent.id}/keys`), 404, 'agent-not-found');
    expectProblem(await alice.request('DELETE', `/api/agents/${agent.id}/keys/999999`), 404, 'agent-key-not-found');
  });
});

describe('acting as the agent', () => {
  it('is the agent worker: /api/me, exactly its projects, and last_used_at', async () => {
    const me = await agent.request('GET', '/api/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ user_id: null, default_project_id: null, worker: { id: agent.id, handle: agent.handle, type: 'agent' } });
    const projects = await agent.request('GET', '/api/projects');
    expect(projects.body.items.map((p: { id: number }) => p.id).sort()).toEqual(
      [...(await t.pool.anyFirst(sql.type(z.object({ project_id: z.number() }))`select project_id from member where worker_id = ${agent.id}`))].sort(),
    );
    expect(projects.body.items.map((p: { id: number }) => p.id)).not.toContain(alice.projectId);
    expect((await keyRow(agent.key.id)).last_used_at).not.toBeNull();
  });

  it('records actor_type agent and its handle on what it changes', async () => {
    const task = await createTask(alice, project, { title: 'Agent work' });
    await forceStatus(t, task.id, 'in_progress');
    const res = await agent.request('PATCH', `/api/tasks/${task.id}/progress`, { body: { progress_percent: 30 } });
    expect(res.status).toBe(200);
    const audit = await alice.request('GET', `/api/tasks/${task.id}/audit`);
    expect(audit.body.items[0]).toMatchObject({ action: 'progress_updated', actor_id: agent.id, actor_handle: agent.handle, actor_type: 'agent', client: null });
  });

  it('records the OAuth client a human token names (azp, else client_id)', async () => {
    const task = await createTask(alice, project, { title: 'Via a client' });
    for (const [claim, client] of [['azp', 'taskflow-web'], ['client_id', 'claude-desktop']] as const) {
      const token = await t.sso.mint({ sub: 'alice', email: 'alice@example.test', name: 'alice', [claim]: client });
      const res = await t.request('PATCH', `/api/tasks/${task.id}`, { ...bearer(token), body: { title: `Via ${client}` } });
      expect(res.status).toBe(200);
      const audit = await alice.request('GET', `/api/tasks/${task.id}/audit`);
      expect(audit.body.items[0]).toMatchObject({ action: 'task_updated', actor_type: 'human', actor_id: alice.workerId, client });
    }
  });
});

describe('keys that do not work', () => {
  const refusal = (res: { status: number; headers: Headers; body: any }) => {
    const problem = expectProblem(res as never, 401, 'unauthorized');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="taskflow", error="invalid_token"/);
    return { detail: problem.detail, challenge: res.headers.get('www-authenticate') };
  };

  it('answers unknown, revoked and expired keys with the same 401', async () => {
    const unknown = refusal(await t.request('GET', '/api/me', bearer(`tfa_${'A'.repeat(43)}`)));
    const revokedAgent = await keyedAgent(t, alice, [project]);
    expect((await alice.request('DELETE', `/api/agents/${revokedAgent.id}/keys/${revokedAgent.key.id}`)).status).toBe(204);
    const revoked = refusal(await revokedAgent.request('GET', '/api/me'));
    const expiredAgent = await keyedAgent(t, alice, [project]);
    await t.pool.query(sql.unsafe`update agent_key set expires_at = now() - interval '1 second' where id = ${expiredAgent.key.id}`);
    const expired = refusal(await expiredAgent.request('GET', '/api/me'));
    expect(revoked).toEqual(unknown);
    expect(expired).toEqual(unknown);
  });

  it('stops accepting a revoked key within 5 seconds of revocation, and revoking twice is a no-op', async () => {
    const a = await keyedAgent(t, alice, [project]);
    expect((await a.request('GET', '/api/me')).status).toBe(200); // now remembered as verified
    expect((await alice.request('DELETE', `/api/agents/${a.id}/keys/${a.key.id}`)).status).toBe(204);
    const revokedAt = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < 7_000) {
      status = (await a.request('GET', '/api/me')).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThanOrEqual(5_500);
    expect((await alice.request('DELETE', `/api/agents/${a.id}/keys/${a.key.id}`)).status).toBe(204);
    const list = await alice.request('GET', `/api/agents/${a.id}/keys`);
    expect(list.body.items[0].revoked_at).not.toBeNull();
    const revocations = await t.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
      select count(*)::int as n from audit_log where entity_id = ${a.id} and action = 'agent_key_revoked'`);
    expect(revocations).toBe(1);
  });
});

describe('failed key attempts and the per-IP limit', () => {
  let limited: TestApp;
  beforeAll(async () => {
    limited = await startTestApp({ env: { RATE_LIMIT_ANONYMOUS_PER_MINUTE: '3' } });
  });
  afterAll(() => limited.close());

  it('counts bad keys like bad tokens: 429 after the budget, a valid key still passes', async () => {
    const owner = await signIn(limited, 'owner');
    const good = await keyedAgent(limited, owner, []);
    const bad = () => limited.request('GET', '/api/me', bearer(`tfa_${'x'.repeat(43)}`));
    for (let i = 0; i < 3; i++) expect((await bad()).status).toBe(401);
    const refused = await bad();
    expectProblem(refused, 429, 'rate-limited');
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await good.request('GET', '/api/me')).status).toBe(200);
  });
});

describe('forbidden for agents', () => {
  const EXPECTED = [
    'createAgent', 'updateAgent', 'deleteAgent', 'createAgentKey', 'listAgentKeys', 'revokeAgentKey',
    'createProject', 'deleteProject', 'addProjectMember', 'removeProjectMember', 'approveTask', 'rejectTask',
  ];

  it('the contract marks exactly the operations of its security table', () => {
    expect([...operationsMarked(contract, 'x-forbidden-for-agents')].sort()).toEqual([...EXPECTED].sort());
    const table = (contract.components!.securitySchemes!.bearerAuth as { description: string }).description;
    for (const op of EXPECTED) expect(table).toContain(`\`${op}\``);
  });

  it.each([
    ['createAgent', 'POST', (): string => '/api/agents', { handle: '@sneaky', name: 'Sneaky', agent_type: 'custom' }],
    ['updateAgent', 'PATCH', (): string => `/api/agents/${agent.id}`, { name: 'Renamed' }],
    ['deleteAgent', 'DELETE', (): string => `/api/agents/${agent.id}`, undefined],
    ['createAgentKey', 'POST', (): string => `/api/agents/${agent.id}/keys`, { name: 'another' }],
    ['listAgentKeys', 'GET', (): string => `/api/agents/${agent.id}/keys`, undefined],
    ['revokeAgentKey', 'DELETE', (): string => `/api/agents/${agent.id}/keys/${agent.key.id}`, undefined],
    ['createProject', 'POST', (): string => '/api/projects', { slug: 'agent-made', name: 'Agent made' }],
    ['deleteProject', 'DELETE', (): string => `/api/projects/${project}`, undefined],
    ['addProjectMember', 'POST', (): string => `/api/projects/${project}/members`, { user_id: 'bob' }],
    ['removeProjectMember', 'DELETE', (): string => `/api/projects/${project}/members/1`, undefined],
    ['approveTask', 'POST', (): string => `/api/tasks/1/approve`, undefined],
    ['rejectTask', 'POST', (): string => `/api/tasks/1/reject`, { reason: 'Not good enough' }],
  ] as const)('%s → 403 forbidden-for-agents, nothing written', async (operationId, method, path, body) => {
    const before = await t.pool.oneFirst(sql.type(z.object({ n: z.number() }))`select count(*)::int as n from audit_log`);
    const res = await agent.request(method, path(), body === undefined ? {} : { body });
    const problem = expectProblem(res, 403, 'forbidden-for-agents');
    expect(problem.detail).toContain(operationId);
    expect(await t.pool.oneFirst(sql.type(z.object({ n: z.number() }))`select count(*)::int as n from audit_log`)).toBe(before);
  });
});
