import { createHash } from 'node:crypto';
import type { DriverClient, DriverFactory, DriverQueryResult } from 'slonik';

/**
 * Named prepared statements for every query slonik sends, at its driver layer.
 *
 * An unnamed statement is parsed and planned by PostgreSQL on every execution; planning dominates our small
 * queries (getTask: 0.2 ms planning, 0.1 ms execution). node-postgres parses a named statement once per
 * connection and afterwards sends only Bind/Execute, and PostgreSQL then reuses the plan (a generic one once it
 * is no worse than the custom plans; a `limit` must be written into the text for that, see limit.ts). The name is a hash of the SQL text, so the same query has the same name on
 * every connection (`pg_prepared_statements` shows `tf_…`).
 *
 * - **Bound.** Each connection keeps at most `maxStatements` (list queries have one text per combination of
 *   filters and sort). The least recently used is deallocated with `DEALLOCATE` outside a transaction: inside
 *   one it waits, so that it can never be what aborts the caller's transaction.
 * - **Stale plans.** After a migration changes what a statement returns (`select *` gaining a column),
 *   PostgreSQL refuses the old plan with "cached plan must not change result type" (0A000); a statement the
 *   server no longer has (DEALLOCATE ALL / DISCARD ALL by someone else) fails with 26000. Either way the
 *   caches of all the pool's connections are retired (the schema changed under all of them), the error is
 *   rethrown, and `retryDroppedConnections` runs the call again, which prepares afresh on whichever connection.
 * - **Names are never reused on a connection.** node-postgres remembers which names it parsed and would skip
 *   the Parse of a deallocated name, so a statement prepared again after eviction gets a new suffix.
 * - **Behind PgBouncer** (≥ 1.21, `max_prepared_statements` > 0) the protocol-level statements are mapped by
 *   the pooler to its own server-side names, which SQL `DEALLOCATE` cannot reach: there `deallocate` is false,
 *   eviction only forgets the name, and PgBouncer's own LRU bounds the server side.
 */
export type PreparedStatementOptions = {
  /** Statements kept per connection. */
  readonly maxStatements: number;
  /** Send DEALLOCATE for evicted statements (false behind PgBouncer). */
  readonly deallocate: boolean;
};

/** Statements worth a plan; transaction control, SET, DDL and the like stay unnamed. */
const PLANNED = /^\s*(?:select|insert|update|delete|with|values|table)\b/i;

export const statementName = (text: string): string =>
  `tf_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;

/** The server refused a prepared statement it planned before the schema changed, or no longer has it. */
export const isStalePreparedStatement = (err: unknown): boolean => {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } } | null;
  const candidates = [e, e?.cause];
  return candidates.some((c) =>
    (c?.code === '0A000' && typeof c.message === 'string' && c.message.includes('cached plan must not change result type')) ||
    (c?.code === '26000' && typeof c.message === 'string' && c.message.includes('prepared statement')));
};

type Statement = { readonly text: string; readonly name: string; used: number };

/**
 * What one connection has prepared; exported for tests.
 *
 * Statements are found by the length of their text, then by comparing texts: a query's text is a new string on
 * every call (slonik builds it), and a Map keyed by the text would hash all of it on every query (measured at about
 * 2 % of the API's CPU on getTask). Recency is a counter on the entry, so a hit changes no map.
 */
export class StatementCache {
  /** Text length → the statements of that length. */
  private readonly byLength = new Map<number, Statement[]>();
  private count = 0;
  private clock = 0;
  private readonly retired: string[] = [];
  private epoch = 0;
  inTransaction = false;
  /** The pool's schema generation this cache was built under (see withPreparedStatements). */
  generation = 0;

  private readonly options: PreparedStatementOptions;

  constructor(options: PreparedStatementOptions) {
    this.options = options;
  }

  get size(): number {
    return this.count;
  }

  /** The name for a statement; the second value says whether it is new on this connection. */
  nameFor(text: string): [name: string, isNew: boolean] {
    const sameLength = this.byLength.get(text.length);
    if (sameLength) {
      for (const statement of sameLength) {
        if (statement.text === text) {
          statement.used = ++this.clock;
          return [statement.name, false];
        }
      }
    }
    const name = this.epoch === 0 ? statementName(text) : `${statementName(text)}_${this.epoch}`;
    if (this.count >= this.options.maxStatements) this.evictLeastRecentlyUsed();
    const statement = { text, name, used: ++this.clock };
    const bucket = this.byLength.get(text.length);
    if (bucket) bucket.push(statement);
    else this.byLength.set(text.length, [statement]);
    this.count++;
    return [name, true];
  }

  private evictLeastRecentlyUsed(): void {
    let oldest: Statement | undefined;
    for (const bucket of this.byLength.values()) for (const s of bucket) if (!oldest || s.used < oldest.used) oldest = s;
    if (!oldest) return;
    const bucket = this.byLength.get(oldest.text.length)!;
    bucket.splice(bucket.indexOf(oldest), 1);
    if (bucket.length === 0) this.byLength.delete(oldest.text.length);
    this.count--;
    this.retire(oldest.name);
  }

  /** Retires every statement of the connection (the schema changed). */
  retireAll(): void {
    for (const bucket of this.byLength.values()) for (const s of bucket) this.retire(s.name);
    this.byLength.clear();
    this.count = 0;
  }

  /** Names to DEALLOCATE now; empty inside a transaction. */
  takeRetired(): string[] {
    if (this.inTransaction || this.retired.length === 0) return [];
    return this.retired.splice(0);
  }

  private retire(name: string): void {
    this.epoch++;
    if (this.options.deallocate) this.retired.push(name);
  }
}

const transactionState = (text: string): boolean | undefined => {
  const command = text.trim().toUpperCase();
  if (command === 'START TRANSACTION' || command === 'BEGIN') return true;
  if (command === 'COMMIT' || command === 'ROLLBACK') return false;
  return undefined;
};

/** Shared by the connections of one pool: bumped when any of them meets a stale plan. */
type SchemaGeneration = { current: number };

function withStatementCache(client: DriverClient, options: PreparedStatementOptions, schema: SchemaGeneration): DriverClient {
  const cache = new StatementCache(options);
  cache.generation = schema.current;
  const deallocateRetired = async () => {
    for (const name of cache.takeRetired()) {
      // Outside a transaction a failed DEALLOCATE harms nothing: the statement is gone either way.
      await client.query(`DEALLOCATE "${name}"`).catch(() => {});
    }
  };
  const query = async (text: string, values?: unknown[], queryOptions?: { readonly name?: string }): Promise<DriverQueryResult> => {
    await deallocateRetired();
    if (queryOptions?.name || !PLANNED.test(text)) {
      const next = transactionState(text);
      try {
        const result = await client.query(text, values, queryOptions);
        if (next === true) cache.inTransaction = true;
        return result;
      } finally {
        if (next === false) cache.inTransaction = false;
      }
    }
    // Another connection met a stale plan: the schema changed under this connection's statements too, and the
    // one retry of the failed call may well land here.
    if (cache.generation !== schema.current) {
      cache.retireAll();
      cache.generation = schema.current;
    }
    // A failed first run keeps its name: node-postgres sends Parse again unless the server confirmed it.
    const [name] = cache.nameFor(text);
    await deallocateRetired();
    try {
      return await client.query(text, values, { name });
    } catch (err) {
      if (isStalePreparedStatement(err)) {
        schema.current++;
        cache.retireAll();
        cache.generation = schema.current;
      }
      throw err;
    }
  };
  return { ...client, query };
}

/** Wraps a slonik driver factory (the pg one by default) so every connection names its statements. */
export const withPreparedStatements = (factory: DriverFactory, options: PreparedStatementOptions): DriverFactory =>
  async (input) => {
    const driver = await factory(input);
    const schema: SchemaGeneration = { current: 0 };
    return { ...driver, createClient: async () => withStatementCache(await driver.createClient(), options, schema) };
  };
