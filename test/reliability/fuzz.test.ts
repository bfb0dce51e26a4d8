/**
 * Property-based fuzzing of every operation of the contract (see fuzz.ts): valid and mutated requests never
 * get a 5xx or a response the contract does not document (the harness checks every response), a mutated
 * request is refused with a documented 4xx, and a refused write leaves every table exactly as it was.
 *
 * Deterministic: a fixed seed per operation (FUZZ_SEED to change it, FUZZ_RUNS for more cases, FUZZ_ONLY=op,op
 * to focus). A failure prints the seed, the operation and the request.
 */
import fc from 'fast-check';
import { contractDocument } from '../helpers/contract.js';
import { startTestApp, type ApiUser, type RawResponse, type TestApp } from '../helpers/app.js';
import { describe as describeRequest, invalidRequest, operationsOf, validRequest, type FuzzRequest, type FuzzWorld, type Operation } from './fuzz.js';
import { buildWorld, integrityViolations, rowCounts, serverTally, Tally } from './support.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20260131);
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const ONLY = process.env.FUZZ_ONLY?.split(',').filter(Boolean);
const WRITE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const POINTER = /^\/(body|query|path|header)(\/|$)/;

/**
 * Not fuzzed here, with the reason. chatKit: a protocol endpoint that, like the reference ChatKit server,
 * ignores fields it does not know (clients add their own), so "an unknown field is refused" does not hold;
 * its requests, errors and events are covered by test/chat/. streamEvents: an endless text/event-stream, which
 * a request-response fuzzer cannot read to the end; its validation and problems are tested in
 * test/events/streamEvents.test.ts.
 */
const NOT_FUZZED: Record<string, string> = {
  chatKit: 'ChatKit protocol endpoint: lenient with unknown fields by design; see test/chat/',
  streamEvents: 'endless text/event-stream; see test/events/streamEvents.test.ts',
};

const operations = operationsOf(contractDocument).filter((op) => !NOT_FUZZED[op.operationId] && (!ONLY || ONLY.includes(op.operationId)));

describe('fuzzing every operation from the contract', () => {
  let t: TestApp;
  let owner: ApiUser;
  let member: ApiUser;
  let outsider: ApiUser;
  const tally = { valid: new Tally(), invalid: new Tally() };
  beforeAll(async () => {
    // Webhook URLs are fuzzed too: they are not resolved at creation (no DNS lookups of random host names).
    t = await startTestApp({ env: { WEBHOOK_ALLOW_PRIVATE: 'true' } });
    owner = await t.user('fuzz-owner');
    member = await t.user('fuzz-member');
    outsider = await t.user('fuzz-outsider');
    await outsider.request('GET', '/api/me');
  });
  afterAll(async () => {
    if (t) {
      expect(await integrityViolations(t.pool)).toEqual([]);
      const byStatus = await serverTally(t, 'fuzz, world building included');
      expect(Object.keys(byStatus).filter((s) => s.startsWith('5'))).toEqual([]);
      console.log(`fuzz (seed ${SEED}, ${RUNS} cases per operation, ${operations.length} operations)\n  valid:   ${tally.valid}\n  invalid: ${tally.invalid}`);
      await t.close();
    }
  });

  async function fuzzWorld(tag: string): Promise<FuzzWorld> {
    const w = await buildWorld(owner, member, tag);
    const others = await outsider.request('GET', '/api/me');
    const members = await owner.request('GET', `/api/projects/${w.projectId}/members`);
    const ownerMe = await owner.request('GET', '/api/me');
    const taskEtag = (await owner.request('GET', `/api/tasks/${w.taskIds[0]}`)).headers.get('etag')!;
    const lists = ['/api/projects', `/api/projects/${w.projectId}/tasks`, '/api/tasks', `/api/projects/${w.projectId}/members`, `/api/projects/${w.projectId}/audit`, `/api/tasks/${w.taskIds[1]}/audit`, '/api/agents'];
    const cursors: string[] = [];
    for (const path of lists) {
      const page = await owner.request('GET', path, { query: { limit: 1 } });
      if (page.body?.next_cursor) cursors.push(page.body.next_cursor);
    }
    return {
      projectIds: [w.projectId, ownerMe.body.default_project_id, others.body.default_project_id],
      taskIds: [...w.taskIds, w.subtaskId],
      workerIds: [...w.memberWorkerIds, others.body.worker.id],
      agentIds: [w.agentId],
      memberIds: members.body.items.map((m: { id: number }) => m.id),
      userIds: ['fuzz-member', 'fuzz-outsider', 'nobody-signed-in'],
      etags: [w.projectEtag, taskEtag],
      cursors,
    };
  }

  function send(req: FuzzRequest): Promise<RawResponse> {
    const headers = { ...req.headers };
    if (req.rawBody !== undefined) headers['content-type'] ??= 'application/json';
    const options = { body: req.body, rawBody: req.rawBody, headers, query: req.query };
    switch (req.caller) {
      case 'owner':
        return owner.request(req.method, req.path, options);
      case 'member':
        return member.request(req.method, req.path, options);
      case 'outsider':
        return outsider.request(req.method, req.path, options);
      case 'bad-token':
        return t.request(req.method, req.path, { ...options, headers: { ...headers, authorization: 'Bearer not.a.token' } });
      case 'anonymous':
        return t.request(req.method, req.path, options);
    }
  }

  async function check(op: Operation, req: FuzzRequest): Promise<void> {
    const write = WRITE.has(req.method);
    const before = write ? await rowCounts(t.pool) : undefined;
    let res: RawResponse;
    try {
      res = await send(req);
    } catch (err) {
      throw new Error(`${op.operationId}: ${(err as Error).message}\n  request: ${describeRequest(req)}`);
    }
    (req.mutation ? tally.invalid : tally.valid).add(String(res.status));
    if (process.env.FUZZ_TRACE && !req.mutation && res.status === 422) console.log(describeRequest(req), JSON.stringify(res.body.errors ?? res.body.detail));
    const fail = (why: string) => {
      throw new Error(`${op.operationId}: ${why}\n  request: ${describeRequest(req)}\n  response: ${res.status} ${JSON.stringify(res.body)?.slice(0, 800)}`);
    };
    if (res.status >= 500) fail('server error');
    if (req.mustReject && ![400, 401, 413, 415, 422].includes(res.status)) fail('a request the contract forbids was not refused');
    if (req.mustReject && req.caller === 'owner' && res.status === 401) fail('401 for a valid token');
    if (res.status === 422 && res.body?.type?.endsWith('/validation-failed')) {
      const errors = (res.body.errors ?? []) as { pointer: string }[];
      if (errors.length === 0 || !errors.every((e) => POINTER.test(e.pointer))) fail('422 without a pointer to the field');
    }
    if (write && res.status >= 400) {
      const after = await rowCounts(t.pool);
      if (JSON.stringify(after) !== JSON.stringify(before)) fail(`a refused write changed the database: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
    }
  }

  it('covers every operation of the contract', () => {
    const ids = operationsOf(contractDocument).map((o) => o.operationId);
    expect(ids.length).toBeGreaterThanOrEqual(31);
    expect(new Set(ids).size).toBe(ids.length);
  });

  operations.forEach((op, i) => {
    it(`${op.operationId}: ${op.method} ${op.path}`, async () => {
      const world = await fuzzWorld(`f${i}`);
      const request = fc.oneof(validRequest(op, world), invalidRequest(op, world));
      await fc.assert(
        fc.asyncProperty(request, (req) => check(op, req)),
        { seed: SEED + i, numRuns: RUNS, endOnFailure: true },
      );
    }, 60_000);
  });
});

