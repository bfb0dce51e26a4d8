/**
 * The contract stays mockable: Prism loads openapi/taskflow.yaml, serves the documented examples with the
 * documented statuses, and enforces security and request validation the way the real server does.
 * Response bodies are checked against the contract's own schemas (ajv, JSON Schema 2020-12).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import yaml from 'js-yaml';
import { freePort } from '../../src/db/embedded.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CONTRACT = 'openapi/taskflow.yaml';
const CONTRACT_ID = 'https://taskflow.dev/openapi/taskflow.json';
const AUTH = { Authorization: 'Bearer x' };

// ajv-formats is CommonJS: the default import is `module.exports`, whose `.default` is the plugin itself.
const addFormats = ajvFormats.default;

const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
ajv.addSchema({ ...(yaml.load(readFileSync(path.join(ROOT, CONTRACT), 'utf8')) as object), $id: CONTRACT_ID });

/** Returns the ajv errors of `body` against components.schemas.<name> (an empty list when valid). */
function violations(name: string, body: unknown): unknown[] {
  const validate = ajv.getSchema(`${CONTRACT_ID}#/components/schemas/${name}`);
  if (!validate) throw new Error(`no schema ${name} in the contract`);
  return validate(body) ? [] : (validate.errors ?? []);
}

let prism: ChildProcess | undefined;
let output = '';
let base = '';

async function waitUntilAnswering(deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    if (prism?.exitCode !== null) throw new Error(`prism exited early (${prism?.exitCode}):\n${output}`);
    try {
      const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`prism did not answer in time:\n${output}`);
}

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  prism = spawn(path.join(ROOT, 'node_modules/.bin/prism'), ['mock', CONTRACT, '-h', '127.0.0.1', '-p', String(port)], {
    cwd: ROOT,
    env: { ...process.env, SCARF_ANALYTICS: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  prism.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  prism.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // Prism compiles the whole contract at start: on a loaded two-core machine that alone takes 20 s and more.
  await waitUntilAnswering(Date.now() + 60_000);
}, 70_000);

afterAll(async () => {
  const child = prism;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
});

async function call(method: string, url: string, options: { body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...(options.headers ?? AUTH) };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + url, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, headers: res.headers, type, body: /json/.test(type) && text ? (JSON.parse(text) as unknown) : text };
}

describe('Prism mock of the contract', () => {
  it('GET /health answers 200 with a Health body', async () => {
    const res = await call('GET', '/health');
    expect(res.status).toBe(200);
    expect(violations('Health', res.body)).toEqual([]);
  });

  it('GET /api/projects answers 200 with a ProjectList and X-Request-Id', async () => {
    const res = await call('GET', '/api/projects');
    expect(res.status).toBe(200);
    expect(violations('ProjectList', res.body)).toEqual([]);
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('GET /api/tasks/{task_id} answers 200 with a Task and a strong ETag', async () => {
    const res = await call('GET', '/api/tasks/42');
    expect(res.status).toBe(200);
    expect(violations('Task', res.body)).toEqual([]);
    expect(res.headers.get('etag')).toMatch(/^"\d+"$/);
  });

  it('POST /api/projects with a valid body answers 201 with a Project, Location and ETag', async () => {
    const res = await call('POST', '/api/projects', {
      body: { slug: 'website-relaunch', name: 'Website relaunch', description: null },
      headers: { ...AUTH, 'Idempotency-Key': '5f1c1c2e-8d7a-4b1e-9a0a-2b8f3c1d4e5f' },
    });
    expect(res.status).toBe(201);
    expect(violations('Project', res.body)).toEqual([]);
    expect(res.headers.get('location')).toMatch(/^\/api\/projects\/\d+$/);
    expect(res.headers.get('etag')).toMatch(/^"\d+"$/);
  });

  it('answers 401 with a problem and WWW-Authenticate when Authorization is missing', async () => {
    const res = await call('GET', '/api/projects', { headers: {} });
    expect(res.status).toBe(401);
    expect(res.type).toContain('application/problem+json');
    expect(violations('Problem', res.body)).toEqual([]);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('answers 422 for an invalid body (bad slug, missing name)', async () => {
    const res = await call('POST', '/api/projects', { body: { slug: 'Bad Slug!' } });
    expect(res.status).toBe(422);
    expect(res.type).toContain('application/problem+json');
    expect(violations('Problem', res.body)).toEqual([]);
  });

  it('answers 422 for an out-of-range query parameter (limit=1000)', async () => {
    const res = await call('GET', '/api/projects?limit=1000');
    expect(res.status).toBe(422);
    expect(violations('Problem', res.body)).toEqual([]);
  });

  it('answers 422 for a request body property the contract does not define', async () => {
    const res = await call('PATCH', '/api/tasks/42', { body: { titel: 'typo' } });
    expect(res.status).toBe(422);
  });
});
