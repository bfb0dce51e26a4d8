/**
 * Agent API keys as a story across operations: who may manage them, what a key can and cannot do, the same 401
 * for every key that does not work, the per-IP limit, and the operations forbidden to agents. Minting, listing and
 * revoking are tested per operation in test/agents/{createAgentKey,listAgentKeys,revokeAgentKey}.test.ts.
 */
import { sql } from 'slonik';
import { z } from 'zod';
import { contract, operationsMarked } from '../../src/app.js';
import { keyedAgent, type KeyedAgent } from '../helpers/agents.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { setupTestApp, createTask, expectProblem, forceStatus, newProject, signIn, type SignedIn } from '../helpers/factories.js';

let t: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let project: number;
let agent: KeyedAgent;

beforeAll(async () => {
  ({ t, alice, bob, project } = await setupTestApp());
  agent = await keyedAgent(t, alice, [project]);
});
afterAll(() => t.close());

const bearer = (secret: string) => ({ headers: { authorization: `Bearer ${secret}` } });
const KeyRow = z.object({ prefix: z.string(), secret_hash: z.instanceof(Buffer), last_used_at: z.string().nullable() });
const keyRow = (id: number) =>
  t.pool.one(sql.type(KeyRow)`select prefix, secret_hash, last_used_at from agent_key where id = ${id}`);

describe('who may manage keys', () => {



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
