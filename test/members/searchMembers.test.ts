import { startTestApp, type TestApp } from '../helpers/app.js';
import { addMember, createAgent, createProject, problemType, signIn, type SignedIn } from '../projects/support.js';

interface Found {
  items: { id: number; handle: string; name: string; type: 'human' | 'agent' }[];
}

describe('searchMembers', () => {
  let t: TestApp;
  let alice: SignedIn;
  let carol: SignedIn;
  let erin: SignedIn;
  let projectId: number;

  beforeAll(async () => {
    t = await startTestApp();
    alice = await signIn(t, 'alice', { name: 'Alice Martin' });
    const alan = await signIn(t, 'alan', { name: 'Alan Turner' });
    await signIn(t, 'bob', { name: 'Bob 100% Sure' });
    carol = await signIn(t, 'carol', { name: 'Carol Palmer' });
    erin = await signIn(t, 'erin', { tenant: 'acme', name: 'Alice Elsewhere' });
    const underscored = await createAgent(alice, { handle: '@a_b', name: 'Under_Score' });
    await createAgent(alice, { handle: '@ab', name: 'Plain' });
    await createAgent(alice, { handle: '@bs', name: 'Back\\slash' });
    await createAgent(erin, { handle: '@alpha', name: 'Foreign agent' });
    const project = await createProject(alice);
    projectId = project.id;
    await addMember(alice, projectId, alan);
    await addMember(alice, projectId, { agentId: underscored.id });
  });
  afterAll(() => t?.close());

  const search = (user: SignedIn, query: Record<string, string | number>) =>
    user.request<Found>('GET', '/api/members/search', { query });
  const handles = (res: { body: Found }) => res.body.items.map((w) => w.handle);

  it('finds workers of the tenant by handle or name, case-insensitively, with their type', async () => {
    const res = await search(alice, { q: 'ALI' });
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([{ id: alice.me.worker.id, handle: '@alice', name: 'Alice Martin', type: 'human' }]);
    expect(handles(await search(alice, { q: 'turner' }))).toEqual(['@alan']);
    expect(handles(await search(alice, { q: '@a_' }))).toEqual(['@a_b']);
  });

  it('puts workers whose handle or name starts with q first, then the rest, each by handle', async () => {
    // '@bs' and '@carol' only contain an "a" ("Back\slash", "Carol Palmer"); the others start with it.
    expect(handles(await search(alice, { q: 'a' }))).toEqual(['@a_b', '@ab', '@alan', '@alice', '@bs', '@carol']);
  });

  it('matches %, _ and \\ literally, not as LIKE wildcards', async () => {
    expect(handles(await search(alice, { q: '_' }))).toEqual(['@a_b']);
    expect(handles(await search(alice, { q: '%' }))).toEqual(['@bob']);
    expect(handles(await search(alice, { q: '0%' }))).toEqual(['@bob']);
    expect(handles(await search(alice, { q: '\\' }))).toEqual(['@bs']);
    expect(handles(await search(alice, { q: 'a%b' }))).toEqual([]);
  });

  it('returns at most limit workers', async () => {
    expect(handles(await search(alice, { q: 'a', limit: 2 }))).toEqual(['@a_b', '@ab']);
  });

  it("never returns another tenant's workers", async () => {
    expect(handles(await search(alice, { q: 'alpha' }))).toEqual([]);
    expect(handles(await search(alice, { q: 'elsewhere' }))).toEqual([]);
    expect(handles(await search(erin, { q: 'al' }))).toEqual(['@alpha', '@erin']);
    expect(handles(await search(erin, { q: 'martin' }))).toEqual([]);
  });

  it("with project_id, only finds that project's members", async () => {
    expect(handles(await search(alice, { q: 'a', project_id: projectId }))).toEqual(['@a_b', '@alan', '@alice']);
  });

  it('with project_id, answers 404 to a non-member, another tenant and for a missing project', async () => {
    for (const [user, id] of [[carol, projectId], [erin, projectId], [alice, projectId + 1000]] as const) {
      const res = await search(user, { q: 'a', project_id: id });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ type: problemType('project-not-found') });
    }
  });

  it.each([
    ['no q', {}, '/query/q'],
    ['an empty q', { q: '' }, '/query/q'],
    ['a q over 100 characters', { q: 'a'.repeat(101) }, '/query/q'],
    ['a limit of 0', { q: 'a', limit: 0 }, '/query/limit'],
    ['a limit over 50', { q: 'a', limit: 51 }, '/query/limit'],
    ['a project_id of 0', { q: 'a', project_id: 0 }, '/query/project_id'],
  ])('answers 422 for %s', async (_case, query, pointer) => {
    const res = await alice.request('GET', '/api/members/search', { query });
    expect(res.status).toBe(422);
    expect(res.body.errors).toContainEqual(expect.objectContaining({ pointer }));
  });

  it('answers 401 without a token', async () => {
    expect((await t.request('GET', '/api/members/search', { query: { q: 'a' } })).status).toBe(401);
  });
});
