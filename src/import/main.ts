import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { loadMigrationConfig } from '../config.js';
import { createDatabasePool } from '../db/index.js';
import { migrate } from '../db/migrate.js';
import { parsePhase1 } from './phase1.js';
import { planImport } from './plan.js';
import { ImportRejected, importPhase1, type Count, type ImportReport } from './run.js';

/** `npm run import -- data.json --tenant T --owner USER_ID [--dry-run]`; cli.ts runs it, tests call it. */

export const EXIT = { ok: 0, invalidInput: 1, usage: 2, failed: 3 } as const;

export const USAGE = `Usage: npm run import -- <path/to/.taskflow/data.json> --tenant <tenant> --owner <user id> [--dry-run]

Imports a Phase I TaskFlow CLI file into tenant <tenant>; the projects are owned by the human whose JWT sub
is <user id> (provisioned if they never signed in). DATABASE_URL names the database; pending migrations are
applied first (over DATABASE_URL_DIRECT when set), so an empty database works.
  --dry-run   check everything and print what would be written, then roll back

Exit codes: 0 imported (or nothing new), 1 invalid input (every bad record is listed), 2 usage, 3 failure.`;

export interface Io {
  /** The environment to read the database URLs from (through config.ts); the process's when absent. */
  env?: NodeJS.ProcessEnv;
  out: (text: string) => void;
  err: (text: string) => void;
}

const processIo: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

const Args = z.object({
  file: z.string({ error: 'the path of the Phase I data.json is required' }).min(1),
  tenant: z.string({ error: '--tenant is required' }).trim().min(1, { error: '--tenant must not be blank' }).max(255),
  owner: z.string({ error: '--owner is required' }).trim().min(1, { error: '--owner must not be blank' }).max(255),
  dryRun: z.boolean(),
  databaseUrl: z.string({ error: 'DATABASE_URL must be set to a postgres:// URL' }),
  /** DATABASE_URL_DIRECT when set, else DATABASE_URL. */
  migrationUrl: z.string().optional(),
});

function readArgs(argv: string[], env: NodeJS.ProcessEnv | undefined) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      owner: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (positionals.length > 1) throw new Error(`one file expected, got ${positionals.length}: ${positionals.join(' ')}`);
  // config.ts reads and checks the URLs (a malformed one throws its ConfigError, a usage error here).
  const { databaseUrl, migrationUrl } = loadMigrationConfig(env);
  return {
    help: values.help,
    args: Args.safeParse({
      file: positionals[0],
      tenant: values.tenant,
      owner: values.owner,
      dryRun: values['dry-run'],
      databaseUrl,
      migrationUrl,
    }),
  };
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let parsed;
  try {
    parsed = readArgs(argv, io.env);
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (parsed.help) {
    io.out(USAGE);
    return EXIT.ok;
  }
  if (!parsed.args.success) {
    io.err(`${parsed.args.error.issues.map((i) => i.message).join('\n')}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const args = parsed.args.data;
  const started = performance.now();

  let text: string;
  try {
    text = await readFile(args.file, 'utf8');
  } catch (err) {
    io.err(`Cannot read ${args.file}: ${(err as Error).message}`);
    return EXIT.usage;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return invalid(io, args.file, [`(file): not valid JSON: ${(err as Error).message}`]);
  }
  const planned = planImport(parsePhase1(json));
  if (!planned.ok) return invalid(io, args.file, planned.errors);

  // A fresh database gets its tables first, as the server would at start-up: the import never runs against an
  // old schema, and the README's steps work on an empty database. Schema only, so a dry run does it too.
  try {
    const applied = await migrate(args.migrationUrl ?? args.databaseUrl);
    if (applied.length) io.out(`Applied ${applied.length} pending migration(s) first: ${applied.join(', ')}`);
  } catch (err) {
    io.err(`Cannot bring the database schema up to date, nothing was imported: ${(err as Error).message}`);
    return EXIT.failed;
  }

  const pool = await createDatabasePool(args.databaseUrl, {
    poolSize: 2,
    idleTimeoutMs: 10_000,
    maxConnectionAgeMs: 30 * 60_000,
    connectTimeoutMs: 10_000,
    // A batch job, not a request: one statement may insert thousands of tasks.
    statementTimeoutMs: 0,
    pooled: undefined,
  });
  try {
    const report = await importPhase1(pool, planned.plan, { tenantId: args.tenant, ownerUserId: args.owner, dryRun: args.dryRun });
    io.out(formatReport(report, performance.now() - started));
    return EXIT.ok;
  } catch (err) {
    if (err instanceof ImportRejected) return invalid(io, args.file, err.errors);
    io.err(`Import failed, nothing was written: ${(err as Error).message}`);
    return EXIT.failed;
  } finally {
    await pool.end();
  }
}

function invalid(io: Io, file: string, errors: string[]): number {
  io.err(`${file}: ${errors.length} invalid record(s); nothing was written.\n${errors.map((e) => `  ${e}`).join('\n')}`);
  return EXIT.invalidInput;
}

export function formatReport(r: ImportReport, elapsedMs: number): string {
  const counts = [r.projects, r.humans, r.agents, r.members, r.tasks, r.audit];
  const nothingNew = !r.owner.created && counts.every((c) => c.created === 0);
  const row = (label: string, c: Count) => `  ${label.padEnd(15)}${String(c.created).padStart(9)}${String(c.present).padStart(17)}`;
  const lines = [
    r.dryRun ? `Dry run for tenant "${r.tenantId}": nothing was written; a real run would create:`
    : nothingNew ? `Nothing new for tenant "${r.tenantId}": everything in the file was imported before.`
    : `Imported into tenant "${r.tenantId}":`,
    `  ${''.padEnd(15)}${'created'.padStart(9)}${'already present'.padStart(17)}`,
    row('owner', { created: r.owner.created ? 1 : 0, present: r.owner.created ? 0 : 1 }),
    row('projects', r.projects),
    row('humans', r.humans),
    row('agents', r.agents),
    row('memberships', r.members),
    row('tasks', r.tasks),
    row('audit entries', r.audit),
    `  Projects are owned by ${r.owner.handle}.`,
  ];
  if (r.auditOfMissingTasks > 0) {
    lines.push(`  ${r.auditOfMissingTasks} audit entries are about tasks deleted in Phase I; they are kept on their project.`);
  }
  lines.push(`  Done in ${(elapsedMs / 1000).toFixed(1)} s.`);
  return lines.join('\n');
}
