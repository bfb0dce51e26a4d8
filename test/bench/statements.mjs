#!/usr/bin/env node
/**
 * PostgreSQL CPU per operation, with and without named prepared statements — a measurement that holds up on a
 * busy machine: it runs the server's own SQL functions (dist/src/…, W1–W3's statements) one after the other on
 * a single connection and reads that connection's backend CPU time from /proc, so other processes competing
 * for the cores change the wall time but hardly the CPU charged to the backend.
 *
 *   node test/bench/statements.mjs [--tasks 100000] [--iterations 3000]
 *
 * Starts its own embedded PostgreSQL (deleted at the end), migrates and seeds it (seed.mjs). Needs `make build`.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { seed } from './seed.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = resolve(HERE, '../../dist/src');
const load = (path) => import(pathToFileURL(join(DIST, path)).href);

const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const TASKS = flag('--tasks', 100_000);
const ITERATIONS = flag('--iterations', 3_000);

const { startEmbeddedPostgres } = await load('db/embedded.js');
const { migrate } = await load('db/migrate.js');
const { createDatabasePool } = await load('db/pool.js');
const { requireProjectRole } = await load('members/access.js');
const { listProjectTasksPage } = await load('tasks/tasks-list.sql.js');
const { findVisibleTaskWithSubtasks, insertTaskWithAudit } = await load('tasks/tasks.sql.js');
const { sql } = await import('slonik');

const TICK_MS = 1000 / 100; // USER_HZ
/** utime + stime of a process, in ms. */
const cpuMs = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
};

// User 1 is a member of projects 1, 10, 20, …, 50 (seed.mjs); task 4242 is in project 42, whose members are 2–4.
const who = { tenantId: 'default', workerId: 1, handle: '@user-1' };
const member42 = { tenantId: 'default', workerId: 2, handle: '@user-2' };
const actor = { tenantId: 'default', workerId: 1, handle: '@user-1', type: 'human' };
const OPS = {
  'W1 list a page (membership + page)': async (db) => {
    await requireProjectRole(db, who, 1);
    await listProjectTasksPage(db, who, 1, {}, { sort: '-created_at', limit: 20 });
  },
  'W2 get a task (task with its embedded subtasks, one statement)': async (db) => {
    await findVisibleTaskWithSubtasks(db, member42, 4242);
  },
  'W3 create a task (BEGIN, membership, insert + audit, COMMIT)': (db) =>
    db.transaction(async (tx) => {
      await requireProjectRole(tx, who, 1);
      await insertTaskWithAudit(tx, {
        tenantId: 'default', projectId: 1, parentTaskId: null, title: 'Statement bench', description: null, priority: 'medium',
        assigneeId: null, tags: ['ops'], dueDate: null, recurrence: null, createdById: 1,
      }, actor);
    }),
};

const dir = mkdtempSync(join(os.tmpdir(), 'taskflow-statements-'));
chmodSync(dir, 0o755);
const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), persistent: false, fast: true });
try {
  const admin = await createDatabasePool(pg.url, { poolSize: 1, idleTimeoutMs: 1000, maxConnectionAgeMs: 60_000, connectTimeoutMs: 5000, statementTimeoutMs: 0, pooled: false });
  await admin.query(sql.unsafe`create database statements`);
  await admin.end();
  const url = pg.urlFor('statements');
  await migrate(url);
  await seed(url, { tasks: TASKS, log: () => {} });
  console.log(`PostgreSQL backend CPU per operation, ${ITERATIONS} sequential runs on one connection, ${TASKS} tasks; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log('| operation | unnamed statements µs | prepared µs | prepared / unnamed |');
  console.log('|---|---:|---:|---:|');
  for (const [name, op] of Object.entries(OPS)) {
    const result = {};
    for (const mode of ['off', 'on']) {
      const pool = await createDatabasePool(url, { poolSize: 1, idleTimeoutMs: 60_000, maxConnectionAgeMs: 3_600_000, connectTimeoutMs: 5000, statementTimeoutMs: 0, pooled: false, preparedStatements: mode });
      const pid = await pool.oneFirst(sql.unsafe`select pg_backend_pid()`);
      for (let i = 0; i < 200; i++) await op(pool); // warm caches (and, prepared, the generic plans)
      const before = cpuMs(pid);
      for (let i = 0; i < ITERATIONS; i++) await op(pool);
      result[mode] = ((cpuMs(pid) - before) * 1000) / ITERATIONS;
      await pool.end();
    }
    console.log(`| ${name} | ${result.off.toFixed(0)} | ${result.on.toFixed(0)} | ${(result.on / result.off).toFixed(2)} |`);
  }
} finally {
  await pg.stop();
  rmSync(dir, { recursive: true, force: true });
}
