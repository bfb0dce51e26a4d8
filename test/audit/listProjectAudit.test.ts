/**
 * listProjectAudit: everything about a project (itself, its memberships, its tasks, deleted ones too), newest
 * first, filtered by actor, action and entity type, paged by a keyset cursor; 404 for a project the caller is not in.
 */
import type { components } from '../../generated/api.js';
import type { TestApp } from '../helpers/app.js';
import { expectProblem, setupTestApp, type SignedIn, type TestWorld } from '../helpers/factories.js';

type AuditList = components['schemas']['AuditList'];
type Project = components['schemas']['Project'];

let t: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let carol: SignedIn; // not a member
let world: TestWorld;
let project: Project;

/** alice creates a project through the API, adds bob, creates a task; bob creates one and deletes alice's. */
beforeAll(async () => {
  world = await setupTestApp();
  ({ t, alice, bob, carol } = world);
  const created = await alice.request<Project>('POST', '/api/projects', { body: { slug: 'audited', name: 'Audited' } });
  expect(created.status).toBe(201);
  project = created.body;
  expect((await alice.request('POST', `/api/projects/${project.id}/members`, { body: { user_id: 'bob' } })).status).toBe(201);
  const first = await world.newTask({ title: 'First' }, alice, project.id);
  await world.newTask({ title: 'Second' }, bob, project.id);
  expect((await bob.request('DELETE', `/api/tasks/${first.id}`)).status).toBe(204);
});
afterAll(() => t.close());

const history = (user: SignedIn, query: Record<string, string | number> = {}, projectId: number = project.id) =>
  user.request<AuditList>('GET', `/api/projects/${projectId}/audit`, { query });

describe('listProjectAudit', () => {
  it('lists the project, its memberships and its tasks (the deleted one too), newest first', async () => {
    const res = await bob.request<AuditList>('GET', `/api/projects/${project.id}/audit`);
    expect(res.status).toBe(200);
    expect(res.body.next_cursor).toBeNull();
    expect(res.body.items.map((e) => [e.entity_type, e.action, e.actor_handle])).toEqual([
      ['task', 'task_deleted', '@bob'],
      ['task', 'task_created', '@bob'],
      ['task', 'task_created', '@alice'],
      ['member', 'member_added', '@alice'],
      ['project', 'project_created', '@alice'],
    ]);
    expect(res.body.items.at(-1)).toMatchObject({ entity_id: project.id, actor_id: alice.workerId, actor_type: 'human', client: null });
    const ids = res.body.items.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    // nothing of alice's other project (the one setupTestApp made) leaks in
    await world.newTask({ title: 'Elsewhere' });
    expect((await history(alice)).body.items).toHaveLength(5);
  });

  it.each<[string, () => Record<string, string | number>, [string, string][]]>([
    ['entity_type=task', () => ({ entity_type: 'task' }), [['task', 'task_deleted'], ['task', 'task_created'], ['task', 'task_created']]],
    ['action=member_added', () => ({ action: 'member_added' }), [['member', 'member_added']]],
    ['actor_id (bob)', () => ({ actor_id: bob.workerId }), [['task', 'task_deleted'], ['task', 'task_created']]],
    ['filters combine with AND', () => ({ actor_id: alice.workerId, entity_type: 'task' }), [['task', 'task_created']]],
    ['an action nobody took', () => ({ action: 'approved' }), []],
  ])('filters: %s', async (_name, query, expected) => {
    const res = await history(alice, query());
    expect(res.status).toBe(200);
    expect(res.body.items.map((e) => [e.entity_type, e.action])).toEqual(expected);
  });

  it('pages with limit and next_cursor: every entry exactly once, in the same order, filters kept', async () => {
    const all = (await history(alice)).body.items.map((e) => e.id);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const res: { status: number; body: AuditList } = await history(alice, { limit: 2, ...(cursor ? { cursor } : {}) });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items.map((e) => e.id));
      cursor = res.body.next_cursor;
    } while (cursor && seen.length < 20);
    expect(seen).toEqual(all);
    const firstTaskPage = await history(alice, { entity_type: 'task', limit: 2 });
    const rest = await history(alice, { entity_type: 'task', limit: 2, cursor: firstTaskPage.body.next_cursor! });
    expect(rest.body.items.map((e) => e.action)).toEqual(['task_created']);
    expect(rest.body.next_cursor).toBeNull();
  });

  it('404 project-not-found for a non-member and for a missing project', async () => {
    expectProblem(await history(carol), 404, 'project-not-found');
    expectProblem(await history(alice, {}, 999999), 404, 'project-not-found');
  });

  it.each<[string, Record<string, string | number>, string]>([
    ['an unknown action', { action: 'exploded' }, '/query/action'],
    ['an unknown entity type', { entity_type: 'comment' }, '/query/entity_type'],
    ['actor_id 0', { actor_id: 0 }, '/query/actor_id'],
    ['limit 0', { limit: 0 }, '/query/limit'],
    ['a forged cursor', { cursor: 'not-a-cursor' }, '/query/cursor'],
  ])('422 for %s, naming the parameter', async (_name, query, pointer) => {
    expect(expectProblem(await history(alice, query), 422, 'validation-failed').errors?.map((e) => e.pointer)).toContain(pointer);
  });

  it('401 without a token', async () => {
    expectProblem(await t.request('GET', `/api/projects/${project.id}/audit`), 401, 'unauthorized');
  });
});
