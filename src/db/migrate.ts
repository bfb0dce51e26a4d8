import { runner } from 'node-pg-migrate';
import { migrateJobSchema } from './job-schema.js';
import { MIGRATIONS_DIR } from '../paths.js';

/**
 * Applies pending migrations from sql/. Tracked in the `pgmigrations` table; an advisory lock makes a second
 * process wait instead of racing, so two instances starting together are safe.
 */
export async function migrate(databaseUrl: string, log: (msg: string) => void = () => {}): Promise<string[]> {
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    count: Infinity,
    checkOrder: true,
    advisoryLockMode: 'wait',
    log,
    logger: { debug: () => {}, info: log, warn: log, error: log },
  });
  await migrateJobSchema(databaseUrl); // pg-boss keeps its own schema and versions; idempotent
  return applied.map((m) => m.name);
}
