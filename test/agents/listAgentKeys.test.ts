/** listAgentKeys: an agent's keys by prefix, revoked ones included, never a secret; who may list; 404, 422, 401. */
import type { components } from '../../generated/api.js';
import { keyedAgent, type KeyedAgent } from '../helpers/agents.js';
import type { TestApp } from '../helpers/app.js';
import { addMember, expectProblem, newProject, setupTestApp, signIn, type SignedIn } from '../helpers/factories.js';

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

type AgentKeyList = components['schemas']['AgentKeyList'];

describe('listAgentKeys', () => {
  it('lists the key by its prefix, never with the secret', async () => {
    const { key } = agent;
    const list = await alice.request('GET', `/api/agents/${agent.id}/keys`);
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([expect.objectContaining({ id: key.id, prefix: key.prefix })]);
    expect(JSON.stringify(list.body)).not.toContain(key.secret);
  });

  it('lists revoked and expiring keys too, newest first, with revoked_at and expires_at', async () => {
    const a = await keyedAgent(t, alice, [project]);
    const second = await alice.request('POST', `/api/agents/${a.id}/keys`, { body: { name: 'second', expires_at: '2099-01-01T00:00:00Z' } });
    expect(second.status).toBe(201);
    expect((await alice.request('DELETE', `/api/agents/${a.id}/keys/${a.key.id}`)).status).toBe(204);
    const list = await alice.request<AgentKeyList>('GET', `/api/agents/${a.id}/keys`);
    expect(list.status).toBe(200);
    const byId = new Map(list.body.items.map((k) => [k.id, k]));
    expect([...byId.keys()].sort()).toEqual([a.key.id, second.body.id].sort());
    expect(byId.get(a.key.id)!.revoked_at).not.toBeNull();
    expect(byId.get(second.body.id)).toMatchObject({ name: 'second', revoked_at: null, expires_at: '2099-01-01T00:00:00.000Z' });
    expect(JSON.stringify(list.body)).not.toContain(a.key.secret);
  });

  it('403 not-agent-manager for a member who is not an owner, 200 for the owner of a project the agent is in', async () => {
    expectProblem(await bob.request('GET', `/api/agents/${agent.id}/keys`), 403, 'not-agent-manager');
    const carol = await signIn(t, 'carol');
    const carols = await newProject(t, carol);
    expectProblem(await carol.request('GET', `/api/agents/${agent.id}/keys`), 403, 'not-agent-manager');
    await addMember(t, carols, agent.id);
    expect((await carol.request('GET', `/api/agents/${agent.id}/keys`)).status).toBe(200);
  });

  it('404 agent-not-found for another tenant and a missing agent, 422 for a bad id, 401 without a token', async () => {
    const mallory = await signIn(t, 'mallory', { tenant: 'other' });
    expectProblem(await mallory.request('GET', `/api/agents/${agent.id}/keys`), 404, 'agent-not-found');
    expectProblem(await alice.request('GET', '/api/agents/999999/keys'), 404, 'agent-not-found');
    expect(expectProblem(await alice.request('GET', '/api/agents/abc/keys'), 422, 'validation-failed').errors?.[0]?.pointer).toBe('/path/agent_id');
    expectProblem(await t.request('GET', `/api/agents/${agent.id}/keys`), 401, 'unauthorized');
  });
});
