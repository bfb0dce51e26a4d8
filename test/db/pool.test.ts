import { SchemaValidationError, sql } from 'slonik';
import { z } from 'zod';
import { loadConfig } from '../../src/config.js';
import { createDatabasePool, type DatabasePool } from '../../src/db/index.js';
import { readdirSync } from 'node:fs';
import { migrate } from '../../src/db/migrate.js';
import { MIGRATIONS_DIR } from '../../src/paths.js';
import { adminQuery, createTestDatabase, type TestDatabase } from '../helpers/pg.js';

describe('database pool', () => {
  let db: TestDatabase;
  let pool: DatabasePool;
  beforeAll(async () => {
    db = await createTestDatabase();
    pool = await createDatabasePool(db.url, loadConfig({ AUTH_DEV_MODE: 'true' }).database);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('enforces zod row schemas (and applies their transforms)', async () => {
    await expect(pool.one(sql.type(z.object({ x: z.string() }))`select 1 as x`)).rejects.toBeInstanceOf(SchemaValidationError);
    const row = await pool.one(sql.type(z.object({ x: z.number().transform((n) => n * 2) }))`select 21 as x`);
    expect(row).toEqual({ x: 42 });
  });

  it('returns int8 as numbers and timestamptz as RFC 3339 UTC', async () => {
    const row = await pool.one(sql.unsafe`
      select 9007199254740991::int8 as big, count(*) as n, timestamptz '2026-01-31 10:00:00+01' as at from (values (1), (2)) v`);
    expect(row).toEqual({ big: 9007199254740991, n: 2, at: '2026-01-31T09:00:00.000Z' });
  });

  it('refuses an int8 that JSON cannot carry, rather than rounding it', async () => {
    await expect(pool.one(sql.unsafe`select 9007199254740993::int8 as big`)).rejects.toThrow(/int8/);
  });

  it('migrations are a no-op on an already migrated database, and safe from two processes at once', async () => {
    expect(await migrate(db.url)).toEqual([]);
    expect(await Promise.all([migrate(db.url), migrate(db.url)])).toEqual([[], []]);
  });

  it('applies every migration to an empty database, concurrently from two runners', async () => {
    const empty = await createTestDatabase();
    try {
      const adminUrl = empty.url;
      await adminQuery(adminUrl, 'drop schema public cascade; create schema public');
      const [a, b] = await Promise.all([migrate(adminUrl), migrate(adminUrl)]);
      const all = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).map((f) => f.replace(/\.sql$/, '')).sort();
      expect([...a, ...b].sort()).toEqual(all);
      const again = await migrate(adminUrl);
      expect(again).toEqual([]);
    } finally {
      await empty.drop();
    }
  });
});
