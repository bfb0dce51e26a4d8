import { runner } from 'node-pg-migrate';
import { sql } from 'slonik';
import type { Config } from '../config.js';
import { createDatabasePool, type DatabasePool } from '../db/index.js';
import { CHAT_MIGRATIONS_DIR } from '../paths.js';

/** The database of the embedded PostgreSQL that holds conversations when CHAT_DATABASE_URL is not set. */
export const EMBEDDED_CHAT_DATABASE = 'taskflow_chat';

/**
 * Applies pending migrations from sql-chat/ to the conversations database, tracked in their own table
 * (`chat_pgmigrations`), so the two databases can also be one database without their histories mixing.
 */
export async function migrateChat(databaseUrl: string): Promise<string[]> {
  const silent = () => {};
  const applied = await runner({
    databaseUrl,
    dir: CHAT_MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'chat_pgmigrations',
    count: Infinity,
    checkOrder: true,
    advisoryLockMode: 'wait',
    log: silent,
    logger: { debug: silent, info: silent, warn: silent, error: silent },
  });
  return applied.map((m) => m.name);
}

/** Creates `name` on the server behind `adminUrl` (its `postgres` database) unless it exists. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = await createDatabasePool(adminUrl, { poolSize: 1, idleTimeoutMs: 1000, maxConnectionAgeMs: 60_000, connectTimeoutMs: 5000, statementTimeoutMs: 0, pooled: false });
  try {
    if (!(await admin.exists(sql.unsafe`select 1 from pg_database where datname = ${name}`))) {
      await admin.query(sql.unsafe`create database ${sql.identifier([name])}`);
    }
  } finally {
    await admin.end();
  }
}

/** The conversations pool: its own size and timeouts (CHAT_DB_*), small by default. */
export const createChatPool = (url: string, config: Config): Promise<DatabasePool> => createDatabasePool(url, config.chat.database);
