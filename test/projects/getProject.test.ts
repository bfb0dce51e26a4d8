import { startTestApp, type TestApp } from '../helpers/app.js';
import { addMember, createProject, insertTasks, problemType, signIn, type Project } from './support.js';

describe('getProject', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('returns a project to its owner and its members, with counts and the ETag of its version', async () => {
    const alice = await signIn(t, 'alice');
    const bob = await signIn(t, 'bob');
    const project = await createProject(alice, { slug: 'shared', name: 'Shared', description: 'Both of us' });
    await addMember(alice, project.id, bob);
    await insertTasks(t, project.id, 2);

    const etags = new Set<string | null>();
    for (const user of [alice, bob]) {
      const res = await user.api.GET('/api/projects/{project_id}', { params: { path: { project_id: project.id } } });
      expect(res.response.status).toBe(200);
      expect(res.response.headers.get('etag')).toMatch(/^"1\.[0-9a-f]{16}"$/); // version 1 and a digest of its counts
      etags.add(res.response.headers.get('etag'));
      expect(res.data).toEqual({ ...project, member_count: 2, task_count: 2 });
    }
    expect(etags.size).toBe(1); // the same representation, the same tag, whoever asks
  });

  it('If-None-Match with the current ETag: 304 without a body; after a change, 200 with the new version', async () => {
    const alice = await signIn(t, 'alice');
    const project = await createProject(alice);
    const path = `/api/projects/${project.id}`;
    const etag = (await alice.request('GET', path)).headers.get('etag')!;
    expect(etag).toMatch(/^"1\.[0-9a-f]{16}"$/);
    const cached = await alice.request('GET', path, { headers: { 'if-none-match': etag } });
    expect(cached.status).toBe(304);
    expect(cached.headers.get('etag')).toBe(etag);
    expect(cached.body).toBeUndefined();
    for (const header of [`W/${etag}`, `"7", ${etag}`, '*']) expect((await alice.request('GET', path, { headers: { 'if-none-match': header } })).status).toBe(304);
    expect((await alice.request('GET', path, { headers: { 'if-none-match': '"1"' } })).status).toBe(200); // the version alone: the counts may have moved
    expect((await alice.request('PATCH', path, { body: { name: 'Renamed' } })).status).toBe(200);
    const changed = await alice.request<Project>('GET', path, { headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).toMatch(/^"2\.[0-9a-f]{16}"$/);
    expect(changed.body).toMatchObject({ name: 'Renamed', version: 2 });
  });

  it("a new task or member changes the project's ETag (its counts), not its version", async () => {
    const alice = await signIn(t, 'alice');
    const bob = await signIn(t, 'bob');
    const project = await createProject(alice);
    const path = `/api/projects/${project.id}`;
    const first = await alice.request<Project>('GET', path);
    await insertTasks(t, project.id, 1);
    const afterTask = await alice.request<Project>('GET', path, { headers: { 'if-none-match': first.headers.get('etag')! } });
    expect([afterTask.status, afterTask.body.task_count, afterTask.body.version]).toEqual([200, 1, first.body.version]);
    await addMember(alice, project.id, bob);
    const afterMember = await alice.request<Project>('GET', path, { headers: { 'if-none-match': afterTask.headers.get('etag')! } });
    expect([afterMember.status, afterMember.body.member_count]).toEqual([200, 2]);
    // A write is conditional on the project's own version: the first tag still matches.
    expect((await alice.request('PATCH', path, { body: { name: 'Renamed' }, headers: { 'if-match': first.headers.get('etag')! } })).status).toBe(200);
  });

  it('If-None-Match does not reveal a project the caller may not see: 404 as without it', async () => {
    const alice = await signIn(t, 'alice');
    const carol = await signIn(t, 'carol');
    const project = await createProject(alice);
    const res = await carol.request('GET', `/api/projects/${project.id}`, { headers: { 'if-none-match': '*' } });
    expect(res.status).toBe(404);
  });

  it('returns the personal default project', async () => {
    const alice = await signIn(t, 'alice');
    const res = await alice.request<Project>('GET', `/api/projects/${alice.me.default_project_id}`);
    expect(res.body).toMatchObject({ is_default: true, owner_id: alice.me.worker.id, member_count: 1 });
  });

  it('answers the same 404 for a missing project, a non-member and another tenant', async () => {
    const alice = await signIn(t, 'alice');
    const carol = await signIn(t, 'carol');
    const erin = await signIn(t, 'erin', { tenant: 'acme' });
    const project = await createProject(alice);
    const missing = project.id + 1000;

    const answers = [
      await alice.request('GET', `/api/projects/${missing}`),
      await carol.request('GET', `/api/projects/${project.id}`),
      await erin.request('GET', `/api/projects/${project.id}`),
    ];
    for (const res of answers) {
      expect(res.status).toBe(404);
      expect(res.headers.get('etag')).toBeNull();
      expect(res.body.type).toBe(problemType('project-not-found'));
    }
    // Nothing in the answer tells "exists but not yours" from "does not exist".
    const strip = (body: { detail: string; instance: string }, id: number) => ({
      ...body,
      detail: body.detail.replace(String(id), 'N'),
      instance: body.instance.replace(String(id), 'N'),
    });
    expect(strip(answers[1]!.body, project.id)).toEqual(strip(answers[0]!.body, missing));
    expect(answers[2]!.body).toEqual(answers[1]!.body);
  });

  it('answers 422 for an id that is not a positive integer', async () => {
    const alice = await signIn(t, 'alice');
    for (const id of ['abc', '0']) {
      const res = await alice.request('GET', `/api/projects/${id}`);
      expect(res.status).toBe(422);
      expect(res.body.errors).toContainEqual(expect.objectContaining({ pointer: '/path/project_id' }));
    }
  });

  it('answers 401 without a token', async () => {
    const alice = await signIn(t, 'alice');
    expect((await t.request('GET', `/api/projects/${alice.me.default_project_id}`)).status).toBe(401);
  });
});
