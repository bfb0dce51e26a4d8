/**
 * PostgreSQL stops under load and comes back: requests fail fast with a 503 problem, readiness turns 503, the
 * server recovers by itself, no acknowledged write is lost and no task is left without its audit entry.
 * This file runs its own embedded PostgreSQL (persistent, so it can stop and start on the same port and data).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'slonik';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { startTestApp, type ApiUser, type RawResponse, type TestApp } from '../helpers/app.js';
import { adminQuery } from '../helpers/pg.js';
import { integrityViolations, sleep, Tally } from './support.js';

const WORKERS = 4;
const FAIL_FAST_MS = 5_000; // "a few seconds"
const RECOVERY_MS = 15_000;

/** The postmaster and its children (Linux /proc), to freeze PostgreSQL as a hung host or a partition would. */
function postgresPids(dataDir: string): number[] {
  const master = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const parentOf = (pid: string) => {
    try {
      return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    } catch {
      return -1;
    }
  };
  return [master, ...readdirSync('/proc').filter((d) => /^\d+$/.test(d) && parentOf(d) === master).map(Number)];
}

interface Outcome {
  phase: 'up' | 'down' | 'back';
  op: string;
  status: number;
  ms: number;
  type?: string;
  taskId?: number;
}

describe('database faults', () => {
  let dataDir: string;
  let pg: EmbeddedDatabase;
  let t: TestApp;
  let alice: ApiUser;
  let projectId: number;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'taskflow-fault-pg-'));
    pg = await startEmbeddedPostgres({ dataDir, persistent: true, fast: true });
    await adminQuery(pg.url, 'create database taskflow');
    await migrate(pg.urlFor('taskflow'));
    t = await startTestApp({ databaseUrl: pg.urlFor('taskflow') });
    alice = await t.user('alice');
    projectId = (await alice.request('POST', '/api/projects', { body: { slug: 'faults', name: 'Faults' } })).body.id;
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await pg?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** A light load: a few workers looping over reads and writes, each outcome stamped with the phase it began in. */
  function startLoad(user: ApiUser, workers = WORKERS) {
    const outcomes: Outcome[] = [];
    const state = { phase: 'up' as Outcome['phase'], running: true };
    let n = 0;
    const timed = async (op: string, call: () => Promise<RawResponse>) => {
      const at = state.phase;
      const started = Date.now();
      const res = await call();
      const outcome: Outcome = { phase: at, op, status: res.status, ms: Date.now() - started, type: res.body?.type };
      if (op.startsWith('createTask') && res.status === 201) outcome.taskId = res.body.id;
      outcomes.push(outcome);
      return res;
    };
    const ops: [string, () => Promise<RawResponse>][] = [
      ['createTask', () => user.request('POST', `/api/projects/${projectId}/tasks`, { body: { title: `Task ${++n}` } })],
      ['createTask+key', () => user.request('POST', `/api/projects/${projectId}/tasks`, { body: { title: `Keyed ${++n}` }, headers: { 'idempotency-key': `fault-${Date.now()}-${++n}` } })],
      ['listProjectTasks', () => user.request('GET', `/api/projects/${projectId}/tasks`, { query: { limit: 20 } })],
      ['getMe', () => user.request('GET', '/api/me')], // answered from the principal cache: works while the database is down
      ['createProject', () => user.request('POST', '/api/projects', { body: { slug: `f-${Date.now()}-${++n}`, name: 'Under load' } })],
    ];
    const worker = async (w: number) => {
      for (let i = w; state.running; i++) {
        const [op, call] = ops[i % ops.length]!;
        await timed(op, call);
        await sleep(10);
      }
    };
    const done = Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
    return {
      outcomes,
      timed,
      set phase(p: Outcome['phase']) {
        state.phase = p;
      },
      stop: async () => {
        state.running = false;
        await done;
      },
    };
  }

  /** Polls readiness until 200; returns how long it took. */
  async function untilReady(app: TestApp, load: ReturnType<typeof startLoad>, withinMs: number): Promise<number> {
    const started = Date.now();
    while (Date.now() - started < withinMs) {
      const probe = await load.timed('getReadiness', () => app.request('GET', '/health/ready'));
      if (probe.status === 200) return Date.now() - started;
      await sleep(100);
    }
    throw new Error(`not ready within ${withinMs} ms`);
  }

  /** What must hold after any fault: answers while down were documented 503s, recovery, no lost or half-written rows. */
  async function assertAfterFault(load: ReturnType<typeof startLoad>, failFastMs: number) {
    const down = load.outcomes.filter((o) => o.phase === 'down');
    const downFailures = down.filter((o) => o.status >= 400);
    expect(downFailures.length).toBeGreaterThan(3);
    for (const o of downFailures) expect({ op: o.op, status: o.status, type: o.type }).toEqual({ op: o.op, status: 503, type: 'https://taskflow.dev/problems/unavailable' });
    const slowest = Math.max(...down.map((o) => o.ms));
    expect(slowest).toBeLessThan(failFastMs);
    const settled = load.outcomes.filter((o) => o.phase === 'back' && o.op !== 'getReadiness').slice(-20);
    expect(settled.length).toBe(20);
    for (const o of settled) expect({ op: o.op, ok: o.status < 300 }).toEqual({ op: o.op, ok: true });
    const acknowledged = load.outcomes.filter((o) => o.taskId !== undefined).map((o) => o.taskId!);
    const stored = new Set((await t.pool.anyFirst(sql.unsafe`select id from task`)) as number[]);
    const lost = acknowledged.filter((id) => !stored.has(id));
    expect(lost).toEqual([]);
    expect(await integrityViolations(t.pool)).toEqual([]);
    const tally = new Tally();
    for (const o of load.outcomes) tally.add(`${o.phase}:${o.status}`);
    return { tally, slowest, acknowledged: acknowledged.length, lost: lost.length };
  }

  it('PostgreSQL stops under load → fast 503s, readiness 503; restarts → the server recovers by itself; nothing acknowledged is lost', async () => {
    const tasksBefore = (await t.pool.oneFirst(sql.unsafe`select count(*) from task`)) as number;
    const load = startLoad(alice);
    await sleep(1_000);
    load.phase = 'down';
    await pg.stop();
    const stoppedAt = Date.now();
    await sleep(500);
    const ready = await load.timed('getReadiness', () => t.request('GET', '/health/ready'));
    expect(ready).toMatchObject({ status: 503, body: { type: 'https://taskflow.dev/problems/unavailable' } });
    await sleep(2_500);
    pg = await startEmbeddedPostgres({ dataDir, persistent: true, fast: true, port: pg.port });
    const downMs = Date.now() - stoppedAt;
    load.phase = 'back'; // the server is not restarted: it must find its way back on its own
    const recoveryMs = await untilReady(t, load, RECOVERY_MS);
    await sleep(1_500);
    await load.stop();
    const r = await assertAfterFault(load, FAIL_FAST_MS);
    const stored = ((await t.pool.oneFirst(sql.unsafe`select count(*) from task`)) as number) - tasksBefore;
    console.log(
      `database stopped ${downMs} ms under load: ${r.tally}\n` +
        `  slowest answer while down ${r.slowest} ms; ready again ${recoveryMs} ms after restart; ` +
        `tasks acknowledged ${r.acknowledged}, stored ${stored} (committed but answered 503: ${stored - r.acknowledged}), lost ${r.lost}`,
    );
  }, 60_000);

  it('PostgreSQL hangs (processes frozen, connections open) → 503 within the request deadline; thawed → recovers', async () => {
    // Short timeouts so the test is quick: deadline = max(statement, connect) + 1 s = 3 s.
    const hung = await startTestApp({ databaseUrl: pg.urlFor('taskflow'), sso: t.sso, env: { DB_STATEMENT_TIMEOUT_MS: '2000', DB_CONNECT_TIMEOUT_MS: '1000' } });
    try {
      const user = await hung.user('alice');
      const tasksBefore = (await t.pool.oneFirst(sql.unsafe`select count(*) from task`)) as number;
      const load = startLoad(user);
      await sleep(1_000);
      const pids = postgresPids(dataDir);
      load.phase = 'down';
      for (const pid of pids) process.kill(pid, 'SIGSTOP');
      const frozenAt = Date.now();
      try {
        await sleep(1_000);
        const ready = await load.timed('getReadiness', () => hung.request('GET', '/health/ready'));
        expect(ready.status).toBe(503);
        await sleep(4_000);
      } finally {
        for (const pid of pids) process.kill(pid, 'SIGCONT');
      }
      const frozenMs = Date.now() - frozenAt;
      load.phase = 'back';
      const recoveryMs = await untilReady(hung, load, RECOVERY_MS);
      await sleep(1_500);
      await load.stop();
      const r = await assertAfterFault(load, 4_500);
      await sleep(500); // handlers cut off by the deadline finish now
      const stored = ((await t.pool.oneFirst(sql.unsafe`select count(*) from task`)) as number) - tasksBefore;
      console.log(
        `database frozen ${frozenMs} ms under load: ${r.tally}\n` +
          `  slowest answer while frozen ${r.slowest} ms (deadline 3000 ms); ready again ${recoveryMs} ms after thaw; ` +
          `tasks acknowledged ${r.acknowledged}, stored ${stored} (committed after a 503: ${stored - r.acknowledged}), lost ${r.lost}`,
      );
    } finally {
      await hung.close();
    }
  }, 60_000);
});
