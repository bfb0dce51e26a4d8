import { startTestApp, type TestApp } from '../helpers/app.js';
import { createAgent, problemType, signIn } from '../projects/support.js';

describe('getAgent', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('returns an agent of the tenant to any of its users, with the ETag of its version', async () => {
    const alice = await signIn(t, 'alice');
    const bob = await signIn(t, 'bob');
    const agent = await createAgent(alice, { handle: '@claude-reviewer', capabilities: ['code-review'] });
    for (const user of [alice, bob]) {
      const res = await user.api.GET('/api/agents/{agent_id}', { params: { path: { agent_id: agent.id } } });
      expect(res.response.status).toBe(200);
      expect(res.response.headers.get('etag')).toBe('"1"');
      expect(res.data).toEqual(agent);
    }
  });

  it('If-None-Match with the current ETag: 304 without a body; a stale one: 200', async () => {
    const alice = await signIn(t, 'alice');
    const agent = await createAgent(alice);
    const cached = await alice.request('GET', `/api/agents/${agent.id}`, { headers: { 'if-none-match': '"1"' } });
    expect(cached.status).toBe(304);
    expect(cached.headers.get('etag')).toBe('"1"');
    expect(cached.body).toBeUndefined();
    const stale = await alice.request('GET', `/api/agents/${agent.id}`, { headers: { 'if-none-match': '"0"' } });
    expect(stale.status).toBe(200);
    expect(stale.body).toEqual(agent);
  });

  it("answers the same 404 agent-not-found for a missing id, a human's worker id and another tenant's agent", async () => {
    const alice = await signIn(t, 'alice');
    const erin = await signIn(t, 'erin', { tenant: 'acme' });
    const foreign = await createAgent(erin);
    for (const id of [foreign.id + 1000, alice.me.worker.id, foreign.id]) {
      const res = await alice.request('GET', `/api/agents/${id}`);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ type: problemType('agent-not-found'), detail: `Agent ${id} does not exist in your tenant` });
    }
  });

  it('answers 422 for an id that is not a positive integer, and 401 without a token', async () => {
    const alice = await signIn(t, 'alice');
    const bad = await alice.request('GET', '/api/agents/-1');
    expect(bad.status).toBe(422);
    expect(bad.body.errors).toContainEqual(expect.objectContaining({ pointer: '/path/agent_id' }));
    expect((await t.request('GET', '/api/agents/1')).status).toBe(401);
  });
});
