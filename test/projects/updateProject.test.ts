import { startTestApp, type TestApp } from '../helpers/app.js';
import { addMember, auditOf, createProject, problemType, rowCounts, signIn, type Project } from './support.js';

describe('updateProject', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  const patch = (user: { request: typeof t.request }, id: number, body: unknown, headers: Record<string, string> = {}) =>
    user.request('PATCH', `/api/projects/${id}`, { body, headers });

  it('renames the project, bumps its version and updated_at, and audits only what changed', async () => {
    const alice = await signIn(t, 'alice');
    const project = await createProject(alice, { name: 'Website', description: 'Keep me' });
    const res = await patch(alice, project.id, { name: 'Website 2026' });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toMatch(/^"2\.[0-9a-f]{16}"$/);
    expect(res.body).toEqual({ ...project, name: 'Website 2026', updated_at: expect.any(String), version: 2 });
    expect(res.body.updated_at > project.updated_at).toBe(true);
    expect((await alice.request('GET', `/api/projects/${project.id}`)).body).toEqual(res.body);
    expect((await auditOf(t, 'project', project.id)).slice(1)).toEqual([
      expect.objectContaining({
        action: 'project_updated', project_id: project.id, actor_id: alice.me.worker.id,
        details: { name: { before: 'Website', after: 'Website 2026' } },
      }),
    ]);
  });

  it('clears the description with null and leaves the name alone', async () => {
    const alice = await signIn(t, 'alice');
    const project = await createProject(alice, { name: 'Keep', description: 'Drop me' });
    const res = await patch(alice, project.id, { description: null });
    expect(res.body).toMatchObject({ name: 'Keep', description: null });
    expect((await auditOf(t, 'project', project.id))[1]!.details).toEqual({ description: { before: 'Drop me', after: null } });
  });

  it('applies a write whose If-Match is current or *, and refuses a stale one with 412', async () => {
    const alice = await signIn(t, 'alice');
    const project = await createProject(alice);
    expect((await patch(alice, project.id, { name: 'Second' }, { 'if-match': '"1"' })).status).toBe(200);
    const before = await rowCounts(t.pool);

    const stale = await patch(alice, project.id, { name: 'Lost update' }, { 'if-match': '"1"' });
    expect(stale.status).toBe(412);
    expect(stale.body.type).toBe(problemType('precondition-failed'));
    expect(await rowCounts(t.pool)).toEqual(before);
    expect((await alice.request<Project>('GET', `/api/projects/${project.id}`)).body.name).toBe('Second');

    const any = await patch(alice, project.id, { name: 'Third' }, { 'if-match': '*' });
    expect(any.status).toBe(200);
    expect(any.headers.get('etag')).toMatch(/^"3\.[0-9a-f]{16}"$/);
  });

  it('lets exactly one of two concurrent writers holding the same ETag win', async () => {
    const alice = await signIn(t, 'alice');
    const project = await createProject(alice);
    const results = await Promise.all(['A', 'B'].map((name) => patch(alice, project.id, { name }, { 'if-match': '"1"' })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 412]);
    expect(await auditOf(t, 'project', project.id)).toHaveLength(2);
  });

  it('answers 403 to a member who is not the owner, and changes nothing', async () => {
    const alice = await signIn(t, 'alice');
    const bob = await signIn(t, 'bob');
    const project = await createProject(alice, { name: 'Owned' });
    await addMember(alice, project.id, bob);
    const before = await rowCounts(t.pool);
    const res = await patch(bob, project.id, { name: 'Hijacked' });
    expect(res.status).toBe(403);
    expect(res.body.type).toBe(problemType('forbidden'));
    expect(await rowCounts(t.pool)).toEqual(before);
    expect((await alice.request<Project>('GET', `/api/projects/${project.id}`)).body).toMatchObject({ name: 'Owned' });
  });

  it('answers 404 to a non-member, another tenant and for a missing project, and changes nothing', async () => {
    const alice = await signIn(t, 'alice');
    const carol = await signIn(t, 'carol');
    const erin = await signIn(t, 'erin', { tenant: 'acme' });
    const project = await createProject(alice, { name: 'Owned' });
    const before = await rowCounts(t.pool);
    for (const [user, id] of [[carol, project.id], [erin, project.id], [alice, project.id + 1000]] as const) {
      const res = await patch(user, id, { name: 'Hijacked' }, { 'if-match': '*' });
      expect(res.status).toBe(404);
      expect(res.body.type).toBe(problemType('project-not-found'));
    }
    expect(await rowCounts(t.pool)).toEqual(before);
    expect(await auditOf(t, 'project', project.id)).toHaveLength(1);
  });

  it.each([
    ['an empty body', {}, '/body'],
    ['a slug (it never changes)', { slug: 'new-slug' }, '/body/slug'],
    ['an empty name', { name: '' }, '/body/name'],
    ['a null name', { name: null }, '/body/name'],
  ])('answers 422 for %s', async (_case, body, pointer) => {
    const alice = await signIn(t, 'alice');
    const project = await createProject(alice);
    const res = await patch(alice, project.id, body);
    expect(res.status).toBe(422);
    expect(res.body.errors).toContainEqual(expect.objectContaining({ pointer }));
    expect(await auditOf(t, 'project', project.id)).toHaveLength(1);
  });

  it('answers 401 without a token', async () => {
    const alice = await signIn(t, 'alice');
    expect((await t.request('PATCH', `/api/projects/${alice.me.default_project_id}`, { body: { name: 'x' } })).status).toBe(401);
  });
});
