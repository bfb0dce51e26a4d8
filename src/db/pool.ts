import { readFileSync } from 'node:fs';
import {
  createPool,
  createTypeParserPreset,
  SchemaValidationError,
  type DatabasePool,
  type DatabaseTransactionConnection,
  type Interceptor,
  type QueryResultRow,
} from 'slonik';
import { createPgDriverFactory } from '@slonik/pg-driver';
import type { Config } from '../config.js';
import { withPreparedStatements } from './prepared.js';
import { retryDroppedConnections } from './retry.js';
import { useQueryConfigCopy } from './query-config.js';
import { useRowShapes } from './row-shapes.js';

/** A pool or a transaction: SQL functions take whichever the handler holds. */
export type Db = DatabasePool | DatabaseTransactionConnection;
export type { DatabasePool };

/**
 * Slonik only runs sql.type(...) row schemas through this interceptor; without it they are decoration. Our row
 * schemas are synchronous, so the check runs inline (slonik's async hook costs a promise per row).
 */
const resultParser: Interceptor = {
  name: 'result-parser',
  transformRow: (ctx, query, row) => {
    if (!ctx.resultParser) return row;
    const result = ctx.resultParser['~standard'].validate(row);
    if (result instanceof Promise) throw new TypeError('row schemas must be synchronous');
    if (result.issues) throw new SchemaValidationError(query, row, result.issues);
    return result.value as QueryResultRow;
  },
};

const toSafeInteger = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 ${value} does not fit a JSON number`);
  return n;
};

/**
 * PostgreSQL's `2026-01-31 09:00:00.123456+00` (any offset, years below 100 and above 9999 too) as RFC 3339 UTC.
 * `new Date(text)` would read year 0001 as 2001.
 */
export function timestamptzToIso(value: string): string {
  // The common case (a UTC session, 4-digit year) is a string rearrangement: this runs for every timestamp read.
  if (value.length >= 22 && value.endsWith('+00') && value[4] === '-' && value[10] === ' ') {
    const fraction = value.length > 22 ? (value.slice(19, -3) + '000').slice(0, 4) : '.000';
    return `${value.slice(0, 10)}T${value.slice(11, 19)}${fraction}Z`;
  }
  const m = /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)?([+-]\d\d)(?::(\d\d))?(?::(\d\d))?( BC)?$/.exec(value);
  if (!m) return new Date(value).toISOString(); // 'infinity' and the like: let Date decide (and throw)
  const [, y, mo, d, h, mi, s, frac = '', oh, om = '0', os = '0', bc] = m;
  const year = bc ? 1 - Number(y) : Number(y);
  const offsetSeconds = Math.sign(Number(oh)) * (Math.abs(Number(oh)) * 3600 + Number(om) * 60 + Number(os)) || 0;
  const date = new Date(0);
  date.setUTCFullYear(year, Number(mo) - 1, Number(d));
  date.setUTCHours(Number(h), Number(mi), Number(s), Math.floor(Number(`0${frac || '.0'}`) * 1000));
  return new Date(date.getTime() - offsetSeconds * 1000).toISOString();
}

/** The wire types: int8 as numbers, timestamptz as RFC 3339 UTC strings. */
const typeParsers = [
  ...createTypeParserPreset().filter((p) => !['int8', 'timestamptz', 'timestamp'].includes(p.name)),
  { name: 'int8', parse: toSafeInteger },
  { name: 'timestamptz', parse: timestamptzToIso },
];

/**
 * PgBouncer (Neon's `-pooler` endpoints) refuses unknown startup parameters, which is how slonik sends its
 * timeouts; through a pooler the statement timeout must come from the role (see README, Deploying on Neon).
 */
export const isPooledUrl = (url: string, forced?: boolean): boolean =>
  forced ?? new URL(url).hostname.includes('-pooler');

export type PoolSettings = Omit<Config['database'], 'url' | 'migrationUrl' | 'preparedStatements' | 'maxPreparedStatements'> &
  Partial<Pick<Config['database'], 'preparedStatements' | 'maxPreparedStatements'>>;

/**
 * Named statements through PgBouncer need 1.21+ with `max_prepared_statements` > 0, which the API cannot see from
 * the client side; so behind a pooler they are on only when DB_PREPARED_STATEMENTS=on says the pooler has them.
 */
export const usesPreparedStatements = (mode: PoolSettings['preparedStatements'], pooled: boolean): boolean =>
  mode === 'on' || ((mode ?? 'auto') === 'auto' && !pooled);

/**
 * libpq-style TLS settings of a connection URL as Node TLS options. slonik parses `sslrootcert` but its pg
 * driver drops it for `sslmode=require`, and it refuses `verify-full`, the mode Neon's docs suggest; both end
 * up here as "verify the certificate, against this CA if given". `no-verify` keeps encryption without checks.
 */
export function tlsFromUrl(url: string): { url: string; ssl?: { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean } } {
  const parsed = new URL(url);
  const params = parsed.searchParams;
  const mode = params.get('sslmode');
  if (mode === null || mode === 'disable') return { url };
  const read = (name: string) => {
    const file = params.get(name);
    params.delete(name);
    return file ? readFileSync(file, 'utf8') : undefined;
  };
  const ssl = { ca: read('sslrootcert'), cert: read('sslcert'), key: read('sslkey'), rejectUnauthorized: mode !== 'no-verify' };
  params.set('sslmode', mode === 'no-verify' ? 'no-verify' : 'require');
  params.delete('channel_binding');
  return { url: parsed.href, ssl };
}

/**
 * Settings for a plain `pg` client or pool (the LISTEN connection, pg-boss) with the same TLS handling as the
 * pool: node-postgres lets `sslmode` in the URL override an `ssl` object, so the URL loses its TLS parameters.
 */
export function pgClientConfig(url: string): { connectionString: string; ssl?: { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean } } {
  const tls = tlsFromUrl(url);
  if (!tls.ssl) return { connectionString: tls.url };
  const parsed = new URL(tls.url);
  parsed.searchParams.delete('sslmode');
  return { connectionString: parsed.href, ssl: tls.ssl };
}

export async function createDatabasePool(url: string, db: PoolSettings): Promise<DatabasePool> {
  useRowShapes();
  useQueryConfigCopy();
  const pooled = isPooledUrl(url, db.pooled);
  const tls = tlsFromUrl(url);
  const pool = await createPool(tls.url, {
    ...(tls.ssl ? { ssl: tls.ssl } : {}),
    maxPoolSize: db.poolSize,
    idleTimeout: db.idleTimeoutMs,
    maximumConnectionAge: db.maxConnectionAgeMs,
    connectionTimeout: db.connectTimeoutMs,
    connectionRetryLimit: 1,
    statementTimeout: pooled || db.statementTimeoutMs === 0 ? 'DISABLE_TIMEOUT' : db.statementTimeoutMs,
    idleInTransactionSessionTimeout: pooled ? 'DISABLE_TIMEOUT' : 60_000,
    // We keep no session state (no SET, no temp tables), so the default DISCARD ALL per release is a wasted round trip.
    resetConnection: async () => {},
    captureStackTrace: false,
    ...(usesPreparedStatements(db.preparedStatements, pooled)
      ? { driverFactory: withPreparedStatements(createPgDriverFactory(), { maxStatements: db.maxPreparedStatements ?? 200, deallocate: !pooled }) }
      : {}),
    interceptors: [resultParser],
    typeParsers,
  });
  // Slonik also emits every query error on the pool; an EventEmitter without an 'error' listener throws
  // ERR_UNHANDLED_ERROR in place of the original error, so constraint violations would never reach http/errors.ts.
  // The error itself still rejects the query: this listener only keeps it intact.
  pool.on('error', () => {});
  return retryDroppedConnections(pool);
}
