/**
 * The contract run can fail. Dredd with the checks of test/contract/schema-check.cjs (the same ones `make
 * contract` installs, and the jest client runs: response-check.cjs) is pointed at a tiny fixture server: it passes while the server answers as the contract
 * says and fails, naming the field, as soon as a body breaks the contract's JSON Schema or a required header is
 * missing. The first test shows why the checks exist: Dredd 14 alone accepts the same broken bodies.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DREDD = path.join(ROOT, 'node_modules/dredd/bin/dredd');
const CONTRACT = 'openapi/taskflow.yaml';
const SCHEMA_HOOKS = 'test/contract/schema-hooks.cjs';
// Two transactions are enough, and keep each run at a second or two.
const ONLY = ['/health > Liveness probe > 200 > application/json', '/api/projects/{project_id} > Get a project > 200 > application/json'];

type Mode = 'correct' | 'wrong-types' | 'missing-etag' | 'missing-field' | 'undocumented-field';
let mode: Mode = 'correct';

const project = {
  id: 7,
  slug: 'website-relaunch',
  name: 'Website relaunch',
  description: null,
  owner_id: 5,
  is_default: false,
  member_count: 3,
  task_count: 14,
  created_at: '2026-01-31T09:00:00Z',
  updated_at: '2026-02-03T16:20:00Z',
  version: 3,
};

/** Answers the two operations, correctly or broken in one way, whatever the request carries. */
function fixtureServer(): Server {
  return createServer((req, res) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'Content-Type': 'application/json', 'X-Request-Id': 'fixture-1', ...headers }).end(JSON.stringify(body));
    if (req.url === '/health') {
      send(200, mode === 'wrong-types' ? { status: 1, version: '1.0.0' } : { status: 'ok', version: '1.0.0' });
    } else if (req.url === '/api/projects/7') {
      // the rate-limit headers the real server sends on every bearerAuth answer (Dredd alone expects them)
      const limits = { RateLimit: '"user";r=599;t=60', 'RateLimit-Policy': '"user";q=600;w=60' };
      if (mode === 'wrong-types') send(200, { ...project, id: '7' }, { ETag: '"3"', ...limits });
      else if (mode === 'missing-etag') send(200, project, limits);
      else if (mode === 'missing-field') send(200, { ...project, name: undefined }, { ETag: '"3"', ...limits });
      else if (mode === 'undocumented-field') send(200, { ...project, archived: false }, { ETag: '"3"', ...limits });
      else send(200, project, { ETag: '"3"', ...limits });
    } else {
      send(404, { type: 'https://taskflow.dev/problems/not-found', title: 'Not found', status: 404, detail: req.url ?? '' });
    }
  });
}

let server: Server;
let base = '';
let workDir = '';

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'taskflow-dredd-'));
  server = fixtureServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  rmSync(workDir, { recursive: true, force: true });
});

/** Runs Dredd to completion. Its output goes to a file: Dredd exits with process.exit(), which truncates pipes. */
async function dredd(hookfiles: string[]): Promise<{ code: number | null; output: string }> {
  const logFile = path.join(workDir, `dredd-${Date.now()}.log`);
  const fd = openSync(logFile, 'w');
  const args = [DREDD, CONTRACT, base, ...hookfiles.flatMap((h) => ['--hookfiles', h]), ...ONLY.flatMap((n) => ['--only', n]), '--loglevel', 'warning', '--color', 'false'];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '--no-deprecation --no-warnings' }, // not jest's loader flags
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, output: readFileSync(logFile, 'utf8') };
}

test('without the schema checks, Dredd 14 accepts bodies of the wrong type (why the checks exist)', async () => {
  mode = 'wrong-types';
  const { code, output } = await dredd([]);
  expect(output).toMatch(/complete: 2 passing, 0 failing/);
  expect(code).toBe(0);
}, 90_000);

test('with the schema checks, a correct server passes', async () => {
  mode = 'correct';
  const { code, output } = await dredd([SCHEMA_HOOKS]);
  expect(output).toMatch(/complete: 2 passing, 0 failing/);
  expect(code).toBe(0);
}, 90_000);

test('with the schema checks, a body that breaks the schema fails the run and names the field', async () => {
  mode = 'wrong-types';
  const { code, output } = await dredd([SCHEMA_HOOKS]);
  expect(output).toContain("At '/status' must be string"); // GET /health: {"status": 1}
  expect(output).toContain("At '/id' must be integer"); // GET /api/projects/7: {"id": "7"}
  expect(output).toMatch(/complete: 0 passing, 2 failing/);
  expect(code).toBe(1);
}, 90_000);

test('with the schema checks, a missing required header fails the run', async () => {
  mode = 'missing-etag';
  const { code, output } = await dredd([SCHEMA_HOOKS]);
  expect(output).toContain('required header ETag is missing');
  expect(output).toMatch(/complete: 1 passing, 1 failing/);
  expect(code).toBe(1);
}, 90_000);

test('with the schema checks, a missing required field fails the run, although response schemas are open', async () => {
  mode = 'missing-field';
  const { code, output } = await dredd([SCHEMA_HOOKS]);
  expect(output).toMatch(/must have required property 'name'/);
  expect(output).toMatch(/complete: 1 passing, 1 failing/);
  expect(code).toBe(1);
}, 90_000);

test('with the schema checks, a field the contract does not document fails the run: the server sends exactly the contract', async () => {
  mode = 'undocumented-field';
  const { code, output } = await dredd([SCHEMA_HOOKS]);
  expect(output).toMatch(/archived/);
  expect(output).toMatch(/complete: 1 passing, 1 failing/);
  expect(code).toBe(1);
}, 90_000);
