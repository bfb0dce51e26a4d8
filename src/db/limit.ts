import { sql, type FragmentSqlToken } from 'slonik';

/**
 * `limit n` with n written into the statement's text, not sent as a parameter.
 *
 * For a prepared statement PostgreSQL keeps one generic plan once it costs no more than the plans it makes for
 * each call's values; a `limit $n` whose value it cannot see is costed as fetching a tenth of the rows, so the
 * generic plan of a page query always looks dearer and the statement is planned again on every execution. On
 * W1 (a project's 20 newest tasks) that planning was three quarters of PostgreSQL's CPU per page: 0.84 ms with
 * the limit as a parameter, 0.24 ms written into the text (`test/bench/statements.mjs`). The bounds come from
 * the contract (`limit` ≤ 100) or are constants, so a statement has at most a few hundred texts and the
 * per-connection statement cache (DB_MAX_PREPARED_STATEMENTS) holds the ones in use.
 */
export function limitRows(n: number): FragmentSqlToken {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`a row limit is a non-negative integer, not ${n}`);
  return sql.fragment`limit ${sql.literalValue(String(n))}`;
}
