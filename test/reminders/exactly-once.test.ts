/**
 * Exactly once, whatever happens to the instances and the database: two server processes fire the same due
 * reminders while one of them is killed (SIGKILL, mid-sweep); PostgreSQL is down when a reminder falls due
 * and the reminder fires once when it is back, saying how late.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'slonik';
import { z } from 'zod';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { startTestApp, testServerEnv, type TestApp } from '../helpers/app.js';
import { adminQuery, createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { startFakeSso, type FakeSso } from '../helpers/sso.mjs';
import { sleep, waitForNotification } from '../notifications/support.js';
import { createTask, signIn } from '../helpers/factories.js';
import { dueIn, firingsPerTier, reminderEvents, SHORT_TIERS } from './support.js';
import { createDatabasePool } from '../../src/db/index.js';
import { loadConfig } from '../../src/config.js';

const ROOT = join(import.meta.dirname, '../..');

async function eventually<T>(probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  for (const started = Date.now(); Date.now() - started < ms; await sleep(50)) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
  }
  throw new Error(`not reached within ${ms} ms`);
}

describe('two instances, one killed while reminders are due', () => {
  let db: TestDatabase;
  let sso: FakeSso;
  const children: ChildProcess[] = [];
  let a: { url: string; child: ChildProcess };
  let b: { url: string; child: ChildProcess };

  beforeAll(async () => {
    db = await createTestDatabase();
    sso = await startFakeSso();
    [a, b] = await Promise.all([spawnServer(), spawnServer()]);
  }, 180_000);
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await sso?.close();
    await db?.drop();
  });

  async function spawnServer(): Promise<{ url: string; child: ChildProcess }> {
    let output = '';
    const child = spawn(process.execPath, ['--import', './test/helpers/ts-resolve.mjs', 'src/server.ts'], {
      cwd: ROOT,
      env: { PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH}`, HOME: process.env.HOME ?? '/tmp',
        ...testServerEnv(db.url, sso, { LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', ...SHORT_TIERS }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    child.stdout!.on('data', (c) => (output += c));
    child.stderr!.on('data', (c) => (output += c));
    for (const started = Date.now(); Date.now() - started < 100_000; await sleep(100)) {
      const line = output.split('\n').find((l) => l.includes('TaskFlow API listening'));
      if (line) return { url: JSON.parse(line).url as string, child };
      if (child.exitCode !== null) break;
    }
    throw new Error(`server did not start:\n${output}`);
  }

  it('fires every tier of every task exactly once', async () => {
    const pool = await createDatabasePool(db.url, loadConfig(testServerEnv(db.url, sso)).database);
    try {
      const call = async (url: string, token: string, method: string, path: string, body?: unknown) => {
        const res = await fetch(`${url}${path}`, {
          method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
        });
        return { status: res.status, body: (await res.json()) as any };
      };
      const alice = await sso.mint({ sub: 'once-alice', email: 'once-alice@example.test', name: 'Alice' });
      const me = await call(a.url, alice, 'GET', '/api/me');
      const projectId = me.body.default_project_id as number;
      const due = dueIn(12_000); // tiers at +9 s and +11 s
      const ids: number[] = [];
      for (let i = 0; i < 20; i++) {
        const created = await call(b.url, alice, 'POST', `/api/projects/${projectId}/tasks`, { title: `Due soon ${i}`, assignee_id: me.body.worker.id, due_date: due });
        expect(created.status).toBe(201);
        ids.push(created.body.id);
      }
      const count = (condition: ReturnType<typeof sql.fragment>) => pool.oneFirst(sql.type(z.object({ n: z.number() }))`
        select count(*)::int as n from reminder where task_id = any(${sql.array(ids, 'int8')}) and ${condition}`);
      // The first reminders are being fired: kill instance A right then, whatever it holds.
      await eventually(async () => ((await reminderEvents(pool, ids)).length > 0 ? true : undefined), 15_000);
      a.child.kill('SIGKILL');
      const firedWhenKilled = (await reminderEvents(pool, ids)).length;

      // Past the due date, nothing left to fire: every scheduled reminder fired once, through instance B.
      await eventually(async () => (Date.now() > Date.parse(due) + 1_000 && (await count(sql.fragment`fired_at is null`)) === 0 ? true : undefined), 15_000);
      await sleep(1_500); // anything fired twice would show up now
      const scheduled = await count(sql.fragment`true`);
      expect(scheduled).toBeGreaterThanOrEqual(ids.length); // at least the 1 s tier of every task (the 3 s one if created in time)
      const counts = await firingsPerTier(pool, ids);
      expect(counts.size).toBe(scheduled);
      expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
      expect(firedWhenKilled).toBeLessThan(scheduled); // the kill happened while reminders were due, not after
      const pending = await pool.oneFirst(sql.type(z.object({ n: z.number() }))`
        select count(*)::int as n from reminder where task_id = any(${sql.array(ids, 'int8')}) and fired_at is null`);
      expect(pending).toBe(0);
    } finally {
      await pool.end();
    }
  }, 60_000);
});

describe('the database is down when a reminder falls due', () => {
  let dataDir: string;
  let pg: EmbeddedDatabase;
  let t: TestApp;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'taskflow-reminder-pg-'));
    pg = await startEmbeddedPostgres({ dataDir, persistent: true, fast: true });
    await adminQuery(pg.url, 'create database taskflow');
    await migrate(pg.urlFor('taskflow'));
    t = await startTestApp({ databaseUrl: pg.urlFor('taskflow'), env: { ...SHORT_TIERS, REMINDER_TIERS: '2s' } });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await pg?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('fires once when the database is back, and the event says how late', async () => {
    const alice = await signIn(t, 'alice');
    const bob = await signIn(t, 'bob');
    await t.pool.query(sql.unsafe`insert into member (project_id, worker_id) values (${alice.projectId}, ${bob.workerId})`);
    const task = await createTask(alice, alice.projectId, { title: 'Due during the outage', assignee_id: bob.workerId, due_date: dueIn(4_000) });
    await eventually(async () => ((await t.pool.exists(sql.unsafe`select 1 from reminder where task_id = ${task.id}`)) ? true : undefined), 3_000);

    await pg.stop();
    const stoppedAt = Date.now();
    await sleep(4_000); // the reminder fell due 2 s before the due date: while the database was down
    pg = await startEmbeddedPostgres({ dataDir, persistent: true, fast: true, port: pg.port });
    const downMs = Date.now() - stoppedAt;

    const [event] = await eventually(async () => {
      const e = await reminderEvents(t.pool, [task.id]);
      return e.length ? e : undefined;
    }, 20_000);
    expect(event!.details.tier).toBe('2s');
    expect(event!.details.late_by_ms).toBeGreaterThanOrEqual(1_500);
    await waitForNotification(bob, (n) => n.task_id === task.id && n.type === 'task_reminder', 10_000);
    await sleep(1_500);
    expect(await reminderEvents(t.pool, [task.id])).toHaveLength(1);
    console.log(`database down ${downMs} ms; the reminder fired ${String(event!.details.late_by_ms)} ms late, once`);
  });
});
