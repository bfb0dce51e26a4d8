import type { Ajv } from 'ajv';

/**
 * Two rules every request value obeys that the contract cannot state in plain JSON Schema, added to the
 * server's copy of the contract before openapi-backend compiles it, so a breach is an ordinary 422 with a
 * pointer to the field (merged with the request's other validation errors), never a 500 from PostgreSQL:
 *
 * - No NUL (U+0000) in any string: PostgreSQL `text` cannot store it (SQLSTATE 22021).
 * - int64 values are at most 2^53 − 1: JSON numbers are doubles, every id the API hands out is a safe
 *   integer (db/pool.ts refuses others), and a larger value would reach PostgreSQL rounded or out of range.
 */
export const NO_NUL_KEYWORD = 'x-taskflow-no-nul';

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
    if (schema.type === 'integer' || (Array.isArray(schema.type) && schema.type.includes('integer'))) {
      if (typeof schema.maximum !== 'number' || schema.maximum > Number.MAX_SAFE_INTEGER) schema.maximum = Number.MAX_SAFE_INTEGER;
      if (typeof schema.minimum !== 'number' || schema.minimum < Number.MIN_SAFE_INTEGER) schema.minimum = Number.MIN_SAFE_INTEGER;
    }
    for (const [key, value] of Object.entries(schema)) {
      if (key === 'properties' && value && typeof value === 'object') Object.values(value).forEach(visit);
      else if (!DATA_KEYS.has(key)) visit(value);
    }
  };
  visit(document);
  return document;
}

/** Teaches ajv the keyword that hardenRequestSchemas adds. */
export function addHardeningKeywords(ajv: Ajv): Ajv {
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
