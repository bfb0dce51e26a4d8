/** `npm run migrate` / `make migrate` (src/db/migrate-cli.ts) on databases of their own, and `npm run import` on an empty one. */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runMigrations } from '../../src/db/migrate-cli.js';
import { MIGRATIONS_DIR, ROOT } from '../../src/paths.js';
import { phase1Fixture } from '../import/fixture.js';
import { adminQuery, serverUrl } from '../helpers/pg.js';

const MIGRATIONS = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).map((f) => f.replace(/\.sql$/, '')).sort();
const created: string[] = [];

/** An empty database (not cloned from the migrated template): what a new deployment starts with. */
async function emptyDatabase(): Promise<string> {
  const name = `m_${randomBytes(6).toString('hex')}`;
  await adminQuery(serverUrl(), `create database ${name}`);
  created.push(name);
  return serverUrl().replace(/\/[^/]*$/, `/${name}`);
}
afterAll(async () => {
  for (const name of created) await adminQuery(serverUrl(), `drop database if exists ${name} with (force)`);
});

async function run(env: NodeJS.ProcessEnv) {
  let out = '';
  let err = '';
  const code = await runMigrations({ env, out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}
const tablesOf = async (url: string) =>
  (await adminQuery(url, `select table_name from information_schema.tables where table_schema = 'public' order by 1`)).rows.map((r) => r.table_name as string);

describe('npm run migrate', () => {
  it('applies every migration to an empty database, then finds nothing to do', async () => {
    const url = await emptyDatabase();
    const first = await run({ DATABASE_URL: url });
    expect(first).toMatchObject({ code: 0, err: '' });
    expect(first.out).toContain(`Applied ${MIGRATIONS.length} migration(s)`);
    for (const name of MIGRATIONS) expect(first.out).toContain(name);
    expect(first.out).not.toContain('taskflow@'); // no credentials in the output
    expect(await tablesOf(url)).toEqual(expect.arrayContaining(['worker', 'project', 'member', 'task', 'audit_log', 'pgmigrations']));

    const second = await run({ DATABASE_URL: url });
    expect(second.code).toBe(0);
    expect(second.out).toContain('is up to date: no pending migration');
  });

  it('migrates over DATABASE_URL_DIRECT when both are set', async () => {
    const pooled = await emptyDatabase();
    const direct = await emptyDatabase();
    const { code } = await run({ DATABASE_URL: pooled, DATABASE_URL_DIRECT: direct });
    expect(code).toBe(0);
    expect(await tablesOf(direct)).toContain('task');
    expect(await tablesOf(pooled)).toEqual([]);
  });

  it('refuses a malformed URL with exit code 78, naming the variable', async () => {
    const { code, out, err } = await run({ DATABASE_URL: 'mysql://nope' });
    expect(code).toBe(78);
    expect(out).toBe('');
    expect(err).toContain('DATABASE_URL');
  });

  it('fails with exit code 1 and one line when the database cannot be reached', async () => {
    const { code, err } = await run({ DATABASE_URL: serverUrl().replace(/\/[^/]*$/, `/no_such_database_${randomBytes(3).toString('hex')}`) });
    expect(code).toBe(1);
    expect(err.trim().split('\n')).toEqual([expect.stringMatching(/^Migration failed: .*does not exist/)]);
  });
});

describe("the README's import steps", () => {
  it('work verbatim on an empty database (the import migrates it first)', async () => {
    const dist = join(ROOT, 'dist/src/import/cli.js');
    if (!existsSync(dist)) throw new Error('dist/ is missing: run make build first (make test does)');
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Importing Phase I data'));
    const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
    const lines = (block ?? '').trim().split('\n');
    expect(lines[0]).toBe('make build'); // done by make test before jest; not repeated here
    const steps = lines.slice(1);
    expect(steps).toHaveLength(2);

    const url = await emptyDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'taskflow-readme-import-'));
    try {
      const fixture = phase1Fixture({ tasks: 60 });
      const file = join(dir, 'data.json');
      writeFileSync(file, JSON.stringify(fixture));
      const outputs: string[] = [];
      for (const step of steps) {
        const command = step.replaceAll('postgres://…', url).replaceAll('path/to/.taskflow/data.json', file).replaceAll('<JWT sub>', 'owner-1');
        expect(command).not.toMatch(/…|<|>/);
        const { stdout } = await promisify(execFile)('bash', ['-c', command], { cwd: ROOT, env: process.env });
        outputs.push(stdout);
      }
      expect(outputs[0]).toContain('Applied'); // the dry run migrated the empty database …
      expect(outputs[0]).toContain('Dry run for tenant "acme"');
      expect(outputs[1]).toContain('Imported into tenant "acme"');
      const { rows } = await adminQuery(url, `select count(*)::int as n from task where tenant_id = 'acme'`);
      expect(rows[0].n).toBe(fixture.tasks.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
