import { startTestApp, type TestApp } from '../helpers/app.js';
import { auditOf, createAgent, problemType, rowCounts, signIn, type Agent } from '../projects/support.js';

describe('updateAgent', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('changes name, type and capabilities, bumps version and updated_at, and audits only what changed', async () => {
    const alice = await signIn(t, 'alice');
    const agent = await createAgent(alice, { name: 'Reviewer', agent_type: 'claude', capabilities: ['code-review'] });
    const res = await alice.request<Agent>('PATCH', `/api/agents/${agent.id}`, {
      body: { name: 'Reviewer', agent_type: 'gemini', capabilities: ['code-review', 'a11y'] },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"2"');
    expect(res.body).toEqual({ ...agent, agent_type: 'gemini', capabilities: ['code-review', 'a11y'], updated_at: expect.any(String), version: 2 });
    expect(res.body.updated_at > agent.updated_at).toBe(true);
    expect((await alice.request('GET', `/api/agents/${agent.id}`)).body).toEqual(res.body);
    expect((await auditOf(t, 'agent', agent.id)).slice(1)).toEqual([
      expect.objectContaining({
        action: 'agent_updated', project_id: null, actor_id: alice.me.worker.id,
        details: {
          agent_type: { before: 'claude', after: 'gemini' },
          capabilities: { before: ['code-review'], after: ['code-review', 'a11y'] },
        },
      }),
    ]);
  });

  it('replaces capabilities with an empty list', async () => {
    const alice = await signIn(t, 'alice');
    const agent = await createAgent(alice, { capabilities: ['x'] });
    const res = await alice.request<Agent>('PATCH', `/api/agents/${agent.id}`, { body: { capabilities: [] } });
    expect(res.body.capabilities).toEqual([]);
  });

  it('applies a write whose If-Match is current or *, and refuses a stale one with 412', async () => {
    const alice = await signIn(t, 'alice');
    const agent = await createAgent(alice, { name: 'One' });
    expect((await alice.request('PATCH', `/api/agents/${agent.id}`, { body: { name: 'Two' }, headers: { 'if-match': '"1"' } })).status).toBe(200);
    const before = await rowCounts(t.pool);
    const stale = await alice.request('PATCH', `/api/agents/${agent.id}`, { body: { name: 'Lost' }, headers: { 'if-match': '"1"' } });
    expect(stale.status).toBe(412);
    expect(stale.body.type).toBe(problemType('precondition-failed'));
    expect(await rowCounts(t.pool)).toEqual(before);
    expect((await alice.request<Agent>('GET', `/api/agents/${agent.id}`)).body.name).toBe('Two');
    const any = await alice.request('PATCH', `/api/agents/${agent.id}`, { body: { name: 'Three' }, headers: { 'if-match': '*' } });
    expect(any.status).toBe(200);
    expect(any.headers.get('etag')).toBe('"3"');
  });

  it("answers 404 for a human's worker id and another tenant's agent, and changes nothing", async () => {
    const alice = await signIn(t, 'alice');
    const erin = await signIn(t, 'erin', { tenant: 'acme' });
    const foreign = await createAgent(erin, { name: 'Theirs' });
    const before = await rowCounts(t.pool);
    for (const id of [alice.me.worker.id, foreign.id, foreign.id + 1000]) {
      const res = await alice.request('PATCH', `/api/agents/${id}`, { body: { name: 'Hijacked' } });
      expect(res.status).toBe(404);
      expect(res.body.type).toBe(problemType('agent-not-found'));
    }
    expect(await rowCounts(t.pool)).toEqual(before);
    expect((await erin.request<Agent>('GET', `/api/agents/${foreign.id}`)).body.name).toBe('Theirs');
  });

  it.each([
    ['an empty body', {}, '/body'],
    ['a handle (it never changes)', { handle: '@renamed' }, '/body/handle'],
    ['an unknown agent_type', { agent_type: 'gpt' }, '/body/agent_type'],
    ['an empty name', { name: '' }, '/body/name'],
  ])('answers 422 for %s', async (_case, body, pointer) => {
    const alice = await signIn(t, 'alice');
    const agent = await createAgent(alice);
    const res = await alice.request('PATCH', `/api/agents/${agent.id}`, { body });
    expect(res.status).toBe(422);
    expect(res.body.errors).toContainEqual(expect.objectContaining({ pointer }));
    expect(await auditOf(t, 'agent', agent.id)).toHaveLength(1);
  });

  it('answers 401 without a token', async () => {
    expect((await t.request('PATCH', '/api/agents/1', { body: { name: 'x' } })).status).toBe(401);
  });
});
