#!/usr/bin/env node
/**
 * Event streams under load (`make bench`, after the HTTP workloads; or `node test/bench/streams.mjs`):
 * 1,000 open SSE streams on one production server, its memory per stream, and how fast a change reaches them
 * while a W4-like mix (80 % reads, 15 % progress/status changes, 5 % creates) runs.
 *
 *   --streams N (1000)   --seconds S (15)   --workers C (20)
 *
 * Latency is measured per stream and per created task: from the moment the create request is sent to the
 * moment that stream received its `task.created` event (so it includes the write itself).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { startFakeSso } from '../helpers/sso.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const DIST = join(ROOT, 'dist');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const STREAMS = arg('streams', 1000);
const SECONDS = arg('seconds', 15);
const WORKERS = arg('workers', 20);
const USERS = 10;
const log = (...a) => console.log('[streams]', ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cleanups = [];

const rssMb = (pid) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) / 1024;
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))];

async function main() {
  const { startEmbeddedPostgres, freePort } = await import(pathToFileURL(join(DIST, 'src/db/embedded.js')).href);
  const { migrate } = await import(pathToFileURL(join(DIST, 'src/db/migrate.js')).href);
  const db = await startEmbeddedPostgres({ dataDir: mkdtempSync(join(os.tmpdir(), 'taskflow-bench-streams-')), persistent: false, fast: true });
  cleanups.push(() => db.stop());
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  await admin.query('create database streams');
  await admin.end();
  const dbUrl = db.urlFor('streams');
  await migrate(dbUrl);

  const sso = await startFakeSso();
  cleanups.push(() => sso.close());
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [join(DIST, 'src/server.js')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH, HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'production', LOG_LEVEL: 'warn', PORT: String(port), HOST: '127.0.0.1',
      DATABASE_URL: dbUrl, AUTH_JWKS_URL: sso.url.href, AUTH_ISSUER: sso.issuer, AUTH_AUDIENCE: sso.audience,
      RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_ANONYMOUS_PER_MINUTE: '0', EVENTS_MAX_STREAMS_PER_USER: String(STREAMS),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  // The server drains and closes its pool before the database goes (cleanups run in reverse): stopping the
  // database under a running server logged its job queue's and event readers' lost connections.
  cleanups.push(() => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  }));
  for (const deadline = Date.now() + 120_000; ; await sleep(200)) {
    if (Date.now() > deadline) throw new Error('server did not start');
    if (await fetch(`${url}/health`).then((r) => r.ok, () => false)) break;
  }

  const tokens = await Promise.all(Array.from({ length: USERS }, (_, k) => sso.mint({ sub: `stream-user-${k}`, email: `user${k}@bench.test`, name: `User ${k}` }, { expiresIn: '4h' })));
  const call = async (token, method, path, body) => {
    const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    return { status: res.status, body: res.status === 204 ? undefined : await res.json() };
  };
  for (const token of tokens) await call(token, 'GET', '/api/me');
  const project = (await call(tokens[0], 'POST', '/api/projects', { slug: 'live-board', name: 'Live board' })).body.id;
  for (let k = 1; k < USERS; k++) await call(tokens[0], 'POST', `/api/projects/${project}/members`, { user_id: `stream-user-${k}` });
  const seedTasks = [];
  for (let i = 0; i < 50; i++) seedTasks.push((await call(tokens[0], 'POST', `/api/projects/${project}/tasks`, { title: `Seed ${i}` })).body.id);
  for (const id of seedTasks) await call(tokens[0], 'PATCH', `/api/tasks/${id}/status`, { status: 'in_progress' });
  await sleep(1_000);
  const rssBefore = rssMb(child.pid);

  // 1,000 streams, spread over the users, each parsing its messages.
  // Title of a task being created → when its create was sent, recorded before sending: a stream may see the event
  // before the creating client has read its 201 (keyed by id, those fastest deliveries went uncounted).
  const sentAt = new Map();
  const latencies = [];
  let received = 0;
  const sockets = [];
  // Opened 50 at a time, as clients arrive rather than in one burst: a burst of 1,000 would (rightly) be shed by
  // admission control (MAX_QUEUE); a refused stream retries after its Retry-After, as an EventSource does.
  const openOne = (i) => new Promise((resolveOpen, reject) => {
    const req = http.get(`${url}/api/events/stream?project_id=${project}&types=task.created`, { headers: { authorization: `Bearer ${tokens[i % USERS]}` }, agent: false }, (res) => {
      if (res.statusCode === 503) {
        res.resume();
        shed++;
        return resolveOpen(false);
      }
      if (res.statusCode !== 200) return reject(new Error(`stream ${i}: HTTP ${res.statusCode}`));
      sockets.push(res);
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (!data) continue;
          const event = JSON.parse(data.slice(6));
          const at = sentAt.get(event.data?.changes?.title ?? event.data?.task?.title);
          if (at !== undefined) latencies.push(performance.now() - at);
          received++;
        }
      });
      resolveOpen(true);
    });
    req.on('error', reject);
  });
  let shed = 0;
  for (let next = 0; next < STREAMS; ) {
    const wave = Array.from({ length: Math.min(50, STREAMS - next) }, (_, k) => next + k);
    const opened = await Promise.all(wave.map(openOne));
    const retry = wave.filter((_, k) => !opened[k]);
    next += wave.length - retry.length;
    if (retry.length) await sleep(1_000);
  }
  if (shed) log(`${shed} stream openings were shed (503) and retried`);
  await sleep(2_000);
  const rssOpen = rssMb(child.pid);
  log(`${STREAMS} streams open: server RSS ${rssBefore.toFixed(0)} → ${rssOpen.toFixed(0)} MB, ${(((rssOpen - rssBefore) * 1024) / STREAMS).toFixed(1)} KiB per stream`);

  // The W4-like mix, from `WORKERS` concurrent clients, for SECONDS.
  let requests = 0;
  let failures = 0;
  let creates = 0;
  const stopAt = Date.now() + SECONDS * 1000;
  await Promise.all(Array.from({ length: WORKERS }, async (_, w) => {
    const token = tokens[w % USERS];
    for (let n = 0; Date.now() < stopAt; n++) {
      const r = (n * 37 + w * 11) % 100;
      let res;
      if (r < 80) res = await call(token, 'GET', `/api/projects/${project}/tasks?limit=20`);
      else if (r < 95) res = await call(token, 'PATCH', `/api/tasks/${seedTasks[(n + w) % seedTasks.length]}/progress`, { progress_percent: (n * 7) % 100 });
      else {
        const title = `Live ${w}-${n}`;
        sentAt.set(title, performance.now());
        res = await call(token, 'POST', `/api/projects/${project}/tasks`, { title });
        if (res.status === 201) creates++;
      }
      requests++;
      if (res.status >= 400) failures++;
    }
  }));
  await sleep(3_000); // let the last events arrive
  const rssPeak = Number(readFileSync(`/proc/${child.pid}/status`, 'utf8').match(/VmHWM:\s+(\d+)/)[1]) / 1024;
  latencies.sort((a, b) => a - b);
  const expected = creates * STREAMS;
  log(`load: ${requests} requests in ${SECONDS} s (${(requests / SECONDS).toFixed(0)}/s, ${failures} non-2xx), ${creates} creates`);
  log(`deliveries: ${latencies.length} of ${expected} (${received} events received), latency p50 ${pct(latencies, 0.5)?.toFixed(0)} ms, p99 ${pct(latencies, 0.99)?.toFixed(0)} ms, max ${latencies.at(-1)?.toFixed(0)} ms; server peak RSS ${rssPeak.toFixed(0)} MB`);
  log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  for (const s of sockets) s.destroy();
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
  });
