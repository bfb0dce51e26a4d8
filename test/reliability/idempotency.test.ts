/**
 * Idempotency-Key on every creating POST: a retry replays, another body is refused, racing duplicates create
 * one row, keys are per user, live in PostgreSQL (other instances, restarts) and vanish with a failed request.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { sql } from 'slonik';
import { contractDocument } from '../helpers/contract.js';
import { startTestApp, type ApiUser, type RawResponse, type TestApp } from '../helpers/app.js';
import { purgeExpiredKeys } from '../../src/idempotency/index.js';
import { integrityViolations, rowCounts, serverTally, sleep } from './support.js';

const PROBLEM = 'https://taskflow.dev/problems/';

describe('Idempotency-Key', () => {
  let t: TestApp;
  let alice: ApiUser;
  let bob: ApiUser;
  let projectId: number;
  let taskId: number;
  let agentId: number;
  beforeAll(async () => {
    t = await startTestApp();
    alice = await t.user('alice');
    bob = await t.user('bob');
    await bob.request('GET', '/api/me');
    projectId = (await alice.request('POST', '/api/projects', { body: { slug: 'idem', name: 'Idempotency' } })).body.id;
    taskId = (await alice.request('POST', `/api/projects/${projectId}/tasks`, { body: { title: 'Parent' } })).body.id;
    agentId = (await alice.request('POST', '/api/agents', { body: { handle: '@idem-agent', name: 'Agent', agent_type: 'qwen' } })).body.id;
  });
  afterAll(async () => {
    expect(await integrityViolations(t.pool)).toEqual([]);
    await serverTally(t, 'idempotency (the one 500 is the forced storage failure)');
    await t?.close();
  });

  const key = () => randomUUID();
  /**
   * The two documented exceptions: minting an API key (a replay would need its secret stored, and only its hash
   * is) and the ChatKit protocol endpoint (its clients send no such header; a thread's items carry their own ids).
   */
  const NO_IDEMPOTENCY_KEY = new Set(['createAgentKey', 'chatKit']);

  it('is declared on every POST (every POST changes state), with Idempotent-Replayed on its success', () => {
    const declared: string[] = [];
    const posts: string[] = [];
    for (const item of Object.values(contractDocument.paths ?? {})) {
      const post = (item as Record<string, any>).post;
      if (!post) continue;
      posts.push(post.operationId);
      if ((post.parameters ?? []).some((p: { $ref?: string }) => p.$ref === '#/components/parameters/IdempotencyKey')) declared.push(post.operationId);
      if (NO_IDEMPOTENCY_KEY.has(post.operationId)) continue;
      const success = post.responses['201'] ?? post.responses['200'] ?? post.responses['202'];
      expect([post.operationId, Object.keys(success.headers ?? {})]).toEqual([post.operationId, expect.arrayContaining(['Idempotent-Replayed'])]);
    }
    expect(declared.sort()).toEqual(posts.filter((op) => !NO_IDEMPOTENCY_KEY.has(op)).sort());
    expect(posts.sort()).toEqual([
      'addProjectMember', 'approveTask', 'chatKit', 'claimNextTask', 'claimTask', 'createAgent', 'createAgentKey', 'createProject', 'createSubtask',
      'createTask', 'createWebhook', 'markAllNotificationsRead', 'markNotificationRead', 'pingWebhook', 'rejectTask',
    ]);
  });

  /** A task of alice's, in review, with its ETag. */
  const inReview = async () => {
    const task = (await alice.request('POST', `/api/projects/${projectId}/tasks`, { body: { title: 'To review' } })).body;
    await alice.request('PATCH', `/api/tasks/${task.id}/status`, { body: { status: 'in_progress' } });
    return (await alice.request('PATCH', `/api/tasks/${task.id}/status`, { body: { status: 'review' } })).body as { id: number };
  };

  // Each state-changing action: the request, and the same request with another body (null: it takes none).
  const actions: [string, string, Record<string, unknown> | undefined, Record<string, unknown> | null][] = [
    ['approveTask', 'approve', undefined, null],
    ['rejectTask', 'reject', { reason: 'Two links still point to staging.' }, { reason: 'Something else.' }],
  ];

  it.each(actions)('%s: a client that timed out retries with the same key and gets the original answer, applied once', async (_op, action, body, other) => {
    const task = await inReview();
    const k = key();
    const first = await alice.request('POST', `/api/tasks/${task.id}/${action}`, { body, headers: { 'idempotency-key': k } });
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const after = await rowCounts(t.pool);
    // Without the key the retry would be a 409 not-in-review (the task has moved on); with it, the stored answer.
    expect((await alice.request('POST', `/api/tasks/${task.id}/${action}`, { body })).status).toBe(409);
    const retry = await alice.request('POST', `/api/tasks/${task.id}/${action}`, { body, headers: { 'idempotency-key': k } });
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await rowCounts(t.pool)).toEqual(after);
    if (other) {
      const reused = await alice.request('POST', `/api/tasks/${task.id}/${action}`, { body: other, headers: { 'idempotency-key': k } });
      expect(reused).toMatchObject({ status: 422, body: { type: PROBLEM + 'idempotency-key-reused' } });
    }
    // The same key on another task is another request.
    const next = await inReview();
    const elsewhere = await alice.request('POST', `/api/tasks/${next.id}/${action}`, { body, headers: { 'idempotency-key': k } });
    expect(elsewhere).toMatchObject({ status: 422, body: { type: PROBLEM + 'idempotency-key-reused' } });
    expect(await rowCounts(t.pool)).toMatchObject({ audit_log: after.audit_log + 3, idempotency_key: after.idempotency_key });
  });

  it.each(actions)('%s: a refused action (409) stores no key; the retry once the task is in review applies it', async (_op, action, body) => {
    const task = (await alice.request('POST', `/api/projects/${projectId}/tasks`, { body: { title: 'Not yet in review' } })).body;
    const k = key();
    const early = await alice.request('POST', `/api/tasks/${task.id}/${action}`, { body, headers: { 'idempotency-key': k } });
    expect(early).toMatchObject({ status: 409, body: { type: PROBLEM + 'not-in-review' } });
    await alice.request('PATCH', `/api/tasks/${task.id}/status`, { body: { status: 'in_progress' } });
    await alice.request('PATCH', `/api/tasks/${task.id}/status`, { body: { status: 'review' } });
    const retry = await alice.request('POST', `/api/tasks/${task.id}/${action}`, { body, headers: { 'idempotency-key': k } });
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
  });

  it('claimTask: a retry with the same key replays the claim, applied once', async () => {
    const task = (await alice.request('POST', `/api/projects/${projectId}/tasks`, { body: { title: 'To claim' } })).body as { id: number };
    const me = (await alice.request('GET', '/api/me')).body.worker.id as number;
    const k = key();
    const first = await alice.request('POST', `/api/tasks/${task.id}/claim`, { headers: { 'idempotency-key': k } });
    expect(first).toMatchObject({ status: 200, body: { status: 'in_progress', assignee_id: me } });
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const after = await rowCounts(t.pool);
    const retry = await alice.request('POST', `/api/tasks/${task.id}/claim`, { headers: { 'idempotency-key': k } });
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await rowCounts(t.pool)).toEqual(after);
  });

  it('claimNextTask: a retry with the same key answers the task first claimed and claims no other', async () => {
    const p = (await alice.request('POST', '/api/projects', { body: { slug: `claims-${randomUUID().slice(0, 8)}`, name: 'Claims' } })).body.id as number;
    const urgent = (await alice.request('POST', `/api/projects/${p}/tasks`, { body: { title: 'Urgent', priority: 'critical' } })).body as { id: number };
    const other = (await alice.request('POST', `/api/projects/${p}/tasks`, { body: { title: 'Later', priority: 'low' } })).body as { id: number };
    const k = key();
    const first = await alice.request('POST', `/api/projects/${p}/tasks/claim-next`, { headers: { 'idempotency-key': k } });
    expect(first).toMatchObject({ status: 200, body: { id: urgent.id, status: 'in_progress' } });
    const after = await rowCounts(t.pool);
    const retry = await alice.request('POST', `/api/projects/${p}/tasks/claim-next`, { headers: { 'idempotency-key': k } });
    expect(retry).toMatchObject({ status: 200, body: first.body });
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await rowCounts(t.pool)).toEqual(after);
    const untouched = await alice.request('GET', `/api/tasks/${other.id}`);
    expect(untouched.body).toMatchObject({ status: 'pending', assignee_id: null });
  });

  // Each creating operation: a body for the first call, and the path.
  // Each creating operation: its path, a body for the first call, and another body for the same key.
  const creations: [string, () => string, () => Record<string, unknown>, () => Record<string, unknown>][] = [
    ['createProject', () => '/api/projects', () => ({ slug: `p-${randomUUID().slice(0, 8)}`, name: 'Replayed' }), () => ({ name: 'Else' })],
    ['createAgent', () => '/api/agents', () => ({ handle: `@a-${randomUUID().slice(0, 8)}`, name: 'Agent', agent_type: 'custom', capabilities: ['x'] }), () => ({ capabilities: [] })],
    ['createTask', () => `/api/projects/${projectId}/tasks`, () => ({ title: 'Replayed task', tags: ['x', 'y'], priority: 'high' }), () => ({ priority: 'low' })],
    ['createSubtask', () => `/api/tasks/${taskId}/subtasks`, () => ({ title: 'Replayed subtask' }), () => ({ title: 'Else' })],
    ['addProjectMember', () => `/api/projects/${projectId}/members`, () => ({ agent_id: agentId }), () => ({ agent_id: agentId + 1000 })],
  ];

  it.each(creations)('%s: a retry with the same key and body returns the original response and creates nothing', async (_op, path, body, change) => {
    const k = key();
    const payload = body();
    const first = await alice.request('POST', path(), { body: payload, headers: { 'idempotency-key': k } });
    expect(first.status).toBe(201);
    const after = await rowCounts(t.pool);
    for (let i = 0; i < 3; i++) {
      // Same JSON with the keys in another order is the same request.
      const reordered = Object.fromEntries(Object.entries(payload).reverse());
      const retry = await alice.request('POST', path(), { body: reordered, headers: { 'idempotency-key': k } });
      expect(retry.status).toBe(201);
      expect(retry.body).toEqual(first.body);
      expect(retry.headers.get('location')).toBe(first.headers.get('location'));
      expect(retry.headers.get('etag')).toBe(first.headers.get('etag'));
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
    }
    expect(await rowCounts(t.pool)).toEqual(after);

    const other = await alice.request('POST', path(), { body: { ...payload, ...change() }, headers: { 'idempotency-key': k } });
    expect(other).toMatchObject({ status: 422, body: { type: PROBLEM + 'idempotency-key-reused', errors: [{ pointer: '/header/idempotency-key' }] } });
    expect(await rowCounts(t.pool)).toEqual(after);
  });

  it('the same key on another path is another request (422), not a replay', async () => {
    const k = key();
    const other = (await alice.request('POST', '/api/projects', { body: { slug: 'idem-2', name: 'Other' } })).body.id;
    expect((await alice.request('POST', `/api/projects/${projectId}/tasks`, { body: { title: 'T' }, headers: { 'idempotency-key': k } })).status).toBe(201);
    const res = await alice.request('POST', `/api/projects/${other}/tasks`, { body: { title: 'T' }, headers: { 'idempotency-key': k } });
    expect(res).toMatchObject({ status: 422, body: { type: PROBLEM + 'idempotency-key-reused' } });
  });

  it('keys are per user: another user with the same key gets their own creation', async () => {
    const k = key();
    const a = await alice.request('POST', '/api/projects', { body: { slug: 'same-key-a', name: 'Same key' }, headers: { 'idempotency-key': k } });
    const b = await bob.request('POST', '/api/projects', { body: { slug: 'same-key-b', name: 'Same key' }, headers: { 'idempotency-key': k } });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.body.id).not.toBe(a.body.id);
    expect(b.headers.get('idempotent-replayed')).toBeNull();
    // Even with an identical body, bob's request is not a replay of alice's response.
    const k2 = key();
    const a2 = await alice.request('POST', '/api/agents', { body: { handle: '@per-user', name: 'A', agent_type: 'custom' }, headers: { 'idempotency-key': k2 } });
    const b2 = await bob.request('POST', '/api/agents', { body: { handle: '@per-user', name: 'A', agent_type: 'custom' }, headers: { 'idempotency-key': k2 } });
    expect(a2.status).toBe(201);
    expect(b2).toMatchObject({ status: 409, body: { type: PROBLEM + 'handle-taken' } }); // same tenant: a real conflict, not a replay
  });

  it.each([
    ['createTask', () => `/api/projects/${projectId}/tasks`, { title: 'Raced task' }],
    ['createProject', () => '/api/projects', { slug: 'raced', name: 'Raced' }],
  ])('%s: 20 concurrent duplicates create exactly one row; the others replay it or are told it is in flight', async (_op, path, body) => {
    const before = await rowCounts(t.pool);
    const k = key();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => alice.request('POST', path(), { body, headers: { 'idempotency-key': k } })),
    );
    const fresh = results.filter((r) => r.status === 201 && !r.headers.get('idempotent-replayed'));
    const replayed = results.filter((r) => r.status === 201 && r.headers.get('idempotent-replayed'));
    const inFlight = results.filter((r) => r.status === 409 && r.body.type === PROBLEM + 'idempotency-in-flight');
    expect(fresh).toHaveLength(1);
    expect(replayed.length + inFlight.length).toBe(19);
    for (const r of replayed) expect(r.body.id).toBe(fresh[0]!.body.id);
    for (const r of inFlight) expect(r.headers.get('retry-after')).toBe('1');
    const after = await rowCounts(t.pool);
    const table = path().endsWith('/tasks') ? 'task' : 'project';
    expect(after[table] - before[table]).toBe(1);
    expect(after.audit_log - before.audit_log).toBe(1);
    expect(after.idempotency_key - before.idempotency_key).toBe(1);
    // Once it settled, every retry is a replay.
    const late = await alice.request('POST', path(), { body, headers: { 'idempotency-key': k } });
    expect(late).toMatchObject({ status: 201, body: { id: fresh[0]!.body.id } });
  });

  it('a request that fails leaves no key behind: the retry runs afresh', async () => {
    const k = key();
    const taken = await alice.request('POST', '/api/projects', { body: { slug: 'taken', name: 'First' } });
    const before = await rowCounts(t.pool);
    const conflict = await alice.request('POST', '/api/projects', { body: { slug: 'taken', name: 'Second' }, headers: { 'idempotency-key': k } });
    expect(conflict).toMatchObject({ status: 409, body: { type: PROBLEM + 'slug-taken' } });
    expect(await rowCounts(t.pool)).toEqual(before);
    await alice.request('DELETE', `/api/projects/${taken.body.id}`);
    const retry = await alice.request('POST', '/api/projects', { body: { slug: 'taken', name: 'Second' }, headers: { 'idempotency-key': k } });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
  });

  it('a request whose database connection dies mid-way commits nothing and leaves the key free', async () => {
    const k = key();
    const body = { title: 'Interrupted' };
    const before = await rowCounts(t.pool);
    // Hold the project row (on a connection of our own) so the insert's foreign key check waits, with the key's lock taken.
    let interrupted: Promise<RawResponse> | undefined;
    const blocker = new pg.Client({ connectionString: t.db.url });
    await blocker.connect();
    try {
      await blocker.query('begin');
      await blocker.query('select 1 from project where id = $1 for update', [projectId]);
      interrupted = alice.request('POST', `/api/projects/${projectId}/tasks`, { body, headers: { 'idempotency-key': k } });
      let holder: number | null = null;
      for (let i = 0; i < 100 && holder === null; i++) {
        await sleep(20);
        // pg_locks lists every database of the server: only this test's own database is ours to look at (another
        // suite's advisory lock, e.g. the import's, would otherwise be taken for the key's and its backend killed).
        holder = (await t.pool.maybeOneFirst(sql.unsafe`
          select pid from pg_locks
          where locktype = 'advisory' and granted and database = (select oid from pg_database where datname = current_database())
          limit 1`)) as number | null;
      }
      expect(holder).not.toBeNull();
      // The duplicate meanwhile is told the first is still running.
      const dup = await alice.request('POST', `/api/projects/${projectId}/tasks`, { body, headers: { 'idempotency-key': k } });
      expect(dup).toMatchObject({ status: 409, body: { type: PROBLEM + 'idempotency-in-flight' } });
      // The server's connection dies mid-request, as it would with the process.
      await t.pool.query(sql.unsafe`select pg_terminate_backend(${holder!})`);
    } finally {
      await blocker.query('rollback');
      await blocker.end();
    }
    // The dead transaction was rolled back: either the server ran it again on a fresh connection (db/retry.ts)
    // and answered 201, or it answered 503 and left nothing behind. Either way a retry with the key is safe.
    const first = await interrupted!;
    if (first.status === 503) {
      expect(first.body.type).toBe(PROBLEM + 'unavailable');
      expect(await rowCounts(t.pool)).toEqual(before);
    } else {
      expect(first.status).toBe(201);
    }
    const retry = await alice.request('POST', `/api/projects/${projectId}/tasks`, { body, headers: { 'idempotency-key': k } });
    expect(retry.status).toBe(201);
    if (first.status === 201) expect(retry.body.id).toBe(first.body.id);
    const after = await rowCounts(t.pool);
    expect(after.task - before.task).toBe(1);
    expect(after.idempotency_key - before.idempotency_key).toBe(1);
  });

  it('the creation and its stored response commit together: if storing fails, nothing is created', async () => {
    await t.pool.query(sql.unsafe`create function refuse_key() returns trigger language plpgsql as $$ begin raise exception 'disk full'; end $$`);
    await t.pool.query(sql.unsafe`create trigger refuse_key before insert on idempotency_key for each row execute function refuse_key()`);
    const before = await rowCounts(t.pool);
    try {
      const res = await alice.request('POST', `/api/projects/${projectId}/tasks`, { body: { title: 'Never stored' }, headers: { 'idempotency-key': key() } });
      expect(res).toMatchObject({ status: 500, body: { type: PROBLEM + 'internal' } });
      expect(JSON.stringify(res.body)).not.toMatch(/disk full|idempotency_key|insert/i);
    } finally {
      await t.pool.query(sql.unsafe`drop trigger refuse_key on idempotency_key`);
      await t.pool.query(sql.unsafe`drop function refuse_key()`);
    }
    expect(await rowCounts(t.pool)).toEqual(before);
  });

  it('keys live in PostgreSQL: another instance replays them, and so does a restarted one', async () => {
    const k = key();
    const body = { slug: 'two-instances', name: 'Two instances' };
    const first = await alice.request('POST', '/api/projects', { body, headers: { 'idempotency-key': k } });
    expect(first.status).toBe(201);
    let other = await startTestApp({ databaseUrl: t.db.url, sso: t.sso });
    try {
      const aliceThere = await other.user('alice');
      const replay = await aliceThere.request('POST', '/api/projects', { body, headers: { 'idempotency-key': k } });
      expect(replay).toMatchObject({ status: 201, body: { id: first.body.id } });
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      // A key first used on the other instance is honoured here.
      const k2 = key();
      const made = await aliceThere.request('POST', '/api/agents', { body: { handle: '@there', name: 'T', agent_type: 'gemini' }, headers: { 'idempotency-key': k2 } });
      expect(made.status).toBe(201);
      await other.close();
      other = await startTestApp({ databaseUrl: t.db.url, sso: t.sso }); // a restart: a new process, memory empty
      const afterRestart = await (await other.user('alice')).request('POST', '/api/agents', {
        body: { handle: '@there', name: 'T', agent_type: 'gemini' },
        headers: { 'idempotency-key': k2 },
      });
      expect(afterRestart).toMatchObject({ status: 201, body: { id: made.body.id } });
    } finally {
      await other.close();
    }
  });

  it('keys expire after 24 h: the key may then be used for a new request, and the purge deletes old ones', async () => {
    const k = key();
    const first = await alice.request('POST', '/api/projects', { body: { slug: 'expiring', name: 'Old' }, headers: { 'idempotency-key': k } });
    expect(first.status).toBe(201);
    await t.pool.query(sql.unsafe`update idempotency_key set created_at = now() - interval '25 hours' where key = ${k}`);
    const reused = await alice.request('POST', '/api/projects', { body: { slug: 'expiring-2', name: 'New' }, headers: { 'idempotency-key': k } });
    expect(reused.status).toBe(201);
    expect(reused.body.id).not.toBe(first.body.id);
    const k2 = key();
    await alice.request('POST', '/api/projects', { body: { slug: 'purged', name: 'Purged' }, headers: { 'idempotency-key': k2 } });
    await t.pool.query(sql.unsafe`update idempotency_key set created_at = now() - interval '25 hours' where key = ${k2}`);
    expect(await purgeExpiredKeys(t.pool)).toBe(1);
    expect(await t.pool.exists(sql.unsafe`select 1 from idempotency_key where key = ${k2}`)).toBe(false);
  });

  it('a request without a key is not deduplicated (opt-in)', async () => {
    const before = await rowCounts(t.pool);
    await alice.request('POST', `/api/projects/${projectId}/tasks`, { body: { title: 'No key' } });
    await alice.request('POST', `/api/projects/${projectId}/tasks`, { body: { title: 'No key' } });
    expect((await rowCounts(t.pool)).task - before.task).toBe(2);
  });

  it.each([[''], ['x'.repeat(256)]])('a key outside 1–255 characters (%j) is 422 at /header/idempotency-key', async (k) => {
    const res = await alice.request('POST', '/api/projects', { body: { slug: 'bad-key', name: 'Bad key' }, headers: { 'idempotency-key': k } });
    expect(res).toMatchObject({ status: 422, body: { errors: [{ pointer: '/header/idempotency-key' }] } });
  });
});
