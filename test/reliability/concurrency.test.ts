/**
 * Optimistic concurrency: ETags on projects, tasks and agents, If-Match on every write → 412 when stale, and of
 * N writers racing with the same ETag exactly one wins (the row is locked before the version is compared).
 */
import { sql } from 'slonik';
import { contractDocument } from '../helpers/contract.js';
import { startTestApp, type ApiUser, type RawResponse, type TestApp } from '../helpers/app.js';
import { integrityViolations, rowCounts, serverTally } from './support.js';

const N = 20;
const PRECONDITION = 'https://taskflow.dev/problems/precondition-failed';

describe('optimistic concurrency', () => {
  let t: TestApp;
  let alice: ApiUser;
  let projectId: number;
  let aliceWorker: number;
  beforeAll(async () => {
    t = await startTestApp();
    alice = await t.user('alice');
    aliceWorker = (await alice.request('GET', '/api/me')).body.worker.id;
    projectId = (await alice.request('POST', '/api/projects', { body: { slug: 'race', name: 'Race' } })).body.id;
  });
  afterAll(async () => {
    expect(await integrityViolations(t.pool)).toEqual([]);
    const byStatus = await serverTally(t, 'optimistic concurrency');
    expect(Object.keys(byStatus).filter((s) => s.startsWith('5'))).toEqual([]);
    await t?.close();
  });

  const newTask = async (title = 'Raced') => {
    const res = await alice.request('POST', `/api/projects/${projectId}/tasks`, { body: { title } });
    expect(res.status).toBe(201);
    return { id: res.body.id as number, etag: res.headers.get('etag')! };
  };
  const version = (table: 'project' | 'task', id: number) =>
    t.pool.oneFirst(sql.unsafe`select version from ${sql.identifier([table])} where id = ${id}`) as Promise<number>;

  /** Fires all at once and sorts the answers by status. */
  async function race(requests: (() => Promise<RawResponse>)[]) {
    const results = await Promise.all(requests.map((r) => r()));
    const byStatus: Record<number, RawResponse[]> = {};
    for (const r of results) (byStatus[r.status] ??= []).push(r);
    return byStatus;
  }

  it('the contract documents If-Match on every PATCH/DELETE and task state change, and ETag on their responses', () => {
    const missing: string[] = [];
    for (const item of Object.values(contractDocument.paths ?? {}) as Record<string, any>[]) {
      for (const [method, op] of Object.entries(item)) {
        // A membership or an API key has no fields to edit and so no version: removing one needs no precondition.
        if (!op?.operationId || ['removeProjectMember', 'revokeAgentKey'].includes(op.operationId)) continue;
        const stateChange = method === 'patch' || method === 'delete' || ['approveTask', 'rejectTask', 'claimTask'].includes(op.operationId);
        if (!stateChange) continue;
        const ifMatch = (op.parameters ?? []).some((p: { $ref?: string }) => p.$ref === '#/components/parameters/IfMatch');
        if (!ifMatch) missing.push(`${op.operationId}: If-Match`);
        if (method !== 'delete' && !op.responses['200']?.headers?.ETag) missing.push(`${op.operationId}: ETag`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('projects and tasks carry an ETag that changes on every write and matches what GET returns', async () => {
    const created = await alice.request('POST', '/api/projects', { body: { slug: 'etags', name: 'ETags' } });
    expect(created.headers.get('etag')).toMatch(/^"\d+\.[0-9a-f]{16}"$/);
    const got = await alice.request('GET', `/api/projects/${created.body.id}`);
    expect(got.headers.get('etag')).toBe(created.headers.get('etag'));
    const patched = await alice.request('PATCH', `/api/projects/${created.body.id}`, { body: { name: 'ETags 2' }, headers: { 'if-match': got.headers.get('etag')! } });
    expect(patched.status).toBe(200);
    expect(patched.headers.get('etag')).not.toBe(got.headers.get('etag'));
    expect((await alice.request('GET', `/api/projects/${created.body.id}`)).headers.get('etag')).toBe(patched.headers.get('etag'));

    const task = await newTask('ETag task');
    let etag = task.etag;
    const steps: [string, string, object][] = [
      ['PATCH', '', { title: 'Renamed' }],
      ['PATCH', '/status', { status: 'in_progress' }],
      ['PATCH', '/progress', { progress_percent: 40 }],
      ['PATCH', '/assign', { assignee_id: aliceWorker }],
      ['PATCH', '/status', { status: 'review' }],
      ['POST', '/reject', { reason: 'Not yet' }],
      ['PATCH', '/status', { status: 'review' }],
      ['POST', '/approve', {}],
    ];
    for (const [method, suffix, body] of steps) {
      const res = await alice.request(method, `/api/tasks/${task.id}${suffix}`, { body: method === 'POST' && suffix === '/approve' ? undefined : body, headers: { 'if-match': etag } });
      expect({ step: suffix || 'update', status: res.status }).toEqual({ step: suffix || 'update', status: 200 });
      const next = res.headers.get('etag')!;
      expect(next).toMatch(/^"\d+"$/);
      expect(next).not.toBe(etag);
      etag = next;
    }
    expect((await alice.request('GET', `/api/tasks/${task.id}`)).headers.get('etag')).toBe(etag);
  });

  describe('a stale If-Match is 412 precondition-failed and changes nothing', () => {
    it.each([
      ['updateTask', 'PATCH', '', { title: 'Stale' }],
      ['updateTaskStatus', 'PATCH', '/status', { status: 'in_progress' }],
      ['updateTaskProgress', 'PATCH', '/progress', { progress_percent: 10 }],
      ['assignTask', 'PATCH', '/assign', { assignee_id: null }],
      ['approveTask', 'POST', '/approve', undefined],
      ['rejectTask', 'POST', '/reject', { reason: 'Stale' }],
      ['deleteTask', 'DELETE', '', undefined],
    ])('%s', async (_op, method, suffix, body) => {
      const task = await newTask();
      const moved = await alice.request('PATCH', `/api/tasks/${task.id}/status`, { body: { status: 'in_progress' } });
      if (suffix === '/approve' || suffix === '/reject') await alice.request('PATCH', `/api/tasks/${task.id}/status`, { body: { status: 'review' } });
      expect(moved.headers.get('etag')).not.toBe(task.etag);
      const before = { counts: await rowCounts(t.pool), version: await version('task', task.id), row: (await alice.request('GET', `/api/tasks/${task.id}`)).body };
      const res = await alice.request(method, `/api/tasks/${task.id}${suffix}`, { body, headers: { 'if-match': task.etag } });
      expect(res).toMatchObject({ status: 412, body: { type: PRECONDITION } });
      expect(res.body.detail).toContain(task.etag);
      expect(await rowCounts(t.pool)).toEqual(before.counts);
      expect(await version('task', task.id)).toBe(before.version);
      expect((await alice.request('GET', `/api/tasks/${task.id}`)).body).toEqual(before.row);
    });

    it.each([
      ['updateProject', 'PATCH', { name: 'Stale' }],
      ['deleteProject', 'DELETE', undefined],
    ])('%s', async (_op, method, body) => {
      const project = await alice.request('POST', '/api/projects', { body: { slug: `stale-${method.toLowerCase()}`, name: 'Stale' } });
      const stale = project.headers.get('etag')!;
      await alice.request('PATCH', `/api/projects/${project.body.id}`, { body: { name: 'Moved on' } });
      const before = await rowCounts(t.pool);
      const res = await alice.request(method, `/api/projects/${project.body.id}`, { body, headers: { 'if-match': stale } });
      expect(res).toMatchObject({ status: 412, body: { type: PRECONDITION } });
      expect(await rowCounts(t.pool)).toEqual(before);
      expect((await alice.request('GET', `/api/projects/${project.body.id}`)).body.name).toBe('Moved on');
    });

    it('updateAgent and deleteAgent', async () => {
      const agent = await alice.request('POST', '/api/agents', { body: { handle: '@stale', name: 'Stale', agent_type: 'custom' } });
      const stale = agent.headers.get('etag');
      expect(stale).toMatch(/^"\d+"$/);
      await alice.request('PATCH', `/api/agents/${agent.body.id}`, { body: { name: 'Moved on' } });
      const before = await rowCounts(t.pool);
      expect(await alice.request('PATCH', `/api/agents/${agent.body.id}`, { body: { name: 'Stale' }, headers: { 'if-match': stale! } })).toMatchObject({ status: 412 });
      expect(await alice.request('DELETE', `/api/agents/${agent.body.id}`, { headers: { 'if-match': stale! } })).toMatchObject({ status: 412 });
      expect(await rowCounts(t.pool)).toEqual(before);
    });

    it('comparison is strong: a weak tag never matches, * and a list containing the current tag do', async () => {
      const task = await newTask();
      const weak = await alice.request('PATCH', `/api/tasks/${task.id}`, { body: { title: 'Weak' }, headers: { 'if-match': `W/${task.etag}` } });
      expect(weak.status).toBe(412);
      const listed = await alice.request('PATCH', `/api/tasks/${task.id}`, { body: { title: 'Listed' }, headers: { 'if-match': `"999", ${task.etag}` } });
      expect(listed.status).toBe(200);
      const star = await alice.request('PATCH', `/api/tasks/${task.id}`, { body: { title: 'Star' }, headers: { 'if-match': '*' } });
      expect(star.status).toBe(200);
    });
  });

  describe(`${N} concurrent writers holding the same ETag: exactly one succeeds, the rest get 412`, () => {
    it('updateProject', async () => {
      const project = await alice.request('POST', '/api/projects', { body: { slug: 'contended', name: 'Contended' } });
      const etag = project.headers.get('etag')!;
      const audit = (await rowCounts(t.pool)).audit_log;
      const results = await race(
        Array.from({ length: N }, (_, i) => () =>
          alice.request('PATCH', `/api/projects/${project.body.id}`, { body: { name: `Writer ${i}` }, headers: { 'if-match': etag } })),
      );
      expect(Object.keys(results).sort()).toEqual(['200', '412']);
      expect(results[200]).toHaveLength(1);
      expect(results[412]).toHaveLength(N - 1);
      const winner = results[200]![0]!;
      const now = await alice.request('GET', `/api/projects/${project.body.id}`);
      expect(now.body.name).toBe(winner.body.name);
      expect(now.headers.get('etag')).toBe(winner.headers.get('etag'));
      expect(await version('project', project.body.id)).toBe(Number(/^"(\d+)/.exec(etag)![1]) + 1);
      expect((await rowCounts(t.pool)).audit_log - audit).toBe(1);
    });

    it('updateTaskStatus', async () => {
      const task = await newTask('Contended task');
      const audit = (await rowCounts(t.pool)).audit_log;
      const targets = ['in_progress', 'blocked', 'completed'] as const;
      const results = await race(
        Array.from({ length: N }, (_, i) => () =>
          alice.request('PATCH', `/api/tasks/${task.id}/status`, { body: { status: targets[i % 3] }, headers: { 'if-match': task.etag } })),
      );
      expect(Object.keys(results).sort()).toEqual(['200', '412']);
      expect(results[200]).toHaveLength(1);
      expect(results[412]).toHaveLength(N - 1);
      const now = await alice.request('GET', `/api/tasks/${task.id}`);
      expect(now.body.status).toBe(results[200]![0]!.body.status);
      expect((await rowCounts(t.pool)).audit_log - audit).toBe(1);
    });

    it('mixed writes on one task (update, status, progress, assign, delete)', async () => {
      const task = await newTask('Mixed');
      const started = await alice.request('PATCH', `/api/tasks/${task.id}/status`, { body: { status: 'in_progress' } });
      const etag = started.headers.get('etag')!;
      const audit = (await rowCounts(t.pool)).audit_log;
      const writes: [string, string, object | undefined][] = [
        ['PATCH', '', { title: 'Mixed 2' }],
        ['PATCH', '/status', { status: 'review' }],
        ['PATCH', '/progress', { progress_percent: 50 }],
        ['PATCH', '/assign', { assignee_id: aliceWorker }],
        ['DELETE', '', undefined],
      ];
      const results = await race(
        Array.from({ length: N }, (_, i) => () => {
          const [method, suffix, body] = writes[i % writes.length]!;
          return alice.request(method, `/api/tasks/${task.id}${suffix}`, { body, headers: { 'if-match': etag } });
        }),
      );
      const wins = (results[200]?.length ?? 0) + (results[204]?.length ?? 0);
      expect(wins).toBe(1);
      // Losers see 412, or 404 if the winner was the DELETE (then the task is gone for them, which is the truth).
      const deleted = (results[204]?.length ?? 0) === 1;
      expect((results[412]?.length ?? 0) + (deleted ? results[404]?.length ?? 0 : 0)).toBe(N - 1);
      expect((await rowCounts(t.pool)).audit_log - audit).toBe(1);
    });

    it('without If-Match, concurrent writers are serialised, not lost: 20 progress reports leave 20 audit entries', async () => {
      const task = await newTask('Serialised');
      await alice.request('PATCH', `/api/tasks/${task.id}/status`, { body: { status: 'in_progress' } });
      const v = await version('task', task.id);
      const audit = (await rowCounts(t.pool)).audit_log;
      const results = await race(Array.from({ length: N }, (_, i) => () => alice.request('PATCH', `/api/tasks/${task.id}/progress`, { body: { progress_percent: i + 1 } })));
      expect(Object.keys(results)).toEqual(['200']);
      expect(await version('task', task.id)).toBe(v + N);
      expect((await rowCounts(t.pool)).audit_log - audit).toBe(N);
    });
  });
});
