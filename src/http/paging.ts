import type { z } from 'zod';
import { ProblemError } from './problem.js';

/**
 * Opaque keyset cursors: base64url JSON of the sort key values of the last row, tagged with the sort they
 * belong to so a cursor from one order cannot silently page another.
 */
export function encodeCursor(sort: string, key: readonly unknown[]): string {
  return Buffer.from(JSON.stringify([sort, ...key])).toString('base64url');
}

/** The key of the last row seen, checked against `key` (a zod tuple) so a forged cursor is a 422, not a 500. */
export function decodeCursor<K extends z.ZodTuple>(cursor: string | undefined, sort: string, key: K): z.infer<K> | undefined {
  if (cursor === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const decoded = Array.isArray(parsed) && parsed[0] === sort ? key.safeParse(parsed.slice(1)) : undefined;
  if (!decoded?.success) {
    throw new ProblemError('validation-failed', {
      detail: 'The cursor is not one this list handed out (or belongs to another sort order)',
      errors: [{ pointer: '/query/cursor', message: 'is not a valid cursor for this list and sort' }],
    });
  }
  return decoded.data;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** Rows were fetched with LIMIT limit+1: the extra row only says whether there is a next page. */
export function toPage<R, T>(rows: readonly R[], limit: number, sort: string, keyOf: (row: R) => unknown[], toItem: (row: R) => T): Page<T> {
  const pageRows = rows.slice(0, limit);
  const last = pageRows[pageRows.length - 1];
  return {
    items: pageRows.map(toItem),
    next_cursor: rows.length > limit && last !== undefined ? encodeCursor(sort, keyOf(last)) : null,
  };
}
