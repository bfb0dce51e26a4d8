import { encodeCursor } from '../../src/http/paging.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { addMember, createProject, insertTasks, problemType, signIn, type Project } from './support.js';

interface ProjectPage {
  items: Project[];
  next_cursor: string | null;
}

describe('listProjects', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('lists the projects the caller is a member of, oldest first, with member and task counts', async () => {
    const alice = await signIn(t, 'alice');
    const bob = await signIn(t, 'bob');
    const erin = await signIn(t, 'erin', { tenant: 'acme' });
    const mine = await createProject(alice, { slug: 'mine' });
    const bobs = await createProject(bob, { slug: 'bobs' });
    await createProject(bob, { slug: 'bobs-private' });
    await createProject(erin, { slug: 'erins' });
    await addMember(bob, bobs.id, alice);
    await addMember(alice, mine.id, bob);
    await insertTasks(t, mine.id, 3, { withSubtask: true });

    const res = await alice.request<ProjectPage>('GET', '/api/projects');
    expect(res.status).toBe(200);
    expect(res.body.next_cursor).toBeNull();
    expect(res.body.items.map((p) => [p.id, p.member_count, p.task_count])).toEqual([
      [alice.me.default_project_id, 1, 0],
      [mine.id, 2, 4],
      [bobs.id, 2, 0],
    ]);
    expect(res.body.items[0]).toMatchObject({ is_default: true, owner_id: alice.me.worker.id });
    expect(res.body.items[2]).toMatchObject({ slug: 'bobs', is_default: false, owner_id: bob.me.worker.id });
  });

  it('shows a user of another tenant and a non-member nothing of others', async () => {
    const carol = await signIn(t, 'carol');
    const frank = await signIn(t, 'frank', { tenant: 'acme' });
    for (const user of [carol, frank]) {
      const res = await user.request<ProjectPage>('GET', '/api/projects');
      expect(res.body.items.map((p) => p.id)).toEqual([user.me.default_project_id]);
    }
  });

  it('pages through more projects than the limit without gaps or duplicates, also while projects are added', async () => {
    const dana = await signIn(t, 'dana');
    for (let i = 0; i < 11; i++) await createProject(dana, { slug: `dana-${i}` });
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: ProjectPage } = await dana.request<ProjectPage>('GET', '/api/projects', {
        query: { limit: 5, ...(cursor ? { cursor } : {}) },
      });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(5);
      seen.push(...res.body.items.map((p) => p.id));
      cursor = res.body.next_cursor;
      if (pages++ === 0) await createProject(dana, { slug: 'dana-late' }); // lands after the cursor: still listed once
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(13);
    expect(new Set(seen).size).toBe(13);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  it('answers a full last page with no next_cursor', async () => {
    const gina = await signIn(t, 'gina');
    await createProject(gina);
    const res = await gina.request<ProjectPage>('GET', '/api/projects', { query: { limit: 2 } });
    expect(res.body.items).toHaveLength(2);
    expect(res.body.next_cursor).toBeNull();
  });

  it.each([
    ['a limit of 0', { limit: 0 }, '/query/limit'],
    ['a limit over 100', { limit: 101 }, '/query/limit'],
    ['a garbage cursor', { cursor: 'not-a-cursor' }, '/query/cursor'],
    ["another list's cursor", { cursor: encodeCursor('agents', [1, 1]) }, '/query/cursor'],
    ['a forged cursor', { cursor: encodeCursor('projects', ['1; drop table project']) }, '/query/cursor'],
  ])('answers 422 for %s', async (_case, query, pointer) => {
    const alice = await signIn(t, 'alice');
    const res = await alice.request('GET', '/api/projects', { query });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ type: problemType('validation-failed'), errors: [expect.objectContaining({ pointer })] });
  });

  it('answers 401 without a token', async () => {
    expect((await t.request('GET', '/api/projects')).status).toBe(401);
  });
});
