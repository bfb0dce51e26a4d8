import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { migrateChat } from '../../src/chat/index.js';
import { CHAT_TEMPLATE_DB, TEMPLATE_DB, adminQuery } from './pg.js';

/**
 * One embedded PostgreSQL for the whole run, with a migrated template database. Each test file clones the
 * template (CREATE DATABASE … TEMPLATE), which takes ~100 ms and isolates files from each other; likewise the
 * conversations database of /chatkit from its own template.
 */
export default async function globalSetup(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'taskflow-test-pg-'));
  const pg = await startEmbeddedPostgres({ dataDir, persistent: false, fast: true });
  await adminQuery(pg.url, `create database ${TEMPLATE_DB}`);
  await migrate(pg.urlFor(TEMPLATE_DB));
  await adminQuery(pg.url, `create database ${CHAT_TEMPLATE_DB}`);
  await migrateChat(pg.urlFor(CHAT_TEMPLATE_DB));
  process.env.TASKFLOW_TEST_PG = pg.url;
  (globalThis as { __taskflowPg?: unknown }).__taskflowPg = pg;
}
