import { sql } from 'slonik';
import { z } from 'zod';
import { encodeCursor } from '../../src/http/paging.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createAgent, problemType, signIn, type Agent } from '../projects/support.js';

interface AgentPage {
  items: Agent[];
  next_cursor: string | null;
}

describe('listAgents', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  const pageAll = async (user: { request: TestApp['request'] }, limit: number) => {
    const ids: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: AgentPage } = await user.request<AgentPage>('GET', '/api/agents', {
        query: { limit, ...(cursor ? { cursor } : {}) },
      });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(limit);
      ids.push(...res.body.items.map((a) => a.id));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor);
    return { ids, pages };
  };

  it("lists the tenant's agents only — no humans, nothing of another tenant — oldest first", async () => {
    const alice = await signIn(t, 'alice');
    const bob = await signIn(t, 'bob');
    const erin = await signIn(t, 'erin', { tenant: 'acme' });
    const first = await createAgent(alice, { handle: '@first', capabilities: ['triage'] });
    const second = await createAgent(bob, { handle: '@second' });
    await createAgent(erin, { handle: '@foreign' });

    for (const user of [alice, bob]) {
      const res = await user.request<AgentPage>('GET', '/api/agents');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ items: [first, second], next_cursor: null });
    }
    expect((await erin.request<AgentPage>('GET', '/api/agents')).body.items.map((a) => a.handle)).toEqual(['@foreign']);
  });

  it('orders by created_at, so an imported agent with an older timestamp comes first, and pages without gaps or duplicates', async () => {
    const dana = await signIn(t, 'dana', { tenant: 'paging' });
    const created: number[] = [];
    for (let i = 0; i < 5; i++) created.push((await createAgent(dana)).id);
    // Imported history keeps its original created_at (src/import), with sub-millisecond precision.
    const imported = await t.pool.oneFirst(sql.type(z.object({ id: z.number() }))`
      insert into worker (tenant_id, type, handle, name, agent_type, created_at, updated_at)
      values ('paging', 'agent', '@imported', 'Imported', 'custom', '2020-01-01T00:00:00.123456Z', '2020-01-01T00:00:00.123456Z')
      returning id`);
    // Two agents in the same millisecond: only the exact cursor keeps both.
    await t.pool.query(sql.unsafe`
      insert into worker (tenant_id, type, handle, name, agent_type, created_at, updated_at)
      values ('paging', 'agent', '@same-ms-1', 'S1', 'custom', '2021-01-01T00:00:00.000100Z', now()),
             ('paging', 'agent', '@same-ms-2', 'S2', 'custom', '2021-01-01T00:00:00.000900Z', now())`);
    const { ids, pages } = await pageAll(dana, 2);
    expect(pages).toBe(4);
    expect(ids).toHaveLength(8);
    expect(new Set(ids).size).toBe(8);
    expect(ids[0]).toBe(imported);
    expect(ids.slice(3)).toEqual(created);
  });

  it.each([
    ['a limit over 100', { limit: 101 }, '/query/limit'],
    ['a garbage cursor', { cursor: '!!!' }, '/query/cursor'],
    ["a project list's cursor", { cursor: encodeCursor('projects', [1]) }, '/query/cursor'],
    ['a forged cursor', { cursor: encodeCursor('agents', ['yesterday', 1]) }, '/query/cursor'],
  ])('answers 422 for %s', async (_case, query, pointer) => {
    const alice = await signIn(t, 'alice');
    const res = await alice.request('GET', '/api/agents', { query });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ type: problemType('validation-failed'), errors: [expect.objectContaining({ pointer })] });
  });

  it('answers 401 without a token', async () => {
    expect((await t.request('GET', '/api/agents')).status).toBe(401);
  });
});
