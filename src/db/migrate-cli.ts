import { ConfigError, loadMigrationConfig } from '../config.js';
import { EmbeddedPostgresError } from './embedded.js';
import { migrate } from './migrate.js';

/**
 * `make migrate` / `npm run migrate` (dist/src/db/migrate-cli.js): applies pending migrations from sql/ and exits,
 * without starting the server — the release step of a deployment. Over DATABASE_URL_DIRECT, else DATABASE_URL;
 * with neither, over the embedded database of `make run` (.data/pg). Exit codes: 0 done, 1 failed, 78 bad config.
 */
export interface MigrateIo {
  env: NodeJS.ProcessEnv;
  out: (text: string) => void;
  err: (text: string) => void;
}

const processIo: MigrateIo = {
  env: process.env,
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

/** The URL without its password, for messages. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return 'the database';
  }
}

export async function runMigrations(io: MigrateIo = processIo): Promise<number> {
  let migrationUrl: string | undefined;
  try {
    ({ migrationUrl } = loadMigrationConfig(io.env));
  } catch (err) {
    io.err((err as Error).message);
    return 78; // EX_CONFIG, as the server
  }
  let local: Awaited<ReturnType<typeof import('./local.js').startLocalDatabase>> | undefined;
  try {
    if (!migrationUrl) {
      const { startLocalDatabase } = await import('./local.js');
      local = await startLocalDatabase((line) => io.out(line));
      io.out(`No DATABASE_URL_DIRECT or DATABASE_URL: migrating the embedded database of make run in ${local.dataDir}.`);
    }
    const url = migrationUrl ?? local!.url;
    const applied = await migrate(url);
    io.out(
      applied.length
        ? `Applied ${applied.length} migration(s) to ${describeUrl(url)}:\n${applied.map((name) => `  ${name}`).join('\n')}`
        : `${describeUrl(url)} is up to date: no pending migration.`,
    );
    return 0;
  } catch (err) {
    const reason = err instanceof ConfigError || err instanceof EmbeddedPostgresError ? err.message : `Migration failed: ${(err as Error).message}`;
    io.err(reason);
    return 1;
  } finally {
    await local?.stop();
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) process.exitCode = await runMigrations();
