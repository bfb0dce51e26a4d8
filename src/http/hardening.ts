import type { Ajv } from 'ajv';

/**
 * Rules every request value obeys that the contract does not spell out in JSON Schema, added to the server's
 * copy of the contract before openapi-backend compiles it, so a breach is an ordinary 422 with a pointer to
 * the field (merged with the request's other validation errors), never a 500 from PostgreSQL:
 *
 * - No NUL (U+0000) in any string: PostgreSQL `text` cannot store it (SQLSTATE 22021).
 * - int64 values are at most 2^53 − 1: JSON numbers are doubles, every id the API hands out is a safe
 *   integer (db/pool.ts refuses others), and a larger value would reach PostgreSQL rounded or out of range.
 *   Integers without `format: int64` fit PostgreSQL `integer` (±2^31 − 1).
 * - A `date-time` is an instant in the years 1000–9999 (UTC) with an offset within ±15:59: ajv-formats also
 *   accepts year 0000, offsets up to ±23:59 and leap seconds, which PostgreSQL refuses (22008/22009) or which
 *   would come back as something other than an RFC 3339 timestamp (five-digit years).
 */
export const NO_NUL_KEYWORD = 'x-taskflow-no-nul';
export const INSTANT_KEYWORD = 'x-taskflow-instant';
const INT32_MAX = 2 ** 31 - 1;

/** Keys whose values are data, not schemas (a property that happens to be named so is reached via `properties`). */
const DATA_KEYS = new Set(['example', 'examples', 'enum', 'const', 'default']);

const isStringSchema = (node: Record<string, unknown>): boolean =>
  node.type === 'string' || (Array.isArray(node.type) && node.type.includes('string'));

/** Walks a contract in place and returns it. Examples, enums and defaults are left alone. */
export function hardenRequestSchemas<T>(document: T): T {
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    const schema = node as Record<string, unknown>;
    if (isStringSchema(schema)) schema[NO_NUL_KEYWORD] = true;
    if (isStringSchema(schema) && schema.format === 'date-time') schema[INSTANT_KEYWORD] = true;
    if (schema.type === 'integer' || (Array.isArray(schema.type) && schema.type.includes('integer'))) {
      const bound = schema.format === 'int64' ? Number.MAX_SAFE_INTEGER : INT32_MAX;
      if (typeof schema.maximum !== 'number' || schema.maximum > bound) schema.maximum = bound;
      if (typeof schema.minimum !== 'number' || schema.minimum < -bound) schema.minimum = -bound;
    }
    for (const [key, value] of Object.entries(schema)) {
      if (key === 'properties' && value && typeof value === 'object') Object.values(value).forEach(visit);
      else if (!DATA_KEYS.has(key)) visit(value);
    }
  };
  visit(document);
  return document;
}

const OFFSET = /([+-])(\d{2}):(\d{2})$/;

/** An RFC 3339 date-time (already checked by ajv-formats) that PostgreSQL stores and gives back as one. */
export function isStorableInstant(value: string): boolean {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) return false; // e.g. a leap second
  const year = new Date(ms).getUTCFullYear();
  const offsetHours = Number(OFFSET.exec(value)?.[2] ?? 0);
  return year >= 1000 && year <= 9999 && offsetHours <= 15;
}

/** Teaches ajv the keywords that hardenRequestSchemas adds. */
export function addHardeningKeywords(ajv: Ajv): Ajv {
  const isDateTime = ajv.compile({ type: 'string', format: 'date-time' }); // needs ajv-formats added first
  ajv.addKeyword({
    keyword: INSTANT_KEYWORD,
    type: 'string',
    schemaType: 'boolean',
    errors: true,
    validate: function instant(enabled: boolean, data: string) {
      // Only judge what ajv-formats let through; its own error already covers the rest.
      if (!enabled || !isDateTime(data) || isStorableInstant(data)) return true;
      (instant as { errors?: unknown[] }).errors = [
        { keyword: INSTANT_KEYWORD, message: 'must be an instant between the years 1000 and 9999 (UTC), offset within ±15:59, no leap second', params: {} },
      ];
      return false;
    },
  });
  ajv.addKeyword({
    keyword: NO_NUL_KEYWORD,
    type: 'string',
    schemaType: 'boolean',
    errors: true,
    validate: function noNul(enabled: boolean, data: string) {
      if (!enabled || !data.includes('\u0000')) return true;
      (noNul as { errors?: unknown[] }).errors = [
        { keyword: NO_NUL_KEYWORD, message: 'must not contain NUL (\\u0000) characters', params: {} },
      ];
      return false;
    },
  });
  return ajv;
}
