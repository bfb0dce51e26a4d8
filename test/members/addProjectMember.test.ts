import { sql } from 'slonik';
import { z } from 'zod';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { addMember, auditOf, createAgent, createProject, problemType, rowCounts, signIn, type Member } from '../projects/support.js';

describe('addProjectMember', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  const membersOf = (projectId: number) =>
    t.pool.any(sql.type(z.object({ worker_id: z.number(), role: z.string() }))`
      select worker_id, role from member where project_id = ${projectId} order by id`);

  it('adds a signed-in human of the tenant by user_id, with Location and a member_added audit entry', async () => {
    const alice = await signIn(t, 'alice');
    const bob = await signIn(t, 'usr_bob', { email: 'bob@example.test', name: 'Bob Chen' });
    const project = await createProject(alice);
    const res = await alice.api.POST('/api/projects/{project_id}/members', {
      params: { path: { project_id: project.id } },
      body: { user_id: 'usr_bob' },
    });
    expect(res.response.status).toBe(201);
    const member = res.data!;
    expect(member).toEqual({
      id: expect.any(Number), worker_id: bob.me.worker.id, handle: '@bob', name: 'Bob Chen',
      type: 'human', role: 'member', joined_at: expect.stringMatching(/Z$/),
    });
    expect(res.response.headers.get('location')).toBe(`/api/projects/${project.id}/members/${member.id}`);
    expect(await membersOf(project.id)).toEqual([
      { worker_id: alice.me.worker.id, role: 'owner' },
      { worker_id: bob.me.worker.id, role: 'member' },
    ]);
    expect(await auditOf(t, 'member', member.id)).toEqual([
      {
        action: 'member_added', entity_type: 'member', entity_id: member.id, project_id: project.id,
        actor_id: alice.me.worker.id, actor_handle: alice.me.worker.handle,
        details: { worker_id: bob.me.worker.id, handle: '@bob', type: 'human' },
      },
    ]);
    // The new member now sees the project.
    expect((await bob.request('GET', `/api/projects/${project.id}`)).status).toBe(200);
  });

  it('adds an agent of the tenant by agent_id', async () => {
    const alice = await signIn(t, 'alice');
    const agent = await createAgent(alice, { handle: '@qwen-triage', name: 'Qwen Triage', agent_type: 'qwen' });
    const project = await createProject(alice);
    const res = await alice.request<Member>('POST', `/api/projects/${project.id}/members`, { body: { agent_id: agent.id } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ worker_id: agent.id, handle: '@qwen-triage', name: 'Qwen Triage', type: 'agent', role: 'member' });
    expect((await auditOf(t, 'member', res.body.id))[0]!.details).toEqual({ worker_id: agent.id, handle: '@qwen-triage', type: 'agent' });
  });

  it('answers 409 already-member for a second membership, the owner included, and writes nothing', async () => {
    const alice = await signIn(t, 'alice');
    const bob = await signIn(t, 'bob');
    const agent = await createAgent(alice);
    const project = await createProject(alice);
    await addMember(alice, project.id, bob);
    await addMember(alice, project.id, { agentId: agent.id });
    const before = await rowCounts(t.pool);
    for (const body of [{ user_id: 'bob' }, { user_id: 'alice' }, { agent_id: agent.id }]) {
      const res = await alice.request('POST', `/api/projects/${project.id}/members`, { body });
      expect(res.status).toBe(409);
      expect(res.body.type).toBe(problemType('already-member'));
    }
    expect(await rowCounts(t.pool)).toEqual(before);
  });

  it.each([
    ['a user who never signed in', () => ({ user_id: 'nobody-yet' }), '/body/user_id'],
    ['a user of another tenant', () => ({ user_id: 'erin' }), '/body/user_id'],
    ['an agent id that does not exist', () => ({ agent_id: 999_999 }), '/body/agent_id'],
    ["a human's worker id as agent_id", (ids: Ids) => ({ agent_id: ids.bobWorker }), '/body/agent_id'],
    ["another tenant's agent", (ids: Ids) => ({ agent_id: ids.foreignAgent }), '/body/agent_id'],
  ])('answers 422 for %s, pointing at the field, and writes nothing', async (_case, bodyOf, pointer) => {
    const alice = await signIn(t, 'alice');
    const bob = await signIn(t, 'bob');
    const erin = await signIn(t, 'erin', { tenant: 'acme' });
    const foreignAgent = await createAgent(erin);
    const project = await createProject(alice);
    const before = await rowCounts(t.pool);
    const res = await alice.request('POST', `/api/projects/${project.id}/members`, {
      body: bodyOf({ bobWorker: bob.me.worker.id, foreignAgent: foreignAgent.id }),
    });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ type: problemType('validation-failed'), errors: [expect.objectContaining({ pointer })] });
    expect(await rowCounts(t.pool)).toEqual(before);
  });

  it.each([
    ['both user_id and agent_id', { user_id: 'bob', agent_id: 1 }],
    ['neither', {}],
    ['an unknown field', { worker_id: 1 }],
    ['an agent_id that is not an integer', { agent_id: 'x' }],
  ])('answers 422 for a body with %s', async (_case, body) => {
    const alice = await signIn(t, 'alice');
    const project = await createProject(alice);
    const res = await alice.request('POST', `/api/projects/${project.id}/members`, { body });
    expect(res.status).toBe(422);
    expect(res.body.type).toBe(problemType('validation-failed'));
    expect(await membersOf(project.id)).toHaveLength(1);
  });

  it('answers 403 to a member who is not the owner, and 404 to a non-member or another tenant, writing nothing', async () => {
    const alice = await signIn(t, 'alice');
    const bob = await signIn(t, 'bob');
    const carol = await signIn(t, 'carol');
    const erin = await signIn(t, 'erin', { tenant: 'acme' });
    const project = await createProject(alice);
    await addMember(alice, project.id, bob);
    const before = await rowCounts(t.pool);

    const asMember = await bob.request('POST', `/api/projects/${project.id}/members`, { body: { user_id: 'carol' } });
    expect(asMember.status).toBe(403);
    expect(asMember.body.type).toBe(problemType('forbidden'));
    for (const user of [carol, erin]) {
      const res = await user.request('POST', `/api/projects/${project.id}/members`, { body: { user_id: user.sub } });
      expect(res.status).toBe(404);
      expect(res.body.type).toBe(problemType('project-not-found'));
    }
    expect(await rowCounts(t.pool)).toEqual(before);
  });

  it('answers 401 without a token', async () => {
    const alice = await signIn(t, 'alice');
    const res = await t.request('POST', `/api/projects/${alice.me.default_project_id}/members`, { body: { user_id: 'x' } });
    expect(res.status).toBe(401);
  });
});

interface Ids {
  bobWorker: number;
  foreignAgent: number;
}
