import { sql } from 'slonik';
import { z } from 'zod';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { addMember, auditOf, createProject, insertTasks, problemType, rowCounts, signIn } from './support.js';

describe('deleteProject', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  const remaining = (projectId: number) =>
    t.pool.one(sql.type(z.object({ projects: z.number(), members: z.number(), tasks: z.number() }))`
      select (select count(*)::int from project where id = ${projectId}) as projects,
             (select count(*)::int from member where project_id = ${projectId}) as members,
             (select count(*)::int from task where project_id = ${projectId}) as tasks`);

  it('deletes an empty project with its memberships; the audit trail keeps project_deleted', async () => {
    const alice = await signIn(t, 'alice');
    const bob = await signIn(t, 'bob');
    const project = await createProject(alice, { slug: 'short-lived' });
    await addMember(alice, project.id, bob);
    const res = await alice.request('DELETE', `/api/projects/${project.id}`);
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    expect(await remaining(project.id)).toEqual({ projects: 0, members: 0, tasks: 0 });
    expect((await auditOf(t, 'project', project.id)).map((a) => a.action)).toEqual(['project_created', 'project_deleted']);
    expect((await auditOf(t, 'project', project.id))[1]).toMatchObject({
      project_id: project.id, actor_id: alice.me.worker.id, details: { slug: 'short-lived', tasks_deleted: 0 },
    });
    expect((await alice.request('GET', `/api/projects/${project.id}`)).status).toBe(404);
    expect((await bob.request('GET', `/api/projects/${project.id}`)).status).toBe(404);
  });

  it('refuses a project with tasks with 409 project-has-tasks, and deletes it with force=true', async () => {
    const alice = await signIn(t, 'alice');
    const bob = await signIn(t, 'bob');
    const project = await createProject(alice);
    await addMember(alice, project.id, bob);
    await insertTasks(t, project.id, 2, { assigneeId: bob.me.worker.id, withSubtask: true });
    const before = await rowCounts(t.pool);

    for (const query of [{}, { force: false }] as Record<string, boolean>[]) {
      const res = await alice.request('DELETE', `/api/projects/${project.id}`, { query });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ type: problemType('project-has-tasks'), detail: expect.stringContaining('3 tasks') });
    }
    expect(await rowCounts(t.pool)).toEqual(before);

    const forced = await alice.request('DELETE', `/api/projects/${project.id}`, { query: { force: true } });
    expect(forced.status).toBe(204);
    expect(await remaining(project.id)).toEqual({ projects: 0, members: 0, tasks: 0 });
    expect((await auditOf(t, 'project', project.id)).at(-1)).toMatchObject({ action: 'project_deleted', details: { tasks_deleted: 3 } });
  });

  it('never deletes the personal default project (409 default-project), even with force', async () => {
    const alice = await signIn(t, 'alice');
    const before = await rowCounts(t.pool);
    const res = await alice.request('DELETE', `/api/projects/${alice.me.default_project_id}`, { query: { force: true } });
    expect(res.status).toBe(409);
    expect(res.body.type).toBe(problemType('default-project'));
    expect(await rowCounts(t.pool)).toEqual(before);
  });

  it('answers 412 for a stale If-Match and deletes with the current one', async () => {
    const alice = await signIn(t, 'alice');
    const project = await createProject(alice);
    await alice.request('PATCH', `/api/projects/${project.id}`, { body: { name: 'Renamed' } });
    const stale = await alice.request('DELETE', `/api/projects/${project.id}`, { headers: { 'if-match': '"1"' } });
    expect(stale.status).toBe(412);
    expect(stale.body.type).toBe(problemType('precondition-failed'));
    expect((await remaining(project.id)).projects).toBe(1);
    expect((await alice.request('DELETE', `/api/projects/${project.id}`, { headers: { 'if-match': '"2"' } })).status).toBe(204);
  });

  it('answers 403 to a member and 404 to a non-member or another tenant, deleting nothing', async () => {
    const alice = await signIn(t, 'alice');
    const bob = await signIn(t, 'bob');
    const carol = await signIn(t, 'carol');
    const erin = await signIn(t, 'erin', { tenant: 'acme' });
    const project = await createProject(alice);
    await addMember(alice, project.id, bob);
    const before = await rowCounts(t.pool);

    const asMember = await bob.request('DELETE', `/api/projects/${project.id}`, { query: { force: true } });
    expect(asMember.status).toBe(403);
    expect(asMember.body.type).toBe(problemType('forbidden'));
    for (const user of [carol, erin]) {
      const res = await user.request('DELETE', `/api/projects/${project.id}`, { query: { force: true }, headers: { 'if-match': '*' } });
      expect(res.status).toBe(404);
      expect(res.body.type).toBe(problemType('project-not-found'));
    }
    expect(await rowCounts(t.pool)).toEqual(before);
  });

  it('answers 422 for a force that is not a boolean', async () => {
    const alice = await signIn(t, 'alice');
    const project = await createProject(alice);
    const res = await alice.request('DELETE', `/api/projects/${project.id}`, { query: { force: 'maybe' } });
    expect(res.status).toBe(422);
    expect(res.body.errors).toContainEqual(expect.objectContaining({ pointer: '/query/force' }));
  });

  it('answers 401 without a token', async () => {
    const alice = await signIn(t, 'alice');
    const project = await createProject(alice);
    expect((await t.request('DELETE', `/api/projects/${project.id}`)).status).toBe(401);
  });
});
