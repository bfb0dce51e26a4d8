import { sql } from 'slonik';
import { z } from 'zod';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { auditOf, problemType, rowCounts, signIn, type Project } from './support.js';

describe('createProject', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('creates the project with the caller as owner and only member, in one audited transaction', async () => {
    const alice = await signIn(t, 'alice');
    const body = { slug: 'website-relaunch', name: 'Website relaunch', description: 'New marketing site.' };
    const res = await alice.api.POST('/api/projects', { body });
    expect(res.response.status).toBe(201);
    const project = res.data!;
    expect(project).toEqual({
      id: expect.any(Number),
      ...body,
      owner_id: alice.me.worker.id,
      is_default: false,
      member_count: 1,
      task_count: 0,
      created_at: expect.stringMatching(/Z$/),
      updated_at: project.created_at,
      version: 1,
    });
    expect(res.response.headers.get('location')).toBe(`/api/projects/${project.id}`);
    expect(res.response.headers.get('etag')).toMatch(/^"1\.[0-9a-f]{16}"$/); // version 1 and a digest of its counts

    const members = await t.pool.any(sql.type(z.object({ worker_id: z.number(), role: z.string() }))`
      select worker_id, role from member where project_id = ${project.id}`);
    expect(members).toEqual([{ worker_id: alice.me.worker.id, role: 'owner' }]);
    expect(await auditOf(t, 'project', project.id)).toEqual([
      {
        action: 'project_created', entity_type: 'project', entity_id: project.id, project_id: project.id,
        actor_id: alice.me.worker.id, actor_handle: alice.me.worker.handle,
        details: { slug: 'website-relaunch', name: 'Website relaunch', description: 'New marketing site.' },
      },
    ]);

    const read = await alice.request<Project>('GET', `/api/projects/${project.id}`);
    expect(read.body).toEqual(project);
  });

  it('stores an omitted description as null', async () => {
    const alice = await signIn(t, 'alice');
    const res = await alice.request<Project>('POST', '/api/projects', { body: { slug: 'no-description', name: 'Bare' } });
    expect(res.status).toBe(201);
    expect(res.body.description).toBeNull();
  });

  it('answers 409 slug-taken for a slug of the tenant and writes nothing', async () => {
    const alice = await signIn(t, 'alice');
    const bob = await signIn(t, 'bob');
    expect((await alice.request('POST', '/api/projects', { body: { slug: 'shared-slug', name: 'First' } })).status).toBe(201);
    const before = await rowCounts(t.pool);
    // Another user of the same tenant cannot take it either: slugs are unique per tenant, not per owner.
    for (const user of [alice, bob]) {
      const res = await user.request('POST', '/api/projects', { body: { slug: 'shared-slug', name: 'Second' } });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ type: problemType('slug-taken'), status: 409, instance: '/api/projects' });
    }
    expect(await rowCounts(t.pool)).toEqual(before);
  });

  it('lets another tenant use the same slug', async () => {
    const alice = await signIn(t, 'alice');
    const erin = await signIn(t, 'erin', { tenant: 'acme' });
    expect((await alice.request('POST', '/api/projects', { body: { slug: 'same-everywhere', name: 'A' } })).status).toBe(201);
    expect((await erin.request('POST', '/api/projects', { body: { slug: 'same-everywhere', name: 'E' } })).status).toBe(201);
  });

  it.each([
    ['an uppercase slug', { slug: 'Website', name: 'x' }, '/body/slug'],
    ['a slug with spaces', { slug: 'web site', name: 'x' }, '/body/slug'],
    ['a slug over 100 characters', { slug: 'a'.repeat(101), name: 'x' }, '/body/slug'],
    ['no name', { slug: 'no-name' }, '/body/name'],
    ['an empty name', { slug: 'empty-name', name: '' }, '/body/name'],
    ['a description over 2000 characters', { slug: 'long', name: 'x', description: 'd'.repeat(2001) }, '/body/description'],
    ['an unknown field', { slug: 'typo', name: 'x', titel: 'y' }, '/body/titel'],
  ])('answers 422 for %s, pointing at the field, and writes nothing', async (_case, body, pointer) => {
    const alice = await signIn(t, 'alice');
    const before = await rowCounts(t.pool);
    const res = await alice.request('POST', '/api/projects', { body });
    expect(res.status).toBe(422);
    expect(res.body.type).toBe(problemType('validation-failed'));
    expect(res.body.errors).toContainEqual(expect.objectContaining({ pointer }));
    expect(await rowCounts(t.pool)).toEqual(before);
  });

  it('answers 400 for malformed JSON and 415 for a body that is not JSON', async () => {
    const alice = await signIn(t, 'alice');
    const malformed = await alice.request('POST', '/api/projects', { rawBody: '{"slug": ', headers: { 'content-type': 'application/json' } });
    expect(malformed).toMatchObject({ status: 400, body: { type: problemType('malformed-json') } });
    const text = await alice.request('POST', '/api/projects', { rawBody: 'slug=x', headers: { 'content-type': 'text/plain' } });
    expect(text).toMatchObject({ status: 415, body: { type: problemType('unsupported-media-type') } });
  });

  it('answers 401 without a token', async () => {
    const res = await t.request('POST', '/api/projects', { body: { slug: 'anonymous', name: 'x' } });
    expect(res.status).toBe(401);
  });

  it('creates once when retried with the same Idempotency-Key', async () => {
    const alice = await signIn(t, 'alice');
    const send = () =>
      alice.request<Project>('POST', '/api/projects', { body: { slug: 'retried', name: 'Retried' }, headers: { 'idempotency-key': 'k-1' } });
    const first = await send();
    const retry = await send();
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('location')).toBe(first.headers.get('location'));
    expect(retry.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(await auditOf(t, 'project', first.body.id)).toHaveLength(1);
  });
});
