import { sql } from 'slonik';
import { z } from 'zod';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { auditOf, problemType, rowCounts, signIn, type Agent } from '../projects/support.js';

describe('createAgent', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('registers an agent of the tenant with Location, ETag and an agent_created audit entry', async () => {
    const alice = await signIn(t, 'alice');
    const body = { handle: '@qwen-triage', name: 'Qwen Triage', agent_type: 'qwen' as const, capabilities: ['triage', 'labeling'] };
    const res = await alice.api.POST('/api/agents', { body });
    expect(res.response.status).toBe(201);
    const agent = res.data!;
    expect(agent).toEqual({ id: expect.any(Number), ...body, created_at: expect.stringMatching(/Z$/), updated_at: agent.created_at, version: 1 });
    expect(res.response.headers.get('location')).toBe(`/api/agents/${agent.id}`);
    expect(res.response.headers.get('etag')).toBe('"1"');

    const row = await t.pool.one(sql.type(z.object({ tenant_id: z.string(), type: z.string(), user_id: z.string().nullable() }))`
      select tenant_id, type, user_id from worker where id = ${agent.id}`);
    expect(row).toEqual({ tenant_id: 'default', type: 'agent', user_id: null });
    expect(await auditOf(t, 'agent', agent.id)).toEqual([
      {
        action: 'agent_created', entity_type: 'agent', entity_id: agent.id, project_id: null,
        actor_id: alice.me.worker.id, actor_handle: alice.me.worker.handle,
        details: { handle: '@qwen-triage', name: 'Qwen Triage', agent_type: 'qwen', capabilities: ['triage', 'labeling'] },
      },
    ]);
  });

  it('defaults capabilities to an empty list', async () => {
    const alice = await signIn(t, 'alice');
    const res = await alice.request<Agent>('POST', '/api/agents', { body: { handle: '@bare', name: 'Bare', agent_type: 'custom' } });
    expect(res.status).toBe(201);
    expect(res.body.capabilities).toEqual([]);
  });

  it("answers 409 handle-taken for a handle of any worker of the tenant, human or agent, and writes nothing", async () => {
    const alice = await signIn(t, 'alice');
    await alice.request('POST', '/api/agents', { body: { handle: '@taken', name: 'First', agent_type: 'claude' } });
    const before = await rowCounts(t.pool);
    for (const handle of ['@taken', '@alice']) {
      const res = await alice.request('POST', '/api/agents', { body: { handle, name: 'Second', agent_type: 'gemini' } });
      expect(res.status).toBe(409);
      expect(res.body.type).toBe(problemType('handle-taken'));
    }
    expect(await rowCounts(t.pool)).toEqual(before);
  });

  it('lets another tenant use the same handle', async () => {
    const erin = await signIn(t, 'erin', { tenant: 'acme' });
    const res = await erin.request('POST', '/api/agents', { body: { handle: '@taken', name: 'Theirs', agent_type: 'claude' } });
    expect(res.status).toBe(201);
  });

  it.each([
    ['a handle without @', { handle: 'bot', name: 'x', agent_type: 'claude' }, '/body/handle'],
    ['an uppercase handle', { handle: '@Bot', name: 'x', agent_type: 'claude' }, '/body/handle'],
    ['a handle over 50 characters', { handle: '@' + 'b'.repeat(50), name: 'x', agent_type: 'claude' }, '/body/handle'],
    ['an unknown agent_type', { handle: '@gpt', name: 'x', agent_type: 'gpt' }, '/body/agent_type'],
    ['no name', { handle: '@noname', agent_type: 'claude' }, '/body/name'],
    ['21 capabilities', { handle: '@many', name: 'x', agent_type: 'claude', capabilities: Array.from({ length: 21 }, (_, i) => `c${i}`) }, '/body/capabilities'],
    ['an empty capability', { handle: '@empty', name: 'x', agent_type: 'claude', capabilities: [''] }, '/body/capabilities/0'],
    ['an unknown field', { handle: '@extra', name: 'x', agent_type: 'claude', model: 'opus' }, '/body/model'],
  ])('answers 422 for %s and writes nothing', async (_case, body, pointer) => {
    const alice = await signIn(t, 'alice');
    const before = await rowCounts(t.pool);
    const res = await alice.request('POST', '/api/agents', { body });
    expect(res.status).toBe(422);
    expect(res.body.errors).toContainEqual(expect.objectContaining({ pointer }));
    expect(await rowCounts(t.pool)).toEqual(before);
  });

  it('answers 400 for malformed JSON and 401 without a token', async () => {
    const alice = await signIn(t, 'alice');
    const malformed = await alice.request('POST', '/api/agents', { rawBody: '{', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect((await t.request('POST', '/api/agents', { body: { handle: '@anon', name: 'x', agent_type: 'claude' } })).status).toBe(401);
  });
});
