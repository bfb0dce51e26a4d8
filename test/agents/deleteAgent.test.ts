import { sql } from 'slonik';
import { z } from 'zod';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { addMember, auditOf, createAgent, createProject, insertTasks, problemType, rowCounts, signIn, type Member } from '../projects/support.js';

describe('deleteAgent', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  const exists = (id: number) => t.pool.exists(sql.unsafe`select 1 from worker where id = ${id}`);

  it('deletes an agent; its audit trail stays, with agent_deleted last', async () => {
    const alice = await signIn(t, 'alice');
    const agent = await createAgent(alice, { handle: '@short-lived' });
    const res = await alice.request('DELETE', `/api/agents/${agent.id}`);
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    expect(await exists(agent.id)).toBe(false);
    expect((await alice.request('GET', `/api/agents/${agent.id}`)).status).toBe(404);
    expect(await auditOf(t, 'agent', agent.id)).toEqual([
      expect.objectContaining({ action: 'agent_created' }),
      expect.objectContaining({
        action: 'agent_deleted', project_id: null, actor_id: alice.me.worker.id,
        details: { handle: '@short-lived', name: agent.name, agent_type: 'claude' },
      }),
    ]);
  });

  it('answers 409 agent-in-use while the agent is a member of a project, and deletes it once removed', async () => {
    const alice = await signIn(t, 'alice');
    const agent = await createAgent(alice);
    const project = await createProject(alice);
    const member: Member = await addMember(alice, project.id, { agentId: agent.id });
    const before = await rowCounts(t.pool);
    const res = await alice.request('DELETE', `/api/agents/${agent.id}`);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ type: problemType('agent-in-use'), detail: expect.stringContaining('1 project') });
    expect(await rowCounts(t.pool)).toEqual(before);

    expect((await alice.request('DELETE', `/api/projects/${project.id}/members/${member.id}`)).status).toBe(204);
    expect((await alice.request('DELETE', `/api/agents/${agent.id}`)).status).toBe(204);
  });

  it('answers 409 agent-in-use for an agent credited with creating tasks (imported history) instead of failing', async () => {
    const alice = await signIn(t, 'alice');
    const agent = await createAgent(alice);
    const project = await createProject(alice);
    await insertTasks(t, project.id, 1, { createdBy: agent.id });
    const res = await alice.request('DELETE', `/api/agents/${agent.id}`);
    expect(res.status).toBe(409);
    expect(res.body.type).toBe(problemType('agent-in-use'));
    expect(await exists(agent.id)).toBe(true);
  });

  it('answers 412 for a stale If-Match and deletes with the current one', async () => {
    const alice = await signIn(t, 'alice');
    const agent = await createAgent(alice);
    await alice.request('PATCH', `/api/agents/${agent.id}`, { body: { name: 'Renamed' } });
    const stale = await alice.request('DELETE', `/api/agents/${agent.id}`, { headers: { 'if-match': '"1"' } });
    expect(stale.status).toBe(412);
    expect(await exists(agent.id)).toBe(true);
    expect((await alice.request('DELETE', `/api/agents/${agent.id}`, { headers: { 'if-match': '"2"' } })).status).toBe(204);
  });

  it("answers 404 for a human's worker id and another tenant's agent, deleting nothing", async () => {
    const alice = await signIn(t, 'alice');
    const erin = await signIn(t, 'erin', { tenant: 'acme' });
    const foreign = await createAgent(erin);
    const before = await rowCounts(t.pool);
    for (const id of [alice.me.worker.id, foreign.id]) {
      const res = await alice.request('DELETE', `/api/agents/${id}`, { headers: { 'if-match': '*' } });
      expect(res.status).toBe(404);
      expect(res.body.type).toBe(problemType('agent-not-found'));
    }
    expect(await rowCounts(t.pool)).toEqual(before);
  });

  it('answers 422 for a bad id and 401 without a token', async () => {
    const alice = await signIn(t, 'alice');
    expect((await alice.request('DELETE', '/api/agents/x')).status).toBe(422);
    expect((await t.request('DELETE', '/api/agents/1')).status).toBe(401);
  });
});
