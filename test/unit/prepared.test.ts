import type { DriverClient, DriverFactory, DriverQueryResult } from 'slonik';
import { usesPreparedStatements } from '../../src/db/pool.js';
import { isStalePreparedStatement, statementName, withPreparedStatements } from '../../src/db/prepared.js';

type Sent = { text: string; name?: string };

/** A driver that records what reaches the wire; `fail` decides which statements error. */
async function fakeConnection(maxStatements: number, deallocate = true, fail: (text: string) => Error | undefined = () => undefined) {
  const sent: Sent[] = [];
  const result: DriverQueryResult = { command: 'SELECT', fields: [], rowCount: 0, rows: [] };
  const inner: DriverFactory = async () => ({
    createClient: async () => ({
      query: async (text: string, _values?: unknown[], options?: { name?: string }) => {
        sent.push(options?.name ? { text, name: options.name } : { text });
        const error = fail(text);
        if (error) throw error;
        return result;
      },
    }) as unknown as DriverClient,
  });
  const driver = await withPreparedStatements(inner, { maxStatements, deallocate })({ driverConfiguration: {} as never });
  return { client: await driver.createClient(), sent };
}

describe('named prepared statements (driver layer)', () => {
  it('names a statement by a hash of its text, the same every time and on every connection', async () => {
    const a = await fakeConnection(10);
    const b = await fakeConnection(10);
    await a.client.query('select $1::int as x', [1]);
    await a.client.query('select $1::int as x', [2]);
    await b.client.query('select $1::int as x', [3]);
    const names = [...a.sent, ...b.sent].map((s) => s.name);
    expect(new Set(names)).toEqual(new Set([statementName('select $1::int as x')]));
    expect(names[0]).toMatch(/^tf_[0-9a-f]{24}$/);
    expect(statementName('select 2')).not.toBe(statementName('select 1'));
  });

  it('leaves transaction control, SET and DDL unnamed', async () => {
    const { client, sent } = await fakeConnection(10);
    for (const text of ['START TRANSACTION', 'SAVEPOINT slonik_savepoint_1', 'COMMIT', 'set local lock_timeout = 1', 'create table x (a int)'])
      await client.query(text);
    await client.query('  WITH a as (select 1) select * from a');
    expect(sent.map((s) => s.name)).toEqual([undefined, undefined, undefined, undefined, undefined, expect.stringMatching(/^tf_/)]);
  });

  it('keeps at most maxStatements per connection and deallocates the least recently used', async () => {
    const { client, sent } = await fakeConnection(2);
    await client.query('select 1');
    await client.query('select 2');
    await client.query('select 1'); // now 2 is the least recently used
    await client.query('select 3'); // evicts 2, before it is prepared
    expect(sent.slice(-2).map((s) => s.text)).toEqual([`DEALLOCATE "${statementName('select 2')}"`, 'select 3']);
    const deallocations = sent.filter((s) => s.text.startsWith('DEALLOCATE'));
    expect(deallocations).toEqual([{ text: `DEALLOCATE "${statementName('select 2')}"` }]);
    // Prepared again after its eviction, it gets a name node-postgres has never parsed on this connection.
    await client.query('select 2');
    const again = sent.at(-1)!;
    expect(again.text).toBe('select 2');
    expect(again.name).not.toBe(statementName('select 2'));
    expect(again.name!.startsWith(statementName('select 2'))).toBe(true);
  });

  it('never deallocates inside a transaction (it could abort it): waits for COMMIT or ROLLBACK', async () => {
    const { client, sent } = await fakeConnection(1);
    await client.query('select 1');
    await client.query('START TRANSACTION');
    await client.query('select 2'); // evicts 1
    await client.query('select 3'); // evicts 2
    await client.query('ROLLBACK');
    expect(sent.filter((s) => s.text.startsWith('DEALLOCATE'))).toEqual([]);
    await client.query('select 3');
    expect(sent.filter((s) => s.text.startsWith('DEALLOCATE')).map((s) => s.text)).toEqual([
      `DEALLOCATE "${statementName('select 1')}"`, `DEALLOCATE "${statementName('select 2')}"`,
    ]);
  });

  it('behind PgBouncer (deallocate off) only forgets evicted names', async () => {
    const { client, sent } = await fakeConnection(1, false);
    for (const text of ['select 1', 'select 2', 'select 1', 'select 2']) await client.query(text);
    expect(sent.every((s) => !s.text.startsWith('DEALLOCATE') && s.name)).toBe(true);
    expect(new Set(sent.map((s) => s.name)).size).toBe(4);
  });

  it('a stale plan retires the whole connection cache and rethrows; the next run prepares under new names', async () => {
    let staleOnce = true;
    const stale = Object.assign(new Error('cached plan must not change result type'), { code: '0A000' });
    const { client, sent } = await fakeConnection(10, true, (text) => (text === 'select * from t' && staleOnce ? ((staleOnce = false), stale) : undefined));
    await client.query('select 1');
    await expect(client.query('select * from t')).rejects.toBe(stale);
    await client.query('select * from t');
    await client.query('select 1');
    const texts = sent.map((s) => s.text);
    expect(texts.filter((t) => t.startsWith('DEALLOCATE'))).toHaveLength(2);
    const runs = sent.filter((s) => s.text === 'select * from t');
    expect(runs[1]!.name).not.toBe(runs[0]!.name);
    const ones = sent.filter((s) => s.text === 'select 1');
    expect(ones[1]!.name).not.toBe(ones[0]!.name);
  });

  it('recognises the errors of a stale or missing prepared statement, and nothing else', () => {
    expect(isStalePreparedStatement(Object.assign(new Error('cached plan must not change result type'), { code: '0A000' }))).toBe(true);
    expect(isStalePreparedStatement(Object.assign(new Error('prepared statement "tf_x" does not exist'), { code: '26000' }))).toBe(true);
    expect(isStalePreparedStatement(Object.assign(new Error('feature not supported'), { code: '0A000' }))).toBe(false);
    expect(isStalePreparedStatement(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
    expect(isStalePreparedStatement(null)).toBe(false);
  });

  it('DB_PREPARED_STATEMENTS: auto is on for a direct connection and off behind a pooler; on and off are what they say', () => {
    expect(usesPreparedStatements('auto', false)).toBe(true);
    expect(usesPreparedStatements(undefined, false)).toBe(true);
    expect(usesPreparedStatements('auto', true)).toBe(false);
    expect(usesPreparedStatements('on', true)).toBe(true);
    expect(usesPreparedStatements('off', false)).toBe(false);
  });
});
