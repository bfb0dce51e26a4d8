import { encodeCursor } from '../../src/http/paging.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { addMember, createAgent, createProject, problemType, signIn, type Member } from '../projects/support.js';

interface MemberPage {
  items: Member[];
  next_cursor: string | null;
}

describe('listProjectMembers', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('lists humans and agents in the order they joined, the owner first, to every member', async () => {
    const alice = await signIn(t, 'alice', { name: 'Alice Martin' });
    const bob = await signIn(t, 'bob', { name: 'Bob Chen' });
    const reviewer = await createAgent(alice, { handle: '@claude-reviewer', name: 'Claude Reviewer' });
    const project = await createProject(alice);
    const bobMember = await addMember(alice, project.id, bob);
    const agentMember = await addMember(alice, project.id, { agentId: reviewer.id });

    for (const user of [alice, bob]) {
      const res = await user.request<MemberPage>('GET', `/api/projects/${project.id}/members`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        items: [
          {
            id: expect.any(Number), worker_id: alice.me.worker.id, handle: '@alice', name: 'Alice Martin',
            type: 'human', role: 'owner', joined_at: expect.stringMatching(/Z$/),
          },
          bobMember,
          agentMember,
        ],
        next_cursor: null,
      });
    }
    expect(agentMember).toMatchObject({ worker_id: reviewer.id, handle: '@claude-reviewer', type: 'agent', role: 'member' });
  });

  it('pages with limit and cursor without gaps or duplicates', async () => {
    const alice = await signIn(t, 'alice');
    const project = await createProject(alice);
    for (const sub of ['m1', 'm2', 'm3', 'm4']) await addMember(alice, project.id, await signIn(t, sub));
    const ids: number[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: MemberPage } = await alice.request<MemberPage>('GET', `/api/projects/${project.id}/members`, {
        query: { limit: 2, ...(cursor ? { cursor } : {}) },
      });
      ids.push(...res.body.items.map((m) => m.id));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(ids).toHaveLength(5);
    expect(new Set(ids).size).toBe(5);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('answers 404 to a non-member, another tenant and for a missing project', async () => {
    const alice = await signIn(t, 'alice');
    const carol = await signIn(t, 'carol');
    const erin = await signIn(t, 'erin', { tenant: 'acme' });
    const project = await createProject(alice);
    for (const [user, id] of [[carol, project.id], [erin, project.id], [alice, project.id + 1000]] as const) {
      const res = await user.request('GET', `/api/projects/${id}/members`);
      expect(res.status).toBe(404);
      expect(res.body.type).toBe(problemType('project-not-found'));
    }
  });

  it('answers 422 for a bad limit or cursor', async () => {
    const alice = await signIn(t, 'alice');
    const path = `/api/projects/${alice.me.default_project_id}/members`;
    for (const [query, pointer] of [
      [{ limit: 101 }, '/query/limit'],
      [{ cursor: encodeCursor('projects', [1]) }, '/query/cursor'],
    ] as const) {
      const res = await alice.request('GET', path, { query });
      expect(res.status).toBe(422);
      expect(res.body.errors).toContainEqual(expect.objectContaining({ pointer }));
    }
  });

  it('answers 401 without a token', async () => {
    const alice = await signIn(t, 'alice');
    expect((await t.request('GET', `/api/projects/${alice.me.default_project_id}/members`)).status).toBe(401);
  });
});
