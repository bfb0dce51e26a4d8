/**
 * Named prepared statements on a real PostgreSQL: what pg_prepared_statements holds per connection, the bound,
 * transactions, errors, a dropped connection, and a migration that changes a statement's result type.
 */
import { sql, type QuerySqlToken } from 'slonik';
import { z } from 'zod';
import { loadConfig } from '../../src/config.js';
import { createDatabasePool, limitRows, type DatabasePool } from '../../src/db/index.js';
import { statementName } from '../../src/db/prepared.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';

const Prepared = z.object({ name: z.string(), statement: z.string(), plans: z.number() });
const Pid = z.object({ pid: z.number() });

describe('named prepared statements', () => {
  let db: TestDatabase;
  const pools: DatabasePool[] = [];
  const open = async (extra: Record<string, string> = {}, poolSize = 1) => {
    const settings = { ...loadConfig({ AUTH_DEV_MODE: 'true', ...extra }).database, poolSize };
    const pool = await createDatabasePool(db.url, settings);
    pools.push(pool);
    return pool;
  };
  /** The statements this connection has prepared (the inspecting query excluded). */
  const preparedOn = (pool: DatabasePool) =>
    pool.any(sql.type(Prepared)`
      select name, statement, (generic_plans + custom_plans)::int as plans from pg_prepared_statements
      where statement not like '%pg_prepared_statements%' order by name`);

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
    await db?.drop();
  });

  it('prepares a statement once per connection and runs it from then on by name', async () => {
    const pool = await open();
    const query = sql.type(z.object({ n: z.number() }))`select count(*)::int as n from task where project_id = ${1}`;
    await pool.one(query);
    await pool.one(query);
    await pool.one(query);
    const statements = await preparedOn(pool);
    expect(statements).toEqual([{ name: statementName(query.sql.replaceAll('$slonik_', '$')), statement: expect.stringContaining('from task'), plans: 3 }]);
  });

  it('DB_PREPARED_STATEMENTS=off sends unnamed statements', async () => {
    const pool = await open({ DB_PREPARED_STATEMENTS: 'off' });
    await pool.query(sql.unsafe`select 1 as one`);
    await pool.query(sql.unsafe`select 1 as one`);
    expect(await preparedOn(pool)).toEqual([]);
  });

  it('keeps at most DB_MAX_PREPARED_STATEMENTS per connection', async () => {
    const pool = await open({ DB_MAX_PREPARED_STATEMENTS: '3' });
    for (let i = 0; i < 8; i++) await pool.query(sql.unsafe`select ${sql.literalValue(String(i))} as v`);
    // The inspecting query is one of the three.
    const statements = await preparedOn(pool);
    expect(statements.length).toBe(2);
    expect(statements.map((s) => s.statement).sort()).toEqual(["select '6' as v", "select '7' as v"]);
  });

  it('a page query keeps one generic plan when its limit is in the text (limitRows), and is planned on every call when it is a parameter', async () => {
    const pool = await open();
    await pool.query(sql.unsafe`create table prep_page (id int primary key, k int not null, at timestamptz not null)`);
    await pool.query(sql.unsafe`create index on prep_page (k, at desc, id desc)`);
    await pool.query(sql.unsafe`insert into prep_page select i, i % 50, now() - i * interval '1 minute' from generate_series(1, 20000) i`);
    await pool.query(sql.unsafe`analyze prep_page`);
    const Row = z.object({ id: z.number() });
    const plans = async (page: (k: number) => QuerySqlToken<typeof Row>) => {
      for (let i = 0; i < 20; i++) await pool.any(page(i % 50));
      const text = page(0).sql.replaceAll('$slonik_', '$');
      return pool.one(sql.type(z.object({ generic: z.number(), custom: z.number() }))`
        select generic_plans::int as generic, custom_plans::int as custom from pg_prepared_statements where name = ${statementName(text)}`);
    };
    const inText = await plans((k) => sql.type(Row)`select id from prep_page where k = ${k} order by at desc, id desc ${limitRows(21)}`);
    const asParameter = await plans((k) => sql.type(Row)`select id from prep_page where k = ${k} order by at desc, id desc limit ${21}`);
    // PostgreSQL tries five custom plans before it compares them with the generic one.
    expect(inText).toEqual({ generic: 15, custom: 5 });
    expect(asParameter).toEqual({ generic: 0, custom: 20 });
    expect(limitRows(21).sql).toBe("limit '21'");
    expect(() => limitRows(2.5)).toThrow(RangeError);
    expect(() => limitRows(-1)).toThrow(RangeError);
    expect(() => limitRows(Number.NaN)).toThrow(RangeError);
  });

  it('works inside transactions, across a rolled-back one, and after errors', async () => {
    const pool = await open();
    await pool.query(sql.unsafe`create table prep_t (id int primary key)`);
    const insert = (id: number) => sql.unsafe`insert into prep_t (id) values (${id})`;
    await pool.transaction(async (tx) => {
      await tx.query(insert(1));
      await tx.query(insert(2));
    });
    await expect(pool.transaction(async (tx) => {
      await tx.query(insert(3));
      await tx.query(insert(1)); // unique violation after Parse succeeded
    })).rejects.toThrow();
    await expect(pool.query(insert(2))).rejects.toThrow(); // outside a transaction, too
    await pool.query(insert(4));
    const ids = await pool.anyFirst(sql.type(z.object({ id: z.number() }))`select id from prep_t order by id`);
    expect(ids).toEqual([1, 2, 4]);
    const inserts = (await preparedOn(pool)).filter((s) => s.statement.startsWith('insert into prep_t'));
    expect(inserts).toHaveLength(1);
    await pool.query(sql.unsafe`drop table prep_t`);
  });

  it('a connection the server cut is replaced and its statements prepared again (retryDroppedConnections)', async () => {
    const pool = await open();
    const admin = await open({ DB_PREPARED_STATEMENTS: 'off' });
    const pid = await pool.oneFirst(sql.type(Pid)`select pg_backend_pid() as pid`);
    await admin.query(sql.unsafe`select pg_terminate_backend(${pid})`);
    const again = await pool.oneFirst(sql.type(Pid)`select pg_backend_pid() as pid`);
    expect(again).not.toBe(pid);
    expect(await pool.oneFirst(sql.type(Pid)`select pg_backend_pid() as pid`)).toBe(again);
  });

  it('a migration that changes a prepared statement’s result type does not fail the next call (pool or transaction)', async () => {
    const pool = await open({}, 2);
    await pool.query(sql.unsafe`create table prep_m (id int primary key, title text not null)`);
    await pool.query(sql.unsafe`insert into prep_m values (1, 'a')`);
    const read = () => pool.one(sql.unsafe`select * from prep_m where id = ${1}`);
    const readInTx = () => pool.transaction(async (tx) => {
      const row = await tx.one(sql.unsafe`select * from prep_m where id = ${1} for update`);
      await tx.query(sql.unsafe`update prep_m set title = title where id = ${1}`);
      return row;
    });
    // Prepare both statements on both connections.
    await Promise.all([read(), read(), readInTx(), readInTx()]);
    await Promise.all([read(), read(), readInTx(), readInTx()]);
    await pool.query(sql.unsafe`alter table prep_m add column done boolean not null default false`);
    const after = await Promise.all([read(), read(), readInTx(), readInTx(), read(), readInTx()]);
    for (const row of after) expect(row).toEqual({ id: 1, title: 'a', done: false });
    await pool.query(sql.unsafe`alter table prep_m alter column id type bigint`);
    expect(await read()).toEqual({ id: 1, title: 'a', done: false });
    expect(await readInTx()).toEqual({ id: 1, title: 'a', done: false });
  });

  it('the stale-plan error is real: the same statement by its old name fails after the migration', async () => {
    const pool = await open({ DB_PREPARED_STATEMENTS: 'off' }); // nothing named by the driver
    // One transaction: one connection for the SQL-level PREPARE and EXECUTE.
    const error = await pool.transaction(async (tx) => {
      await tx.query(sql.unsafe`create table prep_s (id int)`);
      await tx.query(sql.unsafe`prepare old_plan as select * from prep_s`);
      await tx.query(sql.unsafe`execute old_plan`);
      await tx.query(sql.unsafe`alter table prep_s add column x int`);
      return tx.query(sql.unsafe`execute old_plan`).then(() => null, (err: Error) => err);
    });
    expect(error?.message).toMatch(/cached plan must not change result type/);
  });
});
