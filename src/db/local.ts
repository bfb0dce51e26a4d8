import { join } from 'node:path';
import { sql } from 'slonik';
import { DATA_DIR } from '../paths.js';
import { startEmbeddedPostgres } from './embedded.js';
import { createDatabasePool } from './pool.js';

export interface LocalDatabase {
  /** URL of the `taskflow` database. */
  url: string;
  port: number;
  /** Where the cluster's files are (under .data/pg, or staged under /var/tmp when running as root). */
  dataDir: string;
  stagedIn?: string;
  /** URL of another database in the same cluster (`postgres` for administration). */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

/**
 * The local database of `make run` and `make migrate` without DATABASE_URL: an embedded PostgreSQL kept under
 * .data/pg between runs, with a `taskflow` database created on first use.
 */
export async function startLocalDatabase(notice: (line: string) => void = () => {}): Promise<LocalDatabase> {
  const pg = await startEmbeddedPostgres({ dataDir: join(DATA_DIR, 'pg'), persistent: true, notice });
  try {
    const admin = await createDatabasePool(pg.url, { poolSize: 1, idleTimeoutMs: 1000, maxConnectionAgeMs: 60_000, connectTimeoutMs: 5000, statementTimeoutMs: 0, pooled: false });
    try {
      if (!(await admin.exists(sql.unsafe`select 1 from pg_database where datname = 'taskflow'`))) {
        await admin.query(sql.unsafe`create database taskflow`);
      }
    } finally {
      await admin.end();
    }
  } catch (err) {
    await pg.stop();
    throw err;
  }
  return { url: pg.urlFor('taskflow'), port: pg.port, dataDir: pg.dataDir, ...(pg.stagedIn ? { stagedIn: pg.stagedIn } : {}), urlFor: pg.urlFor, stop: pg.stop };
}
