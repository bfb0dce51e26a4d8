import { sql } from 'slonik';
import { z } from 'zod';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { addMember, auditOf, createAgent, createProject, insertTasks, problemType, rowCounts, signIn, type Member } from '../projects/support.js';

interface MemberPage {
  items: Member[];
}

describe('removeProjectMember', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  const assigneesOf = (taskIds: number[]) =>
    t.pool.anyFirst(sql.type(z.object({ assignee_id: z.number().nullable() }))`
      select assignee_id from task where id = any(${sql.array(taskIds, 'int8')}) order by id`);

  /** Alice owns two projects and bob is a member of both; `member` is his membership of `project`. */
  async function bobInTwoProjects() {
    const alice = await signIn(t, 'alice');
    const bob = await signIn(t, 'bob');
    const project = await createProject(alice);
    const other = await createProject(alice);
    const member = await addMember(alice, project.id, bob);
    await addMember(alice, other.id, bob);
    return { alice, bob, project, other, member };
  }

  it("removes the membership, unassigns the worker's tasks in that project only, and audits member_removed", async () => {
    const { alice, bob, project, other, member } = await bobInTwoProjects();
    const here = await insertTasks(t, project.id, 2, { assigneeId: bob.me.worker.id });
    const there = await insertTasks(t, other.id, 1, { assigneeId: bob.me.worker.id });

    const res = await alice.request('DELETE', `/api/projects/${project.id}/members/${member.id}`);
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    const left = await alice.request<MemberPage>('GET', `/api/projects/${project.id}/members`);
    expect(left.body.items.map((m) => m.worker_id)).toEqual([alice.me.worker.id]);
    expect(await assigneesOf(here)).toEqual([null, null]);
    expect(await assigneesOf(there)).toEqual([bob.me.worker.id]);
    expect(await auditOf(t, 'member', member.id)).toEqual([
      expect.objectContaining({ action: 'member_added' }),
      expect.objectContaining({
        action: 'member_removed', project_id: project.id, actor_id: alice.me.worker.id,
        details: { worker_id: bob.me.worker.id, handle: bob.me.worker.handle, type: 'human' },
      }),
    ]);
    expect((await bob.request('GET', `/api/projects/${project.id}`)).status).toBe(404);
  });

  it("unassigns each of the worker's tasks as a change: a new version and ETag, updated_at, an `assigned` entry by the remover", async () => {
    const { alice, bob, project, other, member } = await bobInTwoProjects();
    const [mine, theirs] = await insertTasks(t, project.id, 2, { assigneeId: bob.me.worker.id });
    const [unassigned] = await insertTasks(t, project.id, 1, { assigneeId: null });
    const [elsewhere] = await insertTasks(t, other.id, 1, { assigneeId: bob.me.worker.id });
    const before = new Map<number, { etag: string; updated_at: string; version: number }>();
    for (const id of [mine!, theirs!, unassigned!, elsewhere!]) {
      const res = await alice.request<{ updated_at: string; version: number }>('GET', `/api/tasks/${id}`);
      before.set(id, { etag: res.headers.get('etag')!, updated_at: res.body.updated_at, version: res.body.version });
    }

    expect((await alice.request('DELETE', `/api/projects/${project.id}/members/${member.id}`)).status).toBe(204);

    for (const id of [mine!, theirs!]) {
      // A client revalidating its copy learns of the change: 200 with the new state, not 304.
      const res = await alice.request<{ assignee_id: unknown; updated_at: string; version: number }>('GET', `/api/tasks/${id}`, {
        headers: { 'If-None-Match': before.get(id)!.etag },
      });
      expect(res.status).toBe(200);
      expect(res.body.assignee_id).toBeNull();
      expect(res.body.version).toBe(before.get(id)!.version + 1);
      expect(Date.parse(res.body.updated_at)).toBeGreaterThan(Date.parse(before.get(id)!.updated_at));
      expect((await auditOf(t, 'task', id)).at(-1)).toEqual(expect.objectContaining({
        action: 'assigned', project_id: project.id, actor_id: alice.me.worker.id,
        details: { assignee_id: { before: bob.me.worker.id, after: null } },
      }));
    }
    // Tasks that were not the removed worker's, and the worker's tasks in another project, are untouched.
    for (const id of [unassigned!, elsewhere!]) {
      const res = await alice.request('GET', `/api/tasks/${id}`, { headers: { 'If-None-Match': before.get(id)!.etag } });
      expect(res.status).toBe(304);
      expect((await auditOf(t, 'task', id)).filter((a) => a.action === 'assigned')).toEqual([]);
    }
  });

  it('removes an agent', async () => {
    const alice = await signIn(t, 'alice');
    const agent = await createAgent(alice);
    const project = await createProject(alice);
    const member = await addMember(alice, project.id, { agentId: agent.id });
    expect((await alice.request('DELETE', `/api/projects/${project.id}/members/${member.id}`)).status).toBe(204);
    expect((await auditOf(t, 'member', member.id)).at(-1)!.details).toMatchObject({ worker_id: agent.id, type: 'agent' });
  });

  it("answers 409 owner-membership for the owner's own membership and keeps it", async () => {
    const alice = await signIn(t, 'alice');
    const project = await createProject(alice);
    const [owner] = (await alice.request<MemberPage>('GET', `/api/projects/${project.id}/members`)).body.items;
    const before = await rowCounts(t.pool);
    const res = await alice.request('DELETE', `/api/projects/${project.id}/members/${owner!.id}`);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ type: problemType('owner-membership'), detail: expect.stringContaining('@alice') });
    expect(await rowCounts(t.pool)).toEqual(before);
  });

  it('answers 404 member-not-found for a membership of another project or one that does not exist', async () => {
    const alice = await signIn(t, 'alice');
    const bob = await signIn(t, 'bob');
    const project = await createProject(alice);
    const other = await createProject(alice);
    const elsewhere = await addMember(alice, other.id, bob);
    const before = await rowCounts(t.pool);
    for (const memberId of [elsewhere.id, elsewhere.id + 1000]) {
      const res = await alice.request('DELETE', `/api/projects/${project.id}/members/${memberId}`);
      expect(res.status).toBe(404);
      expect(res.body.type).toBe(problemType('member-not-found'));
    }
    expect(await rowCounts(t.pool)).toEqual(before);
  });

  it('answers 403 to a member who is not the owner, and 404 to a non-member or another tenant, removing nothing', async () => {
    const alice = await signIn(t, 'alice');
    const bob = await signIn(t, 'bob');
    const dana = await signIn(t, 'dana');
    const carol = await signIn(t, 'carol');
    const erin = await signIn(t, 'erin', { tenant: 'acme' });
    const project = await createProject(alice);
    await addMember(alice, project.id, bob);
    const danaMember = await addMember(alice, project.id, dana);
    const before = await rowCounts(t.pool);

    const asMember = await bob.request('DELETE', `/api/projects/${project.id}/members/${danaMember.id}`);
    expect(asMember.status).toBe(403);
    expect(asMember.body.type).toBe(problemType('forbidden'));
    for (const user of [carol, erin]) {
      const res = await user.request('DELETE', `/api/projects/${project.id}/members/${danaMember.id}`);
      expect(res.status).toBe(404);
      expect(res.body.type).toBe(problemType('project-not-found'));
    }
    expect(await rowCounts(t.pool)).toEqual(before);
  });

  it('answers 422 for a member id that is not a positive integer', async () => {
    const alice = await signIn(t, 'alice');
    const res = await alice.request('DELETE', `/api/projects/${alice.me.default_project_id}/members/abc`);
    expect(res.status).toBe(422);
    expect(res.body.errors).toContainEqual(expect.objectContaining({ pointer: '/path/member_id' }));
  });

  it('answers 401 without a token', async () => {
    const alice = await signIn(t, 'alice');
    expect((await t.request('DELETE', `/api/projects/${alice.me.default_project_id}/members/1`)).status).toBe(401);
  });
});
