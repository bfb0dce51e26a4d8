#!/usr/bin/env node
/**
 * `make bench`: TaskFlow API under 100 concurrent connections, side by side with a bare baseline (issue 6).
 *
 *   node test/bench/run.mjs [--quick] [--runs N] [--only W1,W1K,W2] [--targets taskflow,baseline,floor,scale-out,unprepared]
 *                           [--cpu-prof [W1,W3]] [--connections 100] [--generators 1] [--log-level warn] [--skip-explain]
 *                           [--overload-connections 1000] [--overload-seconds 30] [--no-overload] [--warmup 30] [--pool-size 10]
 *                           [--db-statements]
 *
 * Starts a throw-away embedded PostgreSQL, migrates and seeds it (seed.mjs), checks the list query plans
 * (explain.mjs), starts the fake SSO (test/helpers/sso.mjs), then for every workload and target starts the server(s) fresh,
 * checks a few responses, warms up, measures, and reads the server's CPU time and peak RSS from /proc. The
 * load comes from separate processes (load.mjs, autocannon). Results: test/bench/results/ (JSON + markdown).
 * Then the overload workload: W2 and W4 at --overload-connections (default 10× the normal 100) for
 * --overload-seconds, admitted and shed answers apart, then 100 connections again to see the recovery.
 * See test/bench/README.md.
 */
import { fork, spawn, execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { captureServerPlans, checkQueryPlans, serverPlanIssues } from './explain.mjs';
import { formatProfileSummary, summarizeProfile } from './profile.mjs';
import {
  PROJECTS, TASKS, USERS, defaultProjectOf, projectMembers, projectOfTask, seed, seededStatus, userEmail, userId, userName,
} from './seed.mjs';
import { startFakeSso } from '../helpers/sso.mjs';
import { seedAgentKeys } from './agent-keys.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const RESULTS = join(HERE, 'results');
const DIST = resolve(ROOT, process.env.BENCH_DIST ?? 'dist'); // BENCH_DIST: a build elsewhere (development only)
const DB_NAME = 'taskflow_bench';

// ---------------------------------------------------------------------------------------------- options

function parseArgs(argv) {
  const o = { quick: false, runs: 1, only: ['W1', 'W1K', 'W2', 'W3', 'W4'], targets: ['taskflow', 'baseline', 'floor', 'scale-out'], cpuProf: false,
    connections: 100, generators: 1, logLevel: 'warn', skipExplain: false, overload: true, overloadConnections: 1000, overloadSec: 30,
    poolSize: 10, dbStatements: false }; // poolSize: the server's default DB_POOL_SIZE, given to both servers
  const value = (i) => {
    if (argv[i + 1] === undefined) usage(`${argv[i]} needs a value`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--runs') o.runs = Number(value(i++));
    else if (a === '--only') o.only = value(i++).toUpperCase().split(',');
    else if (a === '--targets') o.targets = value(i++).split(',');
    else if (a === '--cpu-prof') o.cpuProf = /^W\d(,W\d)*$/i.test(argv[i + 1] ?? '') ? argv[++i].toUpperCase().split(',') : ['W1'];
    else if (a === '--connections') o.connections = Number(value(i++));
    else if (a === '--generators') o.generators = Number(value(i++));
    else if (a === '--log-level') o.logLevel = value(i++);
    else if (a === '--skip-explain') o.skipExplain = true;
    else if (a === '--no-overload') o.overload = false;
    else if (a === '--overload-connections') o.overloadConnections = Number(value(i++));
    else if (a === '--overload-seconds') o.overloadSec = Number(value(i++));
    else if (a === '--warmup') o.warmupSec = Number(value(i++));
    else if (a === '--pool-size') o.poolSize = Number(value(i++));
    else if (a === '--db-statements') o.dbStatements = true;
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
  if (!(o.runs >= 1) || !(o.connections >= 1) || !(o.generators >= 1) || !(Number.isInteger(o.poolSize) && o.poolSize >= 1)) {
    usage('--runs, --connections, --generators and --pool-size take positive integers');
  }
  if ([...o.only, ...(o.cpuProf || [])].some((w) => !WORKLOADS[w])) usage(`--only and --cpu-prof take ${Object.keys(WORKLOADS).join(',')}`);
  if (o.targets.some((t) => !TARGETS[t])) usage(`--targets takes ${Object.keys(TARGETS).join(',')}`);
  // 30 s: V8 moves the functions called once per request to its optimizing compiler only after 12,000–15,000
  // requests, 23–28 s into W1's load on this machine (see test/bench/README.md, step 4).
  o.warmupSec ??= o.quick ? 2 : 30;
  if (!(o.warmupSec >= 0)) usage('--warmup takes seconds (0 or more)');
  o.durationSec = o.quick ? 5 : 15;
  if (o.quick) o.overloadSec = Math.min(o.overloadSec, 5);
  return o;
}

function usage(error) {
  const text = readFileSync(fileURLToPath(import.meta.url), 'utf8').match(/\/\*\*([\s\S]*?)\*\//)[1].replace(/^ \* ?/gm, '');
  console[error ? 'error' : 'log']((error ? `${error}\n` : '') + text);
  process.exit(error ? 64 : 0);
}

// ---------------------------------------------------------------------------------------------- workloads

const WORKLOADS = {
  W1: { title: "list a project's 20 newest tasks", build: (ctx) => ({ requests: repeat(20_000, () => listRequest(ctx)) }) },
  // The same requests as W1, authenticated with agent API keys instead of JWTs (agent-keys.mjs).
  W1K: { title: "W1 with agent API keys", taskflowOnly: true, tokens: (ctx) => ctx.agentKeys, build: (ctx) => ({ requests: repeat(20_000, () => listRequest(ctx)) }) },
  W2: { title: 'get one task (with subtasks)', build: (ctx) => ({ requests: repeat(20_000, () => getRequest(ctx)) }) },
  W3: { title: 'create a task (+ audit entry)', writes: true, build: (ctx) => ({ requests: repeat(20_000, () => createRequest(ctx)) }) },
  W4: {
    title: 'mix: 80 % reads, 15 % status/progress changes, 5 % creates',
    writes: true,
    taskflowOnly: true,
    build: (ctx) => {
      const requests = repeat(20_000, () => {
        const x = ctx.random();
        if (x < 0.4) return listRequest(ctx);
        if (x < 0.8) return getRequest(ctx);
        if (x < 0.9) return progressRequest(ctx);
        if (x < 0.95) return { kind: 'unique' }; // a one-shot status change, see statusChanges()
        return createRequest(ctx);
      });
      const [probe, ...unique] = statusChanges(ctx);
      return { requests, unique, probe, fallback: repeat(2_000, () => progressRequest(ctx)) };
    },
  },
};

const TARGETS = {
  taskflow: { label: 'TaskFlow', instances: 1, kind: 'taskflow' },
  baseline: { label: 'baseline', instances: 1, kind: 'baseline' },
  floor: { label: 'floor', instances: 1, kind: 'floor' },
  'scale-out': { label: 'TaskFlow ×2', instances: 2, kind: 'taskflow' },
  // TaskFlow as it was before named prepared statements: the same build with DB_PREPARED_STATEMENTS=off.
  unprepared: { label: 'TaskFlow unprepared', instances: 1, kind: 'taskflow', env: { DB_PREPARED_STATEMENTS: 'off' } },
  // TaskFlow without the event log's consumers (webhook dispatch, reminders, the inbox producer): issue 17's "before".
  'no-consumers': { label: 'TaskFlow no consumers', instances: 1, kind: 'taskflow', env: { BACKGROUND_WORKERS: 'false' } },
  // TaskFlow with V8's own heap growth (HEAP_GROWTH_PERCENT=0), the before of the bounded growth: memory under a burst.
  'v8-heap': { label: 'TaskFlow V8 heap growth', instances: 1, kind: 'taskflow', env: { HEAP_GROWTH_PERCENT: '0' } },
};
/** Servers that are not TaskFlow (they need no build of it). */
const BARE = new Set(['baseline', 'floor']);

/** mulberry32: the same request sequence on every run and machine. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const repeat = (n, f) => Array.from({ length: n }, f);
const pick = (ctx, list) => list[Math.floor(ctx.random() * list.length)];

// Who may see what: user u (1-based) is a member of the 15 projects listing them among their 3 members.
const PROJECTS_OF_USER = Array.from({ length: USERS + 1 }, (_, u) =>
  Array.from({ length: PROJECTS }, (_, k) => k + 1).filter((p) => projectMembers(p).includes(u)));
const TASKS_WITH_STATUS = (status) => Array.from({ length: TASKS }, (_, k) => k + 1).filter((i) => seededStatus(i) === status);
const IN_PROGRESS = TASKS_WITH_STATUS('in_progress');
const PENDING = TASKS_WITH_STATUS('pending');

function listRequest(ctx) {
  const u = 1 + Math.floor(ctx.random() * USERS);
  return { method: 'GET', path: `/api/projects/${pick(ctx, PROJECTS_OF_USER[u])}/tasks?limit=20`, u: u - 1, check: 'list' };
}
function getRequest(ctx) {
  const i = 1 + Math.floor(ctx.random() * TASKS);
  return { method: 'GET', path: `/api/tasks/${i}`, u: pick(ctx, projectMembers(projectOfTask(i))) - 1, check: 'task' };
}
const PRIORITIES = ['low', 'medium', 'high', 'critical'];
const TAGS = ['backend', 'frontend', 'bug', 'feature', 'docs', 'ops'];
function createRequest(ctx) {
  const u = 1 + Math.floor(ctx.random() * USERS);
  const p = pick(ctx, PROJECTS_OF_USER[u]);
  const n = ++ctx.created;
  const body = { title: `Bench task ${n}`, priority: pick(ctx, PRIORITIES) };
  if (n % 2) body.description = `Created by the benchmark (request ${n}).`;
  if (n % 3) body.tags = [...new Set([pick(ctx, TAGS), pick(ctx, TAGS)])];
  if (n % 4) body.assignee_id = pick(ctx, projectMembers(p));
  if (n % 5) body.due_date = new Date(Date.UTC(2027, n % 12, 1 + (n % 28), 17)).toISOString().replace('.000Z', 'Z');
  return { method: 'POST', path: `/api/projects/${p}/tasks`, u: u - 1, body: JSON.stringify(body), check: 'created' };
}
// Progress updates go to seeded in_progress tasks, which no workload moves out of in_progress: always valid.
function progressRequest(ctx) {
  const i = pick(ctx, IN_PROGRESS);
  return { method: 'PATCH', path: `/api/tasks/${i}/progress`, u: pick(ctx, projectMembers(projectOfTask(i))) - 1,
    body: JSON.stringify({ progress_percent: Math.floor(ctx.random() * 101) }), check: 'task' };
}
/**
 * Status changes pending → in_progress, each on a task no other request touches: valid exactly once, so they
 * never conflict however the 100 connections interleave. Seeded pending tasks are handed out in a fixed
 * shuffled order, and each W4 run gets the next unused slice (`ctx.pendingCursor` lives across runs).
 */
function statusChanges(ctx) {
  const budget = 8_001; // the first one is the preflight's probe
  const slice = ctx.pendingOrder.slice(ctx.pendingCursor, ctx.pendingCursor + budget);
  ctx.pendingCursor += slice.length;
  return slice.map((i) => ({ method: 'PATCH', path: `/api/tasks/${i}/status`, u: projectMembers(projectOfTask(i))[(i >> 2) % 3] - 1,
    body: JSON.stringify({ status: 'in_progress' }), check: 'task' }));
}

function shuffled(list, random) {
  const a = [...list];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

// ---------------------------------------------------------------------------------------------- processes

const cleanups = [];
const log = (...args) => console.log(...args);

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime+stime (+ children's, for the postmaster) of a process, in ms; 0 when it is gone. */
function cpuMs(pid, withChildren = false) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]) + (withChildren ? Number(f[13]) + Number(f[14]) : 0);
    return (ticks * 1000) / CLK_TCK;
  } catch {
    return 0;
  }
}
const ppidOf = (pid) => {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
};
/**
 * Where a process's main thread spent its time, in ms: on a CPU, and runnable but waiting for one (Linux's
 * /proc/<pid>/task/<pid>/schedstat; null elsewhere). A single-threaded server whose main thread waits for a CPU
 * as long as it runs is held back by the machine, not only by its own work (test/bench/README.md, "Reading").
 */
function mainThreadSched(pid) {
  try {
    const [onCpuNs, waitNs] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
    return { onCpuMs: onCpuNs / 1e6, waitMs: waitNs / 1e6 };
  } catch {
    return null;
  }
}

/** CPU of PostgreSQL: the postmaster, its live backends, and the backends that already exited. */
function postgresCpuMs(postmasterPid) {
  if (!postmasterPid) return 0;
  let total = cpuMs(postmasterPid, true);
  for (const entry of readdirSync('/proc')) {
    if (/^\d+$/.test(entry) && ppidOf(entry) === postmasterPid) total += cpuMs(entry);
  }
  return total;
}
/** A memory figure of /proc/<pid>/status in MB: VmRSS (resident now) or VmHWM (its peak); NaN once the process is gone. */
function statusMb(pid, field) {
  try {
    return Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+)`))[1]) / 1024;
  } catch {
    return NaN;
  }
}
const rssMb = (pid) => statusMb(pid, 'VmRSS');
const peakRssMb = (pid) => statusMb(pid, 'VmHWM');

async function waitForHealth(url, child, logFile) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n') : '';
  throw new Error(`server at ${url} did not become healthy (exit code ${child.exitCode})\n${tail}`);
}

function stopProcess(child, signal = 'SIGTERM', timeoutMs = 20_000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveStop();
    });
    child.kill(signal);
  });
}

/** Starts one server process (TaskFlow or baseline) on a free port and waits for /health. */
async function startServerProcess(kind, env, { cpuProfName } = {}) {
  const { freePort } = await import(pathToFileURL(join(DIST, 'src/db/embedded.js')).href);
  const port = await freePort();
  const script = BARE.has(kind) ? join(HERE, `${kind}/server.mjs`) : join(DIST, 'src/server.js');
  const nodeArgs = cpuProfName ? ['--cpu-prof', '--cpu-prof-dir', RESULTS, '--cpu-prof-name', cpuProfName] : [];
  mkdirSync(join(RESULTS, 'logs'), { recursive: true });
  const logFile = join(RESULTS, 'logs', `${kind}-${new Date().toISOString().replace(/[-:.]/g, '')}-${port}.log`);
  const out = createWriteStream(logFile);
  const childEnv = { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' };
  delete childEnv.AUTH_DEV_MODE;
  delete childEnv.NODE_OPTIONS;
  const child = spawn(process.execPath, [...nodeArgs, script], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  child.on('error', (err) => out.write(`spawn failed: ${err.message}\n`)); // exitCode is then set; waitForHealth reports it
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const url = `http://127.0.0.1:${port}`;
  const handle = { kind, url, pid: child.pid, child, logFile, stop: () => stopProcess(child) };
  cleanups.push(handle.stop);
  await waitForHealth(url, child, logFile);
  return handle;
}

function forkGenerator() {
  const child = fork(join(HERE, 'load.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
  const waiters = [];
  child.on('message', (msg) => waiters.shift()?.(msg));
  child.on('exit', (code) => {
    for (const w of waiters.splice(0)) w({ type: 'failed', error: `load generator exited with ${code}` });
  });
  const ask = (msg) =>
    new Promise((res, rej) => {
      waiters.push((reply) => (reply.type === 'failed' ? rej(new Error(reply.error)) : res(reply)));
      child.send(msg);
    });
  /** The next message without sending one (the second answer of a run with a warm-up). */
  const expect = () => new Promise((res, rej) => waiters.push((reply) => (reply.type === 'failed' ? rej(new Error(reply.error)) : res(reply))));
  cleanups.push(() => stopProcess(child, 'SIGKILL'));
  return { child, ask, expect, close: () => { child.send({ type: 'exit' }); return stopProcess(child, 'SIGKILL', 5_000); } };
}

// ---------------------------------------------------------------------------------------------- measuring

const STATUS_OK = { list: 200, task: 200, created: 201 };

/** A few requests of every kind in the plan, checked before any load: a broken setup fails here, loudly. */
async function preflight(url, plan, tokens, workload) {
  // The first request of every (method, kind) in the plan, plus the one-shot probe (never replayed by the load).
  const samples = [];
  const seen = new Set();
  for (const r of [...plan.requests, ...(plan.probe ? [plan.probe] : [])]) {
    if (!r.check) continue; // a placeholder for a one-shot request
    const key = `${r.method} ${r.path.replace(/\d+/g, '#')}`;
    if (!seen.has(key)) {
      seen.add(key);
      samples.push(r);
    }
  }
  for (const r of samples) {
    const res = await fetch(url + r.path, {
      method: r.method,
      headers: { authorization: `Bearer ${tokens[r.u]}`, ...(r.body ? { 'content-type': 'application/json' } : {}) },
      body: r.body,
    });
    const text = await res.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const shapeOk =
      r.check === 'list' ? Array.isArray(body?.items) && body.items.length === 20 && 'next_cursor' in body && 'subtask_count' in body.items[0]
        : r.check === 'task' || r.check === 'created' ? typeof body?.id === 'number' && Array.isArray(body?.subtasks ?? [])
          : true;
    if (res.status !== STATUS_OK[r.check] || !shapeOk) {
      throw new Error(`${workload} preflight: ${r.method} ${r.path} as user-${r.u + 1} → ${res.status} (expected ${STATUS_OK[r.check]} and a ${r.check} body)\n${text.slice(0, 800)}`);
    }
  }
}

/** The first place two JSON values differ (a path and both values), or undefined when they are equal. */
function firstDifference(a, b, path = '') {
  if (Object.is(a, b)) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
    return `${path || '/'}: ${JSON.stringify(a)?.slice(0, 200)} ≠ ${JSON.stringify(b)?.slice(0, 200)}`;
  }
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  for (const k of keys) {
    if (!(k in a) || !(k in b)) return `${path}/${k}: only in ${k in a ? 'TaskFlow' : 'the floor'}`;
    const d = firstDifference(a[k], b[k], `${path}/${k}`);
    if (d) return d;
  }
  return undefined;
}

/**
 * Issue 13's floor serves the same responses as TaskFlow, with less work: checked before anything is measured.
 * The same W1 and W2 requests (100 and 200 of them, reads of the seeded data) go to both servers, whose status,
 * body and ETag must be equal; 20 W3 creates go to each, whose answers must be equal but for what a new row
 * makes different (id, timestamps, Location). A floor that answers less than TaskFlow would flatter the ratios.
 */
async function checkFloorResponses(ctx, dbUrl) {
  const servers = [await startServerProcess('taskflow', ctx.env), await startServerProcess('floor', ctx.env)];
  try {
    const probe = { ...ctx, random: prng(0x5a3e), created: 900_000 };
    const requests = [...repeat(100, () => listRequest(probe)), ...repeat(200, () => getRequest(probe)), ...repeat(20, () => createRequest(probe))];
    const ask = (server, r) =>
      fetch(server.url + r.path, {
        method: r.method,
        headers: { authorization: `Bearer ${ctx.tokens[r.u]}`, ...(r.body ? { 'content-type': 'application/json' } : {}) },
        body: r.body,
      }).then(async (res) => ({ status: res.status, etag: res.headers.get('etag'), body: JSON.parse(await res.text()) }));
    const volatile = ({ id: _id, created_at: _c, updated_at: _u, ...rest }) => rest;
    for (const r of requests) {
      const [a, b] = await Promise.all(servers.map((server) => ask(server, r)));
      const created = r.check === 'created';
      const difference = a.status !== b.status ? `status ${a.status} ≠ ${b.status}`
        : !created && a.etag !== b.etag ? `ETag ${a.etag} ≠ ${b.etag}`
          : firstDifference(created ? volatile(a.body) : a.body, created ? volatile(b.body) : b.body);
      if (difference) throw new Error(`the floor does not answer as TaskFlow does: ${r.method} ${r.path} as user-${r.u + 1}: ${difference}`);
    }
    log(`The floor answers as TaskFlow does: ${requests.length} requests of W1, W2 and W3 compared (status, body, ETag).`);
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await resetWrites(dbUrl);
  }
}

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * --db-statements: what each request cost PostgreSQL, statement by statement, over one measured window
 * (pg_stat_statements, loaded into the bench's PostgreSQL only with this option): calls per request (round trips,
 * the consumers' and background work's included), execution and planning time per request (wall time inside
 * the backend: on a busy machine it includes waiting for a core), and how many of the calls were planned.
 */
const STATEMENT_SETTINGS = { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track_planning': 'on' };
/** Without `requests`: starts a window (the extension created on first use); with it: the window's top statements. */
async function statementStats(url, requests) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    if (requests === undefined) {
      await client.query('create extension if not exists pg_stat_statements');
      await client.query('select pg_stat_statements_reset()');
      return [];
    }
    const { rows } = await client.query(`
      select calls::float8, plans::float8, total_exec_time::float8 as exec_ms, total_plan_time::float8 as plan_ms,
             left(regexp_replace(query, '\\s+', ' ', 'g'), 100) as query
      from pg_stat_statements
      where dbid = (select oid from pg_database where datname = current_database())
        and query not like '%pg_stat_statements%'
      order by total_exec_time + total_plan_time desc limit 12`);
    const per = (x, d = 1) => Math.round((x / requests) * 10 ** d) / 10 ** d;
    return rows.map((r) => ({ callsPerReq: per(r.calls, 3), execUsPerReq: per(r.exec_ms * 1000), planUsPerReq: per(r.plan_ms * 1000), planned: r.plans, calls: r.calls, query: r.query }));
  } finally {
    await client.end();
  }
}

/**
 * The autovacuum runs PostgreSQL logged (log_autovacuum_min_duration = 0) among `lines`, e.g. ['vacuum audit_log',
 * 'analyze task']: a run that ends inside a measured window spent part of the window's PostgreSQL CPU on it, which
 * the server measured then did not cause alone (the other servers' writes count towards the same thresholds).
 */
function autovacuumRuns(lines) {
  const runs = [];
  for (const chunk of lines) {
    for (const m of String(chunk).matchAll(/automatic (vacuum|analyze) of table "[^"]*?\.([^".]+)"/g)) runs.push(`${m[1]} ${m[2]}`);
  }
  return runs;
}

async function measure(ctx, workloadId, targetId, { cpuProfName } = {}) {
  const workload = WORKLOADS[workloadId];
  const target = TARGETS[targetId];
  const { opts, env, pgInfo } = ctx;
  const tokens = workload.tokens?.(ctx) ?? ctx.tokens;
  const kind = target.kind;
  const serverEnv = { ...env, ...target.env };
  const servers = [];
  const generators = [];
  try {
    for (let k = 0; k < target.instances; k++) servers.push(await startServerProcess(kind, serverEnv, { cpuProfName }));
    ctx.random = prng(0xbe4c5 + workloadId.charCodeAt(1));
    const plan = workload.build(ctx);
    await preflight(servers[0].url, plan, tokens, workloadId);

    // Every (instance, generator) pair gets an equal share of the connections; one-shot requests are split.
    const slots = servers.flatMap((s) => repeat(opts.generators, (_, g) => ({ url: s.url, g })));
    const share = (k) => Math.floor(opts.connections / slots.length) + (k < opts.connections % slots.length ? 1 : 0);
    for (let g = 0; g < opts.generators; g++) {
      const gen = forkGenerator();
      generators.push(gen);
      const targets = slots.map((s, k) => ({ url: s.url, connections: share(k), g: s.g })).filter((s) => s.g === g && s.connections > 0);
      await gen.ask({ type: 'plan', plan: {
        targets, tokens, requests: plan.requests,
        unique: (plan.unique ?? []).filter((_, k) => k % opts.generators === g), fallback: plan.fallback ?? [],
      } });
    }
    // The warm-up and the measured window are one run on the same connections: the generators answer 'measuring'
    // when the warm-up is over, then the result of the window. Until 2026-12-01 they were two runs with a pause
    // between them, and the warm-up's 100 connections all closed at once just before the window: the server's
    // first mass teardown of sockets changed object layouts its compiled code relied on (`--trace-deopt`: about 40
    // functions of node:net, node:stream and node:http thrown away at that moment, compiled again in the window).
    // A production server behind a load balancer keeps its connections (test/bench/README.md, step 4).
    await Promise.all(generators.map((g) => g.ask({ type: 'run', phase: 'measure', seconds: opts.durationSec, warmupSeconds: opts.warmupSec })));

    const measuredFromUs = Number(process.hrtime.bigint() / 1000n); // the clock of .cpuprofile timestamps
    const serverCpu0 = servers.reduce((n, s) => n + cpuMs(s.pid), 0);
    const sched0 = mainThreadSched(servers[0].pid);
    const pgCpu0 = postgresCpuMs(pgInfo.postmasterPid);
    if (opts.dbStatements) await statementStats(env.DATABASE_URL);
    const logLines0 = pgInfo.logLines.length;
    const results = (await Promise.all(generators.map((g) => g.expect()))).map((m) => m.result);
    const serverCpuMs = servers.reduce((n, s) => n + cpuMs(s.pid), 0) - serverCpu0;
    const sched1 = mainThreadSched(servers[0].pid);
    const measuredToUs = Number(process.hrtime.bigint() / 1000n);
    const pgCpuMs = postgresCpuMs(pgInfo.postmasterPid) - pgCpu0;
    const maintenance = autovacuumRuns(pgInfo.logLines.slice(Math.min(logLines0, pgInfo.logLines.length)));
    const statements = opts.dbStatements ? await statementStats(env.DATABASE_URL, results.reduce((n, r) => n + r.latencies.length, 0)) : undefined;
    const peakRss = Math.max(...servers.map((s) => peakRssMb(s.pid)));

    const latencies = Float64Array.from(results.flatMap((r) => r.latencies)).sort();
    const statusCodes = {};
    for (const r of results) for (const [code, n] of Object.entries(r.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
    const requests = latencies.length;
    const elapsedSec = Math.max(...results.map((r) => r.elapsedMs)) / 1000;
    const non2xx = Object.entries(statusCodes).filter(([c]) => c < 200 || c > 299).reduce((n, [, v]) => n + v, 0);
    const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
    const mainShare = (field) => (sched0 && sched1 ? round(((sched1[field] - sched0[field]) / ((measuredToUs - measuredFromUs) / 1000)) * 100, 0) : NaN);
    return {
      workload: workloadId, target: targetId, instances: target.instances,
      rps: round(requests / elapsedSec, 0), requests,
      p50: round(percentile(latencies, 50)), p95: round(percentile(latencies, 95)), p99: round(percentile(latencies, 99)),
      max: round(latencies[latencies.length - 1] ?? NaN),
      non2xx, conflicts409: statusCodes[409] ?? 0, statusCodes,
      errors: results.reduce((n, r) => n + r.errors, 0), timeouts: results.reduce((n, r) => n + r.timeouts, 0),
      serverCpuMsPerReq: round(serverCpuMs / requests, 3), dbCpuMsPerReq: round(pgCpuMs / requests, 3),
      serverCpuCores: round(serverCpuMs / 1000 / elapsedSec, 2), dbCpuCores: round(pgCpuMs / 1000 / elapsedSec, 2),
      peakRssMb: round(peakRss, 0),
      // The (first) server's main thread over the window, as shares of the window: on a CPU, and waiting for one.
      mainOnCpuPct: mainShare('onCpuMs'), mainWaitingPct: mainShare('waitMs'),
      generatorCpuPct: round(Math.max(...results.map((r) => (r.cpuMs / r.elapsedMs) * 100)), 0),
      statusChanges: results.reduce((n, r) => n + r.applied.unique, 0),
      statusFallbacks: results.reduce((n, r) => n + r.applied.fallback, 0),
      window: { fromUs: measuredFromUs, toUs: measuredToUs },
      statements,
      maintenance,
    };
  } finally {
    await Promise.all(generators.map((g) => g.close()));
    await Promise.all(servers.map((s) => s.stop()));
  }
}

/**
 * Writes leave the data set as seeded (except W4's one-shot status changes, tracked by pendingCursor), and the
 * event log's consumers at its end. The baseline and the floor write the same `task_created` entries as TaskFlow
 * but run no consumers: without the reset, the next TaskFlow server (W3 ×2, then W4) started 73,564 events
 * behind after one floor W3 run, and turned them into reminders and notifications during its own window. What
 * TaskFlow's own consumers had not caught up with when its window ended is logged.
 */
async function resetWrites(dbUrl) {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    const { rows } = await client.query(`
      select p.consumer, (select count(*) from audit_log a where (a.xid, a.id) > (p.xid, p.audit_id))::int as behind
      from event_consumer_position p
      union all
      select 'webhooks', (select count(*) from audit_log a where (a.xid, a.id) > (w.xid, w.audit_id))::int from webhook_dispatch_position w`);
    const behind = rows.filter((r) => r.behind > 0);
    if (behind.length) log(`  event log consumers behind at the reset: ${behind.map((r) => `${r.consumer} ${r.behind}`).join(', ')}`);
    await client.query(`delete from task where id > $1`, [TASKS]);
    await client.query(`delete from notification where task_id > $1`, [TASKS]);
    // Where a new consumer starts (the migrations do the same): after every event written so far. The audit log
    // itself stays (it is append-only): its entries of deleted tasks are history no consumer will read again.
    await client.query(`update event_consumer_position set xid = pg_current_xact_id(), audit_id = 0`);
    await client.query(`update webhook_dispatch_position set xid = pg_current_xact_id(), audit_id = 0`);
    await client.query('vacuum analyze task, notification, reminder');
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------- explain

const LIST_SORTS = ['-created_at', 'created_at', 'due_date', '-due_date', 'priority', '-priority', 'title', '-title'];
const LIST_FILTERS = ['status=in_progress', 'priority=high', 'assignee_id=2', 'tags=bug', 'tags=bug&tags=backend', 'q=login',
  'due_before=2026-02-01T00:00:00Z', 'due_after=2026-03-01T00:00:00Z', 'has_due_date=true', 'parent_task_id=none', 'status=pending&sort=due_date'];

/** Drives the real server through every list variant (first and next page) with auto_explain on. */
async function explainServer(ctx) {
  const { pgInfo, env, tokens } = ctx;
  const plans = await captureServerPlans(pgInfo.adminUrl, DB_NAME, () => pgInfo.logLines, async () => {
    const server = await startServerProcess('taskflow', env);
    try {
      const get = async (path) => {
        const res = await fetch(server.url + path, { headers: { authorization: `Bearer ${tokens[0]}` } });
        const body = await res.json().catch(() => ({}));
        if (!res.ok) log(`  explain pass: GET ${path} → ${res.status} ${body?.detail ?? ''}`);
        return body;
      };
      const paths = [
        ...LIST_SORTS.map((s) => `/api/projects/1/tasks?limit=20&sort=${s}`),
        ...LIST_FILTERS.map((f) => `/api/projects/1/tasks?limit=20&${f}`),
        '/api/tasks?limit=20', '/api/tasks?assignee_id=me&limit=20', '/api/tasks?status=in_progress&limit=20',
        '/api/tasks?due_before=2026-02-01T00:00:00Z&limit=20', '/api/tasks?sort=due_date&limit=20', '/api/tasks?assignee_id=me&sort=-due_date&limit=20',
        '/api/tasks?sort=-priority&status=pending&limit=20', '/api/tasks?sort=title&limit=20', '/api/projects?limit=50', '/api/tasks/4240', '/api/tasks/4240/audit',
        '/api/projects/1/audit', '/api/projects/1/members', '/api/members/search?q=user', `/api/projects/${defaultProjectOf(1)}/tasks`,
      ];
      for (const path of paths) {
        const body = await get(path);
        if (body?.next_cursor) await get(`${path}&cursor=${encodeURIComponent(body.next_cursor)}`);
      }
    } finally {
      await server.stop();
    }
  });
  return serverPlanIssues(plans);
}

function printExplain(title, report) {
  log(`\n${title}`);
  for (const r of report.results) {
    const mark = r.failures.length ? 'FAIL' : r.warnings.length ? 'warn' : ' ok ';
    log(`  ${mark}  ${r.name.slice(0, 110)}`);
    if (r.failures.length || r.warnings.length) log(`        ${[...r.failures, ...r.warnings].join('; ')}\n        plan: ${r.nodes}`);
  }
}

// ---------------------------------------------------------------------------------------------- report

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function aggregate(measurements) {
  const groups = new Map();
  for (const m of measurements) {
    const key = `${m.workload}\u0000${m.target}`;
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  return [...groups.values()].map((ms) => {
    const row = { workload: ms[0].workload, target: ms[0].target, runs: ms.length };
    for (const f of ['rps', 'p50', 'p95', 'p99', 'max', 'serverCpuMsPerReq', 'dbCpuMsPerReq', 'serverCpuCores', 'dbCpuCores', 'peakRssMb', 'generatorCpuPct', 'mainOnCpuPct', 'mainWaitingPct']) {
      row[f] = median(ms.map((m) => m[f]));
    }
    for (const f of ['non2xx', 'conflicts409', 'errors', 'timeouts', 'statusChanges', 'statusFallbacks']) row[f] = ms.reduce((n, m) => n + m[f], 0);
    return row;
  });
}

const TARGET_RULES = {
  W1: { rpsRatio: 0.8, p95: 80 },
  W1K: { p95: 80 },
  W2: { rpsRatio: 0.8, p95: 50 },
  W3: { rpsRatio: 0.7, p95: 150 },
  W4: {},
};

/** Issue 13: against the floor (the same responses, least work), side by side in one run. */
const FLOOR_RULES = { W1: { rpsRatio: 0.7 }, W2: { rpsRatio: 0.5 }, W3: { rpsRatio: 0.7 } };

function evaluate(rows) {
  const find = (w, t) => rows.find((r) => r.workload === w && r.target === t);
  const ratios = [];
  const checks = [];
  const floorRatios = [];
  for (const w of Object.keys(FLOOR_RULES)) {
    const tf = find(w, 'taskflow');
    const floor = find(w, 'floor');
    if (!tf || !floor) continue;
    const before = find(w, 'unprepared');
    floorRatios.push({
      workload: w, rpsRatio: tf.rps / floor.rps, p95Ratio: tf.p95 / floor.p95,
      dbCpu: tf.dbCpuMsPerReq, floorDbCpu: floor.dbCpuMsPerReq, beforeDbCpu: before?.dbCpuMsPerReq ?? NaN, beforeRps: before?.rps ?? NaN,
    });
    checks.push({ what: `${w} throughput ≥ ${FLOOR_RULES[w].rpsRatio} × floor`, value: `${(tf.rps / floor.rps).toFixed(2)} ×`, ok: tf.rps / floor.rps >= FLOOR_RULES[w].rpsRatio });
    checks.push({ what: `${w} p95 ≤ 1.5 × floor's`, value: `${(tf.p95 / floor.p95).toFixed(2)} ×`, ok: tf.p95 / floor.p95 <= 1.5 });
    if (before) {
      checks.push({ what: `${w} DB CPU/req ≤ ½ × unprepared's`, value: `${tf.dbCpuMsPerReq} vs ${before.dbCpuMsPerReq} ms`, ok: tf.dbCpuMsPerReq <= before.dbCpuMsPerReq / 2 });
    }
  }
  for (const w of Object.keys(WORKLOADS)) {
    const tf = find(w, 'taskflow');
    if (!tf) continue;
    const base = find(w, 'baseline');
    const two = find(w, 'scale-out');
    const rule = TARGET_RULES[w];
    if (base) {
      const rpsRatio = tf.rps / base.rps;
      const p95Ratio = tf.p95 / base.p95;
      ratios.push({ workload: w, rpsRatio, p95Ratio, scaleOut: two ? two.rps / tf.rps : NaN });
      checks.push({ what: `${w} throughput ≥ ${rule.rpsRatio} × baseline`, value: `${rpsRatio.toFixed(2)} ×`, ok: rpsRatio >= rule.rpsRatio });
      checks.push({ what: `${w} p95 ≤ 1.3 × baseline's`, value: `${p95Ratio.toFixed(2)} ×`, ok: p95Ratio <= 1.3 });
    } else if (two) {
      ratios.push({ workload: w, rpsRatio: NaN, p95Ratio: NaN, scaleOut: two.rps / tf.rps });
    }
    if (rule.p95) checks.push({ what: `${w} p95 ≤ ${rule.p95} ms`, value: `${tf.p95} ms`, ok: tf.p95 <= rule.p95 });
    const jwt = w === 'W1K' ? find('W1', 'taskflow') : undefined;
    if (jwt) {
      const cost = 1 - tf.rps / jwt.rps;
      checks.push({ what: 'W1K: agent-key authentication costs ≤ 5 % of W1 (JWT) throughput', value: `${(cost * 100).toFixed(1)} %`, ok: cost <= 0.05 });
    }
    const plain = find(w, 'no-consumers');
    if (plain && w === 'W3') {
      const cost = 1 - tf.rps / plain.rps;
      checks.push({ what: 'W3: reminders + inbox consumers cost ≤ 5 % of throughput (vs no consumers)', value: `${(cost * 100).toFixed(1)} %`, ok: cost <= 0.05 });
    }
    checks.push({ what: `${w} zero non-2xx`, value: String(tf.non2xx + tf.errors + tf.timeouts), ok: tf.non2xx + tf.errors + tf.timeouts === 0 });
  }
  return { ratios, checks, floorRatios };
}

function markdown(report) {
  const { meta, rows, ratios, checks, explain, profiles, floorRatios = [] } = report;
  const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
  const lines = [];
  lines.push(`# TaskFlow API benchmark — ${meta.date}${meta.quick ? ' (quick smoke run: not a measurement)' : ''}`, '');
  lines.push(`${meta.machine}; Node ${meta.node}; PostgreSQL ${meta.postgres} (embedded, fsync off); ${meta.connections} connections; ` +
    `${meta.warmupSec} s warm-up + ${meta.durationSec} s measured; median of ${meta.runs} run(s); ${meta.generators} autocannon generator process(es); ` +
    `LOG_LEVEL=${meta.logLevel}; load average at start ${meta.loadavg}.`, '');
  lines.push('| workload | server | req/s | p50 ms | p95 ms | p99 ms | non-2xx | server CPU ms/req | DB CPU ms/req | server cores | main thread: on a CPU / waiting for one | peak RSS MB | generator CPU |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const bad = r.non2xx + r.errors + r.timeouts;
    lines.push(`| ${r.workload} ${WORKLOADS[r.workload].title} | ${TARGETS[r.target].label} | ${f(r.rps, 0)} | ${f(r.p50)} | ${f(r.p95)} | ${f(r.p99)} | ` +
      `${bad}${r.conflicts409 ? ` (409: ${r.conflicts409})` : ''} | ${f(r.serverCpuMsPerReq, 2)} | ${f(r.dbCpuMsPerReq, 2)} | ${f(r.serverCpuCores, 2)} | ` +
      `${f(r.mainOnCpuPct, 0)} % / ${f(r.mainWaitingPct, 0)} % | ${f(r.peakRssMb, 0)} | ${f(r.generatorCpuPct, 0)} % |`);
  }
  if (ratios.length) {
    lines.push('', '| workload | TaskFlow / baseline req/s | TaskFlow / baseline p95 | TaskFlow ×2 / ×1 req/s |', '|---|---:|---:|---:|');
    for (const r of ratios) lines.push(`| ${r.workload} | ${f(r.rpsRatio, 2)} | ${f(r.p95Ratio, 2)} | ${f(r.scaleOut, 2)} |`);
  }
  if (floorRatios.length) {
    lines.push('', '| workload | TaskFlow / floor req/s | TaskFlow / floor p95 | DB CPU ms/req: TaskFlow | floor | TaskFlow unprepared |', '|---|---:|---:|---:|---:|---:|');
    for (const r of floorRatios) lines.push(`| ${r.workload} | ${f(r.rpsRatio, 2)} | ${f(r.p95Ratio, 2)} | ${f(r.dbCpu, 2)} | ${f(r.floorDbCpu, 2)} | ${f(r.beforeDbCpu, 2)} |`);
  }
  if (checks.length) {
    lines.push('', '| target (issues 6 and 13) | measured | met |', '|---|---:|:---:|');
    for (const c of checks) lines.push(`| ${c.what} | ${c.value} | ${c.ok ? '✓' : '✗'} |`);
  }
  const w4 = rows.find((r) => r.workload === 'W4');
  if (w4) lines.push('', `W4 applied ${w4.statusChanges} one-shot status changes (pending → in_progress)` +
    (w4.statusFallbacks ? ` and ran out of fresh pending tasks ${w4.statusFallbacks} times (progress updates instead)` : '') + '.');
  if (explain) {
    lines.push('', `Query plans: ${explain.failures.length ? `**${explain.failures.length} sequential scan(s) on task**` : 'no sequential scan on task'}` +
      `${explain.warnings.length ? `, ${explain.warnings.length} warning(s)` : ''}.`);
    for (const x of [...explain.failures, ...explain.warnings]) lines.push(`- ${x}`);
  }
  for (const p of profiles) lines.push('', `## CPU profile of ${TARGETS[p.target].label} under ${p.workload} (${p.rps} req/s while profiled; ${p.file})`, '', p.text);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------- overload

const OVERLOAD_WORKLOADS = ['W2', 'W4'];
const RECOVERY_SEC = 5;
/**
 * The last seconds of the warm-up at opts.connections, measured: the rate the burst and the recovery are held to.
 * The same server process on the same connections a moment before the burst, so the host's drift between runs
 * (±20 % here over minutes) does not enter the comparison, as it does against the workload's own run.
 */
const PRE_BURST_SEC = 5;

/** 2xx answers per second from the generator's counts per 250 ms. */
const perSecond = (quarters = []) =>
  Array.from({ length: Math.ceil(quarters.length / 4) }, (_, i) => quarters.slice(4 * i, 4 * i + 4).reduce((n, x) => n + x, 0));

/** One sample of a server's own /metrics (0 when absent). */
async function scrapeMetric(url, name) {
  const text = await fetch(`${url}/metrics`).then((r) => r.text(), () => '');
  return text.split('\n').filter((l) => l.startsWith(name)).reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
}

/**
 * A burst: `workloadId`'s requests at opts.overloadConnections for opts.overloadSec (after the usual warm-up at
 * opts.connections, whose last PRE_BURST_SEC are measured), then opts.connections again for RECOVERY_SEC. Admitted
 * (2xx) and shed (503) answers are reported apart; anything else is an error. Peak RSS covers warm-up, burst and
 * recovery.
 */
async function measureOverload(ctx, workloadId, targetId, polite = false) {
  const { opts, env, tokens } = ctx;
  const kind = TARGETS[targetId].kind;
  // The floor refuses with the same bounds as TaskFlow's defaults (MAX_IN_FLIGHT, MAX_QUEUE; bare-http.mjs).
  const targetEnv = { ...env, ...(TARGETS[targetId].env ?? {}) };
  const server = await startServerProcess(kind, kind === 'floor' ? { ...targetEnv, MAX_IN_FLIGHT: '100', MAX_QUEUE: '100' } : targetEnv);
  const generators = [];
  try {
    ctx.random = prng(0x0e71 + workloadId.charCodeAt(1));
    const plan = WORKLOADS[workloadId].build(ctx);
    await preflight(server.url, plan, tokens, workloadId);
    const burst = forkGenerator();
    const steady = forkGenerator();
    generators.push(burst, steady);
    const base = { tokens, requests: plan.requests, fallback: plan.fallback ?? [] };
    await burst.ask({ type: 'plan', plan: { ...base, targets: [{ url: server.url, connections: opts.overloadConnections }], unique: plan.unique ?? [] } });
    await steady.ask({ type: 'plan', plan: { ...base, targets: [{ url: server.url, connections: opts.connections }], unique: [] } });
    // Answered 'measuring' when the warm-up ends; the result of the last PRE_BURST_SEC follows.
    await steady.ask({ type: 'run', phase: 'measure', seconds: PRE_BURST_SEC, warmupSeconds: opts.warmupSec });
    const pre = (await steady.expect()).result;

    const cpu0 = cpuMs(server.pid);
    // Resident memory once a second through the burst (and once after the recovery): "flat" is no growth once the burst's
    // connections are open (from a third of the way in to the end), whatever the step up at its start.
    const rss = [rssMb(server.pid)];
    const sampler = setInterval(() => rss.push(rssMb(server.pid)), 1000);
    let b;
    try {
      b = (await burst.ask({ type: 'run', phase: 'measure', seconds: opts.overloadSec, polite })).result;
    } finally {
      clearInterval(sampler);
    }
    const burstCpuMs = cpuMs(server.pid) - cpu0;
    const rssBurstEnd = rssMb(server.pid);
    const r = (await steady.ask({ type: 'run', phase: 'measure', seconds: RECOVERY_SEC })).result;
    const rssAfter = rssMb(server.pid);
    const third = rss[Math.min(rss.length - 1, Math.round(opts.overloadSec / 3))];
    const shedCounted = kind === 'taskflow' ? await scrapeMetric(server.url, 'taskflow_admission_shed_total') : 0;
    // Refused after waiting MAX_QUEUE_WAIT_MS in the queue: these refusals are the slow ones by definition.
    const shedTimedOut = kind === 'taskflow' ? await scrapeMetric(server.url, 'taskflow_admission_shed_total{reason="queue_timeout"}') : 0;

    const sorted = (xs) => Float64Array.from(xs).sort();
    const admitted = sorted(b.admitted);
    const shed = sorted(b.shed);
    const shedLater = sorted(b.shedAfterFirstSecond ?? []);
    const recovered = sorted(r.admitted);
    // 2xx answers in each second of the recovery: whether the server is back after a second, a few, or not at all.
    const recoveryPerSecond = perSecond(r.okPerQuarter);
    const elapsed = b.elapsedMs / 1000;
    const other = (res) => Object.entries(res.statusCodes).filter(([c]) => (c < 200 || c > 299) && c !== '503').reduce((n, [, v]) => n + v, 0) + res.errors + res.timeouts;
    const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
    return {
      workload: workloadId, target: targetId, polite, connections: opts.overloadConnections, seconds: opts.overloadSec,
      okRps: round(admitted.length / elapsed, 0), shedRps: round(shed.length / elapsed, 0),
      beforeRps: round(pre.admitted.length / (pre.elapsedMs / 1000), 0),
      admittedP50: round(percentile(admitted, 50)), admittedP99: round(percentile(admitted, 99)), admittedMax: round(admitted.at(-1) ?? NaN),
      shed: shed.length, shedCounted, shedTimedOut, shedP50: round(percentile(shed, 50)), shedP99: round(percentile(shed, 99)), shedMax: round(shed.at(-1) ?? NaN),
      shedP99After1s: round(percentile(shedLater, 99)),
      otherErrors: other(b), statusCodes: b.statusCodes,
      serverCpuCores: round(burstCpuMs / 1000 / elapsed, 2), peakRssMb: round(peakRssMb(server.pid), 0),
      rssBeforeMb: round(rss[0], 0), rssThirdMb: round(third, 0), rssBurstEndMb: round(rssBurstEnd, 0), rssAfterMb: round(rssAfter, 0),
      rssGrowthLaterMb: round(Math.max(...rss.slice(Math.round(opts.overloadSec / 3)), rssBurstEnd) - third, 0),
      recoveryFirstSecondRps: recoveryPerSecond[0] ?? 0,
      recoveryPerSecond,
      // 2xx answers in each second of the burst: whether a shortfall is its first seconds or all of it.
      okPerSecond: perSecond(b.okPerQuarter),
      recoveryRps: round(recovered.length / (r.elapsedMs / 1000), 0), recoveryP99: round(percentile(recovered, 99)),
      recoveryNon2xx: Object.entries(r.statusCodes).filter(([c]) => c < 200 || c > 299).reduce((n, [, v]) => n + v, 0) + r.errors + r.timeouts,
      generatorCpuPct: round((b.cpuMs / b.elapsedMs) * 100, 0),
    };
  } finally {
    await Promise.all(generators.map((g) => g.close()));
    await server.stop();
  }
}

function overloadMarkdown(overload, rows, opts) {
  if (!overload.length) return '';
  const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
  const normal = (o) => rows.find((r) => r.workload === o.workload && r.target === o.target);
  const lines = ['', `## Overload: W2 and W4 at ${opts.overloadConnections} connections for ${opts.overloadSec} s, then ${opts.connections} again for ${RECOVERY_SEC} s`, ''];
  lines.push('| workload | server | 2xx req/s | × just before | × at ' + opts.connections + ' conn. | admitted p50 / p99 ms | 503 shed (req/s) | shed p50 / p99 / max ms | other errors | server cores | peak RSS MB | RSS MB: before, ⅓ in, end, after | after: 2xx in 1st s | after: req/s, p99 ms, non-2xx | generator CPU |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const o of overload) {
    const n = normal(o);
    lines.push(`| ${o.workload} | ${TARGETS[o.target].label}${o.polite ? ", clients honour Retry-After" : o.target !== "baseline" ? ", clients ignore Retry-After" : ""} | ${f(o.okRps, 0)} | ${f(o.okRps / o.beforeRps, 2)} (of ${f(o.beforeRps, 0)}) | ${n ? f(o.okRps / n.rps, 2) : '–'} | ${f(o.admittedP50)} / ${f(o.admittedP99)} | ` +
      `${o.shed} (${f(o.shedRps, 0)}) | ${o.shed ? `${f(o.shedP50)} / ${f(o.shedP99)} / ${f(o.shedMax)}` : '–'} | ${o.otherErrors} | ${f(o.serverCpuCores, 2)} | ${f(o.peakRssMb, 0)} | ` +
      `${f(o.rssBeforeMb, 0)}, ${f(o.rssThirdMb, 0)}, ${f(o.rssBurstEndMb, 0)}, ${f(o.rssAfterMb, 0)} | ` +
      `${o.recoveryFirstSecondRps} | ${f(o.recoveryRps, 0)}, ${f(o.recoveryP99)}, ${o.recoveryNon2xx} | ${f(o.generatorCpuPct, 0)} % |`);
  }
  lines.push('', '| target (issue 19) | ' + overload.map((o) => `${o.workload} ${o.target}${o.polite ? ' polite' : ''}`).join(' | ') + ' |');
  lines.push('|---|' + overload.map(() => '---:|').join(''));
  const row = (label, value) => lines.push(`| ${label} | ${overload.map(value).join(' | ')} |`);
  const mark = (ok) => (ok ? ' ✓' : ' ✗');
  row(`2xx ≥ 0.9 × the ${opts.connections}-connection figure (its last ${PRE_BURST_SEC} s before the burst)`, (o) => `${f(o.okRps / o.beforeRps, 2)}${mark(o.okRps / o.beforeRps >= 0.9)}`);
  row('admitted p99 ≤ 1 s', (o) => `${f(o.admittedP99, 0)} ms${mark(o.admittedP99 <= 1000)}`);
  row('shed answered in ≤ 50 ms (p99)', (o) => (o.shed ? `${f(o.shedP99, 0)} ms${mark(o.shedP99 <= 50)}` : '–'));
  row('… of requests sent after the first second (1,000 connections open at once)', (o) => (o.shed ? `${f(o.shedP99After1s, 0)} ms${mark(o.shedP99After1s <= 50)}` : '–'));
  row('no errors but documented 503s', (o) => `${o.otherErrors}${mark(o.otherErrors === 0)}`);
  row('recovered: 2xx in the 1st s after ≥ 0.9 × before the burst', (o) => `${f(o.recoveryFirstSecondRps / o.beforeRps, 2)}${mark(o.recoveryFirstSecondRps / o.beforeRps >= 0.9)}`);
  row('memory flat: RSS growth from ⅓ in to the end ≤ 5 %', (o) => `${f(o.rssGrowthLaterMb, 0)} MB${mark(o.rssGrowthLaterMb <= 0.05 * o.rssThirdMb)}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------- main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const wantsTaskflow = opts.targets.some((t) => !BARE.has(t));
  for (const file of ['src/db/embedded.js', 'src/db/migrate.js', ...(wantsTaskflow ? ['src/server.js'] : [])]) {
    if (!existsSync(join(DIST, file))) throw new Error(`${join(DIST, file)} is missing: run \`make build\` first (make bench does)`);
  }
  mkdirSync(RESULTS, { recursive: true });
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const loadavg = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  log(`TaskFlow bench ${opts.quick ? '(quick) ' : ''}— ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, load average ${loadavg}`);
  if (os.loadavg()[0] > 0.5 * os.cpus().length) log('! the machine is busy (load average above half its cores): expect lower, noisier numbers');

  const { startEmbeddedPostgres } = await import(pathToFileURL(join(DIST, 'src/db/embedded.js')).href);
  const { migrate } = await import(pathToFileURL(join(DIST, 'src/db/migrate.js')).href);
  const dataDir = mkdtempSync(join(os.tmpdir(), 'taskflow-bench-pg-'));
  const pgInfo = { logLines: [] };
  const db = await startEmbeddedPostgres({ dataDir, persistent: false, fast: true, settings: { log_autovacuum_min_duration: '0', ...(opts.dbStatements ? STATEMENT_SETTINGS : {}) }, log: (line) => {
    pgInfo.logLines.push(line);
    if (pgInfo.logLines.length > 200_000) pgInfo.logLines.splice(0, 100_000);
  } });
  cleanups.push(() => db.stop());
  pgInfo.adminUrl = db.url;
  pgInfo.postmasterPid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  await admin.query(`create database ${DB_NAME}`);
  const postgres = (await admin.query('show server_version')).rows[0].server_version;
  await admin.end();
  const dbUrl = db.urlFor(DB_NAME);
  await migrate(dbUrl);
  await seed(dbUrl, { log });
  const agentKeys = await seedAgentKeys(dbUrl);

  let explainFailed = false;
  const referencePlans = await checkQueryPlans(dbUrl);
  printExplain('Query plans of the reference list query shapes (explain.mjs) on the seeded data:', referencePlans);

  const sso = await startFakeSso();
  cleanups.push(() => sso.close());
  const tokens = await Promise.all(Array.from({ length: USERS }, (_, k) => sso.mint({ sub: userId(k + 1), email: userEmail(k + 1), name: userName(k + 1) }, { expiresIn: '4h' })));
  const env = {
    DATABASE_URL: dbUrl, AUTH_JWKS_URL: sso.url.href, AUTH_ISSUER: sso.issuer, AUTH_AUDIENCE: sso.audience,
    NODE_ENV: 'production', LOG_LEVEL: opts.logLevel, RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_ANONYMOUS_PER_MINUTE: '0', DB_POOL_SIZE: String(opts.poolSize),
  };
  const ctx = { opts, env, tokens, agentKeys, pgInfo, created: 0, pendingCursor: 0, pendingOrder: shuffled(PENDING, prng(6)) };

  let serverPlans;
  if (wantsTaskflow && !opts.skipExplain) {
    serverPlans = await explainServer(ctx);
    printExplain('Query plans of the SQL the TaskFlow server sent (auto_explain) for every list variant:', serverPlans);
    if (serverPlans.failures.length) {
      explainFailed = true;
      log(`\n!!! ${serverPlans.failures.length} sequential scan(s) on task in the server's queries — the index-scan target is missed !!!\n`);
    }
  }

  if (opts.targets.includes('floor') && wantsTaskflow && ['W1', 'W2', 'W3'].some((w) => opts.only.includes(w))) await checkFloorResponses(ctx, dbUrl);

  const measurements = [];
  for (let run = 1; run <= opts.runs; run++) {
    for (const w of opts.only) {
      for (const t of opts.targets) {
        if (WORKLOADS[w].taskflowOnly && t !== 'taskflow' && t !== 'unprepared') continue;
        process.stdout.write(`run ${run}/${opts.runs}  ${w} ${TARGETS[t].label.padEnd(12)} `);
        const m = await measure(ctx, w, t);
        measurements.push({ ...m, run });
        log(`${String(m.rps).padStart(6)} req/s  p50 ${m.p50} ms  p95 ${m.p95} ms  p99 ${m.p99} ms  non-2xx ${m.non2xx + m.errors + m.timeouts}` +
          `  server ${m.serverCpuMsPerReq} ms CPU/req (${m.serverCpuCores} cores)  db ${m.dbCpuMsPerReq} ms/req  rss ${m.peakRssMb} MB  generator ${m.generatorCpuPct} %` +
          `  main thread on CPU ${m.mainOnCpuPct} %, waiting ${m.mainWaitingPct} %`);
        if (m.generatorCpuPct > 90) log('  ! the load generator used > 90 % of a core: it may be the bottleneck; try --generators 2');
        if (m.maintenance.length) log(`  autovacuum ended in the window: ${m.maintenance.join(', ')}`);
        for (const st of m.statements ?? []) {
          log(`    ${st.callsPerReq.toFixed(3).padStart(7)} calls/req  exec ${String(st.execUsPerReq).padStart(6)} µs/req  plan ${String(st.planUsPerReq).padStart(5)} µs/req` +
            `  planned ${st.planned}/${st.calls}  ${st.query}`);
        }
        if (WORKLOADS[w].writes) await resetWrites(dbUrl);
      }
    }
  }

  const overload = [];
  if (opts.overload) {
    for (const w of OVERLOAD_WORKLOADS.filter((x) => opts.only.includes(x))) {
      // TaskFlow twice: clients that ignore Retry-After (autocannon: a retry storm, the worst case) and clients that
      // honour it, as the contract asks. The baseline never refuses, so for it the two are the same run.
      // The floor refuses as TaskFlow does (the same bounds, without the pause of a refused connection), so it too
      // runs with both kinds of client.
      // TaskFlow with V8's own heap growth ('v8-heap'), when asked for: the memory of the burst, clients that honour it.
      const runs = ['taskflow', 'v8-heap', 'floor', 'baseline'].filter((x) => opts.targets.includes(x))
        .flatMap((t) => (t === 'baseline' ? [{ t, polite: false }] : t === 'v8-heap' ? [{ t, polite: true }] : [{ t, polite: false }, { t, polite: true }]));
      for (const { t, polite } of runs) {
        if (WORKLOADS[w].taskflowOnly && t !== 'taskflow') continue;
        process.stdout.write(`overload ${w} ${(TARGETS[t].label + (polite ? ' (polite)' : '')).padEnd(21)} ${opts.overloadConnections} conn. `);
        const o = await measureOverload(ctx, w, t, polite);
        overload.push(o);
        log(`2xx ${o.okRps} req/s (${o.beforeRps} before)  admitted p99 ${o.admittedP99} ms  shed ${o.shed} (p99 ${o.shedP99} ms)  other errors ${o.otherErrors}` +
          `  rss ${o.peakRssMb} MB  after: ${o.recoveryFirstSecondRps} in 1st s, ${o.recoveryRps} req/s, p99 ${o.recoveryP99} ms  generator ${o.generatorCpuPct} %` +
          `\n  2xx per second of the burst: ${o.okPerSecond.join(' ')}` +
          `\n  2xx per second after it: ${o.recoveryPerSecond.join(' ')}`);
        if (WORKLOADS[w].writes) await resetWrites(dbUrl);
      }
    }
  }

  // --cpu-prof: one more run per profiled workload and server (not in the table: profiling slows the server).
  const profiles = [];
  for (const w of opts.cpuProf || []) {
    for (const t of ['taskflow', 'baseline', 'floor'].filter((x) => opts.targets.includes(x) || (x === 'taskflow' && wantsTaskflow))) {
      if (WORKLOADS[w].taskflowOnly && t !== 'taskflow') continue;
      const name = `${t}-${w}-${stamp}.cpuprofile`;
      process.stdout.write(`profiling ${w} on ${TARGETS[t].label} (--cpu-prof) `);
      const m = await measure(ctx, w, t, { cpuProfName: name });
      log(`${m.rps} req/s while profiled`);
      if (WORKLOADS[w].writes) await resetWrites(dbUrl);
      // Only the measured window: no startup (contract compilation) and no warm-up in the summary.
      const summary = summarizeProfile(JSON.parse(readFileSync(join(RESULTS, name), 'utf8')), { top: 15, from: m.window.fromUs, to: m.window.toUs });
      const text = formatProfileSummary(summary, { requests: m.requests });
      profiles.push({ workload: w, target: t, file: `test/bench/results/${name}`, rps: m.rps, requests: m.requests, text, summary });
      log(`\nCPU profile of ${TARGETS[t].label} under ${w} (${profiles.at(-1).file}):\n${text}\n`);
    }
  }

  const rows = aggregate(measurements);
  const { ratios, checks, floorRatios } = evaluate(rows);
  const meta = {
    date: startedAt.toISOString(), quick: opts.quick, runs: opts.runs, connections: opts.connections, generators: opts.generators,
    warmupSec: opts.warmupSec, durationSec: opts.durationSec, logLevel: opts.logLevel, loadavg,
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`,
    node: process.versions.node, postgres,
  };
  const explain = serverPlans ?? referencePlans;
  const report = { meta, rows, ratios, checks, floorRatios, measurements, overload, explain: { failures: explain.failures, warnings: explain.warnings }, referencePlans, serverPlans, profiles };
  const md = markdown(report) + overloadMarkdown(overload, rows, opts);
  writeFileSync(join(RESULTS, `bench-${stamp}.json`), JSON.stringify(report, null, 2));
  writeFileSync(join(RESULTS, `bench-${stamp}.md`), md + '\n');
  writeFileSync(join(RESULTS, 'latest.json'), JSON.stringify(report, null, 2));
  writeFileSync(join(RESULTS, 'latest.md'), md + '\n');
  log(`\n${md}\n\nresults: test/bench/results/bench-${stamp}.{json,md}`);
  if (explainFailed) {
    log('\nFAILED: a list query of the server scans the task table sequentially (see the plans above).');
    process.exitCode = 1;
  }
}

async function cleanup() {
  for (const c of cleanups.reverse()) await Promise.resolve().then(c).catch(() => {});
}

process.once('SIGINT', () => cleanup().finally(() => process.exit(130)));
process.once('SIGTERM', () => cleanup().finally(() => process.exit(143)));
main()
  .catch((err) => {
    console.error(`\nbench failed: ${err.stack ?? err}`);
    process.exitCode = 1;
  })
  .finally(cleanup);
