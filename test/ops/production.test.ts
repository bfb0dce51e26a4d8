/** `npm start` runs the production build; bad configuration stops it at once with a clear message. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../../src/db/embedded.js';
import { ROOT } from '../../src/paths.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { startFakeSso, type FakeSso } from '../helpers/sso.mjs';

interface Run {
  code: number | null;
  output: string;
}

/** `npm start` as a developer runs it, or (`direct`) `node dist/src/server.js` as a container's PID 1 would. */
function npmStart(env: Record<string, string>, untilOutput?: RegExp, direct = false): { done: Promise<Run>; stop(): void; ready: Promise<void> } {
  const [command, args] = direct ? ['node', ['dist/src/server.js']] : ['npm', ['start', '--silent']];
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH}`, HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    if (untilOutput?.test(output)) markReady();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const done = new Promise<Run>((resolve) => child.on('exit', (code) => resolve({ code, output })));
  return { done, ready, stop: () => child.kill('SIGTERM') };
}

describe('production build', () => {
  let db: TestDatabase;
  let sso: FakeSso;
  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist/src/server.js'))) throw new Error('dist/ is missing: run `make build` (make test does)');
    db = await createTestDatabase();
    sso = await startFakeSso();
  });
  afterAll(async () => {
    await sso?.close();
    await db?.drop();
  });

  it.each([
    [{ PORT: 'abc', AUTH_DEV_MODE: 'true' }, /PORT/],
    [{ LISTEN_BACKLOG: '0', AUTH_DEV_MODE: 'true' }, /LISTEN_BACKLOG/],
    [{ LISTEN_SOCKETS: '0', AUTH_DEV_MODE: 'true' }, /LISTEN_SOCKETS/],
    [{ HEAP_GROWTH_PERCENT: 'lots', AUTH_DEV_MODE: 'true' }, /HEAP_GROWTH_PERCENT/],
    [{ DATABASE_URL: 'mysql://nope', AUTH_DEV_MODE: 'true' }, /DATABASE_URL/],
    [{ AUTH_DEV_MODE: 'false' }, /AUTH_JWKS_URL/],
    [{ AUTH_JWKS_URL: 'http://127.0.0.1:1/jwks', AUTH_ALGORITHMS: 'HS256' }, /AUTH_ALGORITHMS/],
  ])('refuses to start with %j', async (env, message) => {
    const run = await npmStart({ NODE_ENV: 'production', ...env }).done;
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(message);
    expect(run.output).toMatch(/Invalid configuration/);
  });

  it('refuses dev mode in production', async () => {
    const run = await npmStart({ NODE_ENV: 'production', AUTH_DEV_MODE: 'true', DATABASE_URL: db.url }).done;
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/AUTH_DEV_MODE=true is not allowed with NODE_ENV=production/);
  });

  it('refuses to run without DATABASE_URL in production', async () => {
    const run = await npmStart({ NODE_ENV: 'production', AUTH_JWKS_URL: sso.url.href }).done;
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/DATABASE_URL is required in production/);
  });

  it('serves the production build and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const server = npmStart(
      { NODE_ENV: 'production', PORT: String(port), DATABASE_URL: db.url, AUTH_JWKS_URL: sso.url.href, AUTH_ISSUER: sso.issuer, AUTH_AUDIENCE: sso.audience },
      /TaskFlow API listening/,
      true,
    );
    await Promise.race([server.ready, server.done.then((r) => Promise.reject(new Error(r.output)))]);
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    const me = await fetch(`http://127.0.0.1:${port}/api/me`, { headers: { authorization: await sso.authHeader({ sub: 'prod-user' }) } });
    expect(me.status).toBe(200);
    server.stop();
    const run = await server.done;
    expect(run.code).toBe(0);
    expect(run.output).toMatch(/"msg":"stopped"/);
    // The listen backlog: what lets a burst of new connections wait in the kernel instead of re-sending SYNs.
    expect(run.output).toMatch(/"backlog":4096,"sockets":64,"heapGrowthPercent":50,"pretenuring":false,"msg":"TaskFlow API listening"/);
    const lines = run.output.split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow(); // production logs are JSON lines
  });

  it('refuses, in one sentence, a port that another process holds (even one that shares its port)', async () => {
    const port = await freePort();
    // Another instance's listening sockets allow SO_REUSEPORT; without the check, this one would share its port.
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen({ port, host: '0.0.0.0', reusePort: true }, resolve));
    try {
      const run = await npmStart({ NODE_ENV: 'production', PORT: String(port), DATABASE_URL: db.url, AUTH_JWKS_URL: sso.url.href }, undefined, true).done;
      expect(run.code).toBe(1);
      const fatal = run.output.split('\n').filter((l) => l.includes('"level":60'));
      expect(fatal).toHaveLength(1);
      expect(JSON.parse(fatal[0]!)).toMatchObject({ msg: 'failed to start', reason: `Port ${port} on 0.0.0.0 is already in use: stop what holds it, or set PORT to another port.` });
      expect(run.output).not.toContain('"stack"');
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('refuses a port in use before it starts anything: no database is reached for it', async () => {
    const port = await freePort();
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen({ port, host: '0.0.0.0' }, resolve));
    // Nothing listens on this one: a server that went to its database first would fail on the connection.
    const nowhere = `postgres://postgres@127.0.0.1:${await freePort()}/taskflow`;
    try {
      const run = await npmStart({ NODE_ENV: 'production', PORT: String(port), DATABASE_URL: nowhere, AUTH_JWKS_URL: sso.url.href }, undefined, true).done;
      expect(run.code).toBe(1);
      const fatal = run.output.split('\n').filter((l) => l.includes('"level":60'));
      expect(fatal).toHaveLength(1);
      expect(JSON.parse(fatal[0]!)).toMatchObject({ msg: 'failed to start', reason: `Port ${port} on 0.0.0.0 is already in use: stop what holds it, or set PORT to another port.` });
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
