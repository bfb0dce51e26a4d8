import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEMPLATE_DB = 'taskflow_template';
/** The conversations database (sql-chat/), migrated once per run like TEMPLATE_DB. */
export const CHAT_TEMPLATE_DB = 'taskflow_chat_template';

/** Runs one statement on a fresh connection (CREATE/DROP DATABASE cannot run in a transaction or pool). */
export async function adminQuery(url: string, text: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

/** The URL of the embedded server started by global-setup.ts. */
export function serverUrl(): string {
  const url = process.env.TASKFLOW_TEST_PG;
  if (!url) throw new Error('TASKFLOW_TEST_PG is not set: run the tests through jest (test/helpers/global-setup.ts starts PostgreSQL)');
  return url;
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A migrated database of its own for one test file, cloned from the template (the task or the chat one). */
export async function createTestDatabase(template: string = TEMPLATE_DB): Promise<TestDatabase> {
  const base = serverUrl();
  const name = `t_${randomBytes(6).toString('hex')}`;
  await adminQuery(base, `create database ${name} template ${template}`);
  const url = base.replace(/\/[^/]*$/, `/${name}`);
  return {
    name,
    url,
    drop: () => adminQuery(base, `drop database if exists ${name} with (force)`).then(() => undefined),
  };
}
