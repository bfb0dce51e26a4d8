import { sql } from 'slonik';
import { z } from 'zod';
import type { DatabasePool } from '../../src/db/index.js';
import { createPrincipalResolver } from '../../src/identity/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

/** The pool, counting the lookups (maybeOne) and the transactions (provisioning) that go through it. */
function countingPool(pool: DatabasePool) {
  const calls = { maybeOne: 0, transaction: 0 };
  const counted = new Proxy(pool, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if ((property === 'maybeOne' || property === 'transaction') && typeof value === 'function') {
        return (...args: unknown[]) => {
          calls[property] += 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return value;
    },
  });
  return { pool: counted, calls };
}

describe('getMe', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('provisions a human worker and a personal default project on the first request', async () => {
    const alice = await t.user('alice-sub', { email: 'Alice.Smith@example.test', name: 'Alice Smith' });
    const res = await alice.api.GET('/api/me');
    expect(res.response.status).toBe(200);
    expect(res.data).toMatchObject({
      user_id: 'alice-sub',
      email: 'Alice.Smith@example.test',
      name: 'Alice Smith',
      tenant_id: 'default',
      worker: { handle: '@alice-smith', name: 'Alice Smith', type: 'human' },
    });
    const project = await t.pool.one(sql.type(z.object({ owner_id: z.number(), is_default: z.boolean() }))`
      select owner_id, is_default from project where id = ${res.data!.default_project_id}`);
    expect(project).toEqual({ owner_id: res.data!.worker.id, is_default: true });
    const audit = await t.pool.anyFirst(sql.type(z.object({ action: z.string() }))`
      select action from audit_log where project_id = ${res.data!.default_project_id}`);
    expect(audit).toEqual(['project_created']);
  });

  it('de-duplicates handles with -1, -2 within a tenant, but not across tenants', async () => {
    const handles: string[] = [];
    for (const [sub, tenant] of [['bob-1', 'default'], ['bob-2', 'default'], ['bob-3', 'default'], ['bob-4', 'acme']] as const) {
      const bob = await t.user(sub, { email: 'bob@example.test', tenant });
      handles.push((await bob.api.GET('/api/me')).data!.worker.handle);
    }
    expect(handles).toEqual(['@bob', '@bob-1', '@bob-2', '@bob']);
  });

  it('provisions exactly one worker and one default project under 20 parallel first requests', async () => {
    const carol = await t.user('carol-sub', { email: 'carol@example.test' });
    const results = await Promise.all(Array.from({ length: 20 }, () => carol.api.GET('/api/me')));
    expect(results.map((r) => r.response.status)).toEqual(Array(20).fill(200));
    expect(new Set(results.map((r) => r.data!.default_project_id)).size).toBe(1);
    const counts = await t.pool.one(sql.type(z.object({ workers: z.number(), projects: z.number() }))`
      select (select count(*)::int from worker where user_id = 'carol-sub') as workers,
             (select count(*)::int from project p join worker w on w.id = p.owner_id where w.user_id = 'carol-sub') as projects`);
    expect(counts).toEqual({ workers: 1, projects: 1 });
  });

  it('resolves a burst of first requests with one lookup and one provisioning, not one per request', async () => {
    const { pool, calls } = countingPool(t.pool);
    const resolve = createPrincipalResolver(pool);
    const identity = { tenantId: 'default', userId: 'dave-sub', email: 'dave@example.test', name: 'Dave' };
    const principals = await Promise.all(Array.from({ length: 30 }, (_, i) => resolve({ ...identity, client: i % 2 ? 'cli' : null })));
    expect(calls).toEqual({ maybeOne: 1, transaction: 1 });
    expect(new Set(principals.map((p) => p.workerId)).size).toBe(1);
    expect(principals.map((p) => p.client)).toEqual(Array.from({ length: 30 }, (_, i) => (i % 2 ? 'cli' : null)));
    // Remembered now; a token with another name is its own lookup (the provisioned worker is found, not made again).
    await resolve(identity);
    expect(calls).toEqual({ maybeOne: 1, transaction: 1 });
    const renamed = await Promise.all(Array.from({ length: 10 }, () => resolve({ ...identity, name: 'David' })));
    expect(calls).toEqual({ maybeOne: 2, transaction: 1 });
    expect(renamed.every((p) => p.name === 'David' && p.workerId === principals[0]!.workerId)).toBe(true);
  });

  it('takes the tenant from tenant_id, organization_id or organization_ids', async () => {
    for (const [claims, tenant] of [
      [{ tenant_id: 't-1' }, 't-1'],
      [{ organization_id: 'org-2' }, 'org-2'],
      [{ organization_ids: ['org-3', 'org-4'] }, 'org-3'],
      [{}, 'default'],
    ] as const) {
      const token = await t.sso.mint({ sub: `multi-${tenant}`, email: 'x@example.test', ...claims });
      const res = await t.request('GET', '/api/me', { headers: { authorization: `Bearer ${token}` } });
      expect(res.body.tenant_id).toBe(tenant);
    }
  });

  it('adopts an existing worker without a default project (a Phase I human linked to a login)', async () => {
    const workerId = await t.pool.oneFirst(sql.type(z.object({ id: z.number() }))`
      insert into worker (tenant_id, type, user_id, handle, name) values ('default', 'human', 'linked-sub', '@legacy-dan', 'Dan')
      returning id`);
    const dan = await t.user('linked-sub', { email: 'dan@example.test' });
    const res = await dan.api.GET('/api/me');
    expect(res.data).toMatchObject({ worker: { id: workerId, handle: '@legacy-dan' } });
    expect(res.data!.default_project_id).toEqual(expect.any(Number));
  });

  it('answers 401 problem+json with WWW-Authenticate without a token', async () => {
    const res = await t.request('GET', '/api/me');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body).toMatchObject({ type: 'https://taskflow.dev/problems/unauthorized', status: 401 });
  });
});
