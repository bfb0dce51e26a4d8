/** createAgentKey: a key shown once and stored as a hash, audited without the secret; who may mint; 422, 404, 401. */
import { createHash } from 'node:crypto';
import { sql } from 'slonik';
import { z } from 'zod';
import type { components } from '../../generated/api.js';
import { keyedAgent, type KeyedAgent } from '../helpers/agents.js';
import type { TestApp } from '../helpers/app.js';
import { expectBodyRefusals, expectProblem, rowCounts, setupTestApp, signIn, type SignedIn } from '../helpers/factories.js';

let t: TestApp;
let alice: SignedIn; // created the agent, owns its project
let bob: SignedIn; // a member of the project, not an owner
let project: number;
let agent: KeyedAgent; // with one key, minted by alice

beforeAll(async () => {
  ({ t, alice, bob, project } = await setupTestApp());
  agent = await keyedAgent(t, alice, [project]);
});
afterAll(() => t.close());

type AgentKeyCreated = components['schemas']['AgentKeyCreated'];

const KeyRow = z.object({ prefix: z.string(), secret_hash: z.instanceof(Buffer), last_used_at: z.string().nullable() });
const keyRow = (id: number) =>
  t.pool.one(sql.type(KeyRow)`select prefix, secret_hash, last_used_at from agent_key where id = ${id}`);

describe('createAgentKey', () => {
  it('shows the secret once, stores only its SHA-256 and a display prefix', async () => {
    const { key } = agent;
    expect(key.secret).toMatch(/^tfa_[A-Za-z0-9_-]{43}$/);
    expect(key).toMatchObject({ agent_id: agent.id, name: 'test runner', prefix: key.secret.slice(0, 12), last_used_at: null, revoked_at: null });
    const row = await keyRow(key.id);
    expect(row.prefix).toBe(key.secret.slice(0, 12));
    expect(row.secret_hash.equals(createHash('sha256').update(key.secret).digest())).toBe(true);
  });

  it('records agent_key_created without the secret', async () => {
    const rows = await t.pool.any(sql.type(z.object({ action: z.string(), details: z.record(z.string(), z.unknown()) }))`
      select action, details from audit_log where entity_type = 'agent' and entity_id = ${agent.id} and action like 'agent_key%'`);
    expect(rows).toEqual([{ action: 'agent_key_created', details: expect.objectContaining({ key_id: agent.key.id, prefix: agent.key.prefix }) }]);
    expect(JSON.stringify(rows)).not.toContain(agent.key.secret);
  });

  it('takes an expiry in the future and answers it', async () => {
    const expires = new Date(Date.now() + 86_400_000).toISOString();
    const res = await alice.request<AgentKeyCreated>('POST', `/api/agents/${agent.id}/keys`, { body: { name: 'nightly', expires_at: expires } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ agent_id: agent.id, name: 'nightly', revoked_at: null });
    expect(Date.parse(res.body.expires_at!)).toBe(Date.parse(expires));
    expect(res.body.secret).not.toBe(agent.key.secret);
  });

  it('refuses an expiry in the past and a blank name, naming the field', async () => {
    const past = await alice.request('POST', `/api/agents/${agent.id}/keys`, { body: { name: 'old', expires_at: '2020-01-01T00:00:00Z' } });
    expect(expectProblem(past, 422, 'validation-failed').errors).toEqual([expect.objectContaining({ pointer: '/body/expires_at' })]);
    const blank = await alice.request('POST', `/api/agents/${agent.id}/keys`, { body: { name: '' } });
    expect(expectProblem(blank, 422, 'validation-failed').errors).toEqual([expect.objectContaining({ pointer: '/body/name' })]);
  });

  it('403 not-agent-manager for a member who is not an owner, 404 for another tenant and a missing agent, 401 without a token; nothing written', async () => {
    const mallory = await signIn(t, 'mallory', { tenant: 'other' });
    const before = await rowCounts(t.pool);
    expectProblem(await bob.request('POST', `/api/agents/${agent.id}/keys`, { body: { name: 'bob' } }), 403, 'not-agent-manager');
    expectProblem(await mallory.request('POST', `/api/agents/${agent.id}/keys`, { body: { name: 'mallory' } }), 404, 'agent-not-found');
    expectProblem(await alice.request('POST', '/api/agents/999999/keys', { body: { name: 'nobody' } }), 404, 'agent-not-found');
    expectProblem(await t.request('POST', `/api/agents/${agent.id}/keys`, { body: { name: 'anonymous' } }), 401, 'unauthorized');
    expect(await rowCounts(t.pool)).toEqual(before);
    await expectBodyRefusals(t, alice, 'POST', `/api/agents/${agent.id}/keys`);
  });
});
