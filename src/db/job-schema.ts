import { PgBoss } from 'pg-boss';
import { pgClientConfig } from './pool.js';

/** The schema of the job queue's tables (src/jobs/), part of our database like the tables of sql/. */
export const JOB_SCHEMA = 'pgboss';

/** pg-boss's connection options for a database URL (the same TLS rules as the pool). */
export const jobQueueOptions = (url: string) => ({ ...pgClientConfig(url), schema: JOB_SCHEMA });

/**
 * Installs or upgrades pg-boss's schema (run with the migrations, over the direct URL), so that a database
 * cloned from a migrated template, or an instance starting with fewer rights, already has it.
 */
export async function migrateJobSchema(url: string): Promise<void> {
  const boss = new PgBoss({ ...jobQueueOptions(url), max: 1, supervise: false, schedule: false, migrate: true });
  boss.on('error', () => {});
  await boss.start();
  await boss.stop({ graceful: false, close: true });
}
