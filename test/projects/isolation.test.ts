/**
 * The isolation story across projects, members and agents: Eve (another tenant) and Mallory (same tenant, not a
 * member) try everything on Alice's project and agent. Every answer is a 404 or an empty result that reads
 * exactly like the one for something that does not exist, and nothing is written.
 */
import { startTestApp, type TestApp } from '../helpers/app.js';
import { addMember, createAgent, createProject, insertTasks, rowCounts, signIn, type SignedIn } from './support.js';

describe('isolation of projects, members and agents', () => {
  let t: TestApp;
  let alice: SignedIn;
  let eve: SignedIn;
  let mallory: SignedIn;
  let projectId: number;
  let memberId: number;
  let agentId: number;

  beforeAll(async () => {
    t = await startTestApp();
    alice = await signIn(t, 'alice', { name: 'Alice Secret' });
    const bob = await signIn(t, 'bob');
    eve = await signIn(t, 'eve', { tenant: 'evil' });
    mallory = await signIn(t, 'mallory');
    const project = await createProject(alice, { slug: 'secret-plans', name: 'Secret plans' });
    projectId = project.id;
    agentId = (await createAgent(alice, { handle: '@secret-agent', name: 'Secret agent' })).id;
    memberId = (await addMember(alice, projectId, bob)).id;
    await addMember(alice, projectId, { agentId });
    await insertTasks(t, projectId, 2);
  });
  afterAll(() => t?.close());

  /** The answer for an id that exists, with the id swapped for the one of something that does not. */
  const sameAsMissing = async (user: SignedIn, method: string, path: (id: number) => string, id: number, options = {}) => {
    const real = await user.request(method, path(id), options);
    const missing = await user.request(method, path(id + 100_000), options);
    expect(real.status).toBe(404);
    expect(missing.status).toBe(404);
    const normalise = (body: { detail: string; instance: string }, n: number) => {
      const id = new RegExp(`\\b${n}\\b`, 'g');
      return { ...body, detail: body.detail.replace(id, 'ID'), instance: body.instance.replace(id, 'ID') };
    };
    expect(normalise(real.body, id)).toEqual(normalise(missing.body, id + 100_000));
  };

  it('neither sees nor changes the project, its members or its tasks, and writes nothing', async () => {
    const before = await rowCounts(t.pool);
    for (const intruder of [eve, mallory]) {
      const projects = await intruder.request('GET', '/api/projects');
      expect(projects.body.items.map((p: { id: number }) => p.id)).toEqual([intruder.me.default_project_id]);

      const project = (id: number) => `/api/projects/${id}`;
      await sameAsMissing(intruder, 'GET', project, projectId);
      await sameAsMissing(intruder, 'PATCH', project, projectId, { body: { name: 'Mine now' }, headers: { 'if-match': '*' } });
      await sameAsMissing(intruder, 'DELETE', project, projectId, { query: { force: true } });
      await sameAsMissing(intruder, 'GET', (id) => `/api/projects/${id}/members`, projectId);
      await sameAsMissing(intruder, 'POST', (id) => `/api/projects/${id}/members`, projectId, { body: { user_id: intruder.sub } });
      await sameAsMissing(intruder, 'DELETE', (id) => `/api/projects/${id}/members/${memberId}`, projectId);
      await sameAsMissing(intruder, 'GET', (id) => `/api/members/search?q=a&project_id=${id}`, projectId);
    }
    expect(await rowCounts(t.pool)).toEqual(before);
  });

  it("another tenant finds none of the tenant's workers or agents, and cannot touch an agent", async () => {
    const before = await rowCounts(t.pool);
    for (const q of ['alice', 'secret', 'bob', '@']) {
      const res = await eve.request('GET', '/api/members/search', { query: { q } });
      expect(res.body.items.map((w: { handle: string }) => w.handle)).toEqual(q === '@' ? ['@eve'] : []);
    }
    expect((await eve.request('GET', '/api/agents')).body).toEqual({ items: [], next_cursor: null });
    const agent = (id: number) => `/api/agents/${id}`;
    await sameAsMissing(eve, 'GET', agent, agentId);
    await sameAsMissing(eve, 'PATCH', agent, agentId, { body: { name: 'Turned' }, headers: { 'if-match': '*' } });
    await sameAsMissing(eve, 'DELETE', agent, agentId);
    // Nor can it add the agent or a user of the tenant to its own project.
    for (const body of [{ agent_id: agentId }, { user_id: 'alice' }]) {
      const res = await eve.request('POST', `/api/projects/${eve.me.default_project_id}/members`, { body });
      expect(res.status).toBe(422);
    }
    expect(await rowCounts(t.pool)).toEqual(before);
  });
});
