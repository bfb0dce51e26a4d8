import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../../src/paths.js';

/**
 * The import-layer check of `make lint` (.dependency-cruiser.cjs, README "Architecture") on small made-up trees:
 * each rule must fire on the import it exists to refuse, and stay quiet on a tree that keeps the layers.
 */
const CLI = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruiser.mjs');
const run = promisify(execFile);

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
  cycle?: unknown[];
}

/**
 * Writes the files (path → imported paths) into a fresh tree beside a copy of the real config, and cruises src/.
 * With the json reporter the CLI exits 0 whatever it finds (make lint uses `err`, which fails): read the report.
 */
async function cruise(files: Record<string, string[]>): Promise<{ code: number; violations: Violation[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'taskflow-layers-'));
  try {
    copyFileSync(join(ROOT, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true } }));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    for (const [file, imports] of Object.entries(files)) {
      mkdirSync(join(dir, dirname(file)), { recursive: true });
      const lines = imports.map((target, i) => `import * as m${i} from '${relativeTo(dirname(file), target.replace(/\.ts$/, '.js'))}';\nexport const use${i} = m${i};`);
      writeFileSync(join(dir, file), `${lines.join('\n')}\nexport const here = '${file}';\n`);
    }
    const result = await run(process.execPath, [CLI, 'src', '--config', '.dependency-cruiser.cjs', '--output-type', 'json'], {
      cwd: dir,
      // jest's NODE_OPTIONS (--import ./test/helpers/…) would not resolve from the temporary tree.
      env: { ...process.env, NODE_OPTIONS: '' },
      maxBuffer: 64 * 1024 * 1024,
    }).then(
      (ok) => ({ code: 0, stdout: ok.stdout, stderr: ok.stderr }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
    );
    if (!result.stdout.trim()) throw new Error(`dependency-cruiser printed no report (exit ${result.code}): ${result.stderr}`);
    const output = JSON.parse(result.stdout) as { summary: { violations: Violation[] } };
    return { code: result.code, violations: output.summary.violations };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function relativeTo(fromDir: string, target: string): string {
  const from = fromDir.split('/');
  const to = target.split('/');
  while (from.length && to.length > 1 && from[0] === to[0]) {
    from.shift();
    to.shift();
  }
  return `${from.length ? from.map(() => '..').join('/') : '.'}/${to.join('/')}`;
}

const rulesOf = (violations: Violation[]) => [...new Set(violations.map((v) => v.rule.name))].sort();

/** A small tree that keeps every layer: entry → resources → services → http → db → base. */
const CLEAN: Record<string, string[]> = {
  'src/config.ts': [],
  'src/server.ts': ['src/app.ts', 'src/config.ts'],
  'src/app.ts': ['src/tasks/index.ts', 'src/members/index.ts', 'src/auth/verify.ts'],
  'src/tasks/index.ts': ['src/tasks/tasks.handlers.ts'],
  'src/tasks/tasks.handlers.ts': ['src/tasks/tasks.sql.ts', 'src/members/index.ts', 'src/audit/index.ts', 'src/http/problem.ts'],
  'src/tasks/tasks.sql.ts': ['src/db/index.ts'],
  'src/members/index.ts': ['src/members/access.ts'],
  'src/members/access.ts': ['src/db/index.ts', 'src/http/problem.ts', 'src/audit/index.ts'],
  'src/audit/index.ts': ['src/db/index.ts', 'src/http/principal.ts'],
  'src/auth/verify.ts': ['src/http/problem.ts', 'src/config.ts'],
  'src/http/problem.ts': [],
  'src/http/principal.ts': ['src/db/index.ts'],
  'src/db/index.ts': ['src/config.ts'],
};

describe('the import layers of src/ (.dependency-cruiser.cjs)', () => {
  it('accepts a tree that keeps the layers', async () => {
    expect((await cruise(CLEAN)).violations).toEqual([]);
  });

  it('refuses a file-level cycle, which is a folder-level cycle and an upward import as well', async () => {
    const { violations } = await cruise({ ...CLEAN, 'src/db/index.ts': ['src/config.ts', 'src/tasks/tasks.sql.ts'] });
    expect(rulesOf(violations)).toEqual(['infra-imports-only-base', 'no-circular', 'no-folder-cycles', 'no-other-modules-sql']);
  });

  it('refuses a folder-level cycle between two resources even without a file-level one', async () => {
    const { violations } = await cruise({
      ...CLEAN,
      'src/members/members.handlers.ts': ['src/tasks/index.ts'],
      'src/members/index.ts': ['src/members/access.ts', 'src/members/members.handlers.ts'],
      'src/tasks/tasks.handlers.ts': ['src/tasks/tasks.sql.ts', 'src/members/access.ts'],
    });
    expect(rulesOf(violations)).toEqual(['no-folder-cycles']);
  });

  it.each([
    ['http-imports-no-service-or-resource', 'src/http/problem.ts', 'src/auth/verify.ts'],
    ['services-import-no-resource', 'src/audit/index.ts', 'src/members/index.ts'],
    ['base-imports-no-layer-above', 'src/config.ts', 'src/http/problem.ts'],
    ['nothing-imports-an-entry-point', 'src/members/access.ts', 'src/server.ts'],
    ['no-other-modules-sql', 'src/members/access.ts', 'src/tasks/tasks.sql.ts'],
  ])('%s: refuses %s → %s', async (rule, from, to) => {
    const { violations } = await cruise({ ...CLEAN, [from]: [...CLEAN[from]!, to] });
    expect(violations.map((v) => v.rule.name)).toContain(rule);
    expect(violations.find((v) => v.rule.name === rule)).toMatchObject({ from, to });
  });
});
