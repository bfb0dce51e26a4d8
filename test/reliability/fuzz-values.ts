/** Values for fuzz.ts: anything a JSON Schema of the contract allows, leaning on the edges. */
import fc from 'fast-check';

export type Schema = Record<string, any>;

/** What generated requests refer to: ids, ETags and cursors of a real world built before each run. */
export interface FuzzWorld {
  projectIds: number[];
  taskIds: number[];
  workerIds: number[];
  agentIds: number[];
  memberIds: number[];
  userIds: string[];
  etags: string[];
  /** Real next_cursor values from the world's lists (each belongs to one list and sort). */
  cursors: string[];
}

const SPICY = [
  "'; drop table task; --",
  'Robert"); DELETE FROM audit_log; --',
  '100% _done_ \\ %',
  '🚀👩‍👩‍👧‍👦🇺🇦',
  'مهمة — משימה',
  '\u202Eevil\u202C',
  'e\u0301 Z̤͔ͧ̑̓',
  '<script>alert(1)</script>',
  '{"$ne":null}',
  '𝒯 任务 タスク',
  'tab\tnew\nline\r\u0001\u007f',
  '   padded   ',
  '\uFEFFbom',
];

const codePoints = (s: string) => [...s].length;
const NO_NUL = '^[^\\u0000]*$';
const NO_NUL_NOT_BLANK = '^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$';

export function stringArb(schema: Schema): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = Math.min(schema.maxLength ?? 60, min + 60);
  const fits = (s: string) => codePoints(s) >= min && codePoints(s) <= (schema.maxLength ?? Infinity) && !s.includes('\u0000');
  if (schema.format === 'date-time') return dateTimeArb();
  let base: fc.Arbitrary<string>;
  // The contract's NUL ban (`^[^\u0000]*$`, and with "not blank" on titles) is the `fits` filter below, not a
  // shape to generate from: free text keeps its spicy values.
  const textPattern = schema.pattern === NO_NUL ? undefined : schema.pattern === NO_NUL_NOT_BLANK ? '\\S' : schema.pattern;
  if (textPattern && textPattern !== '\\S') {
    base = fc.stringMatching(new RegExp(schema.pattern)).map((s) => s.slice(0, Math.max(min, max)));
  } else {
    base = fc.oneof(
      { weight: 4, arbitrary: fc.string({ minLength: min, maxLength: max }) },
      { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: min, maxLength: Math.min(max, 20) }) },
      { weight: 2, arbitrary: fc.constantFrom(...SPICY) },
      { weight: 1, arbitrary: fc.constant('x'.repeat(schema.maxLength ?? 50)) },
    );
    if (textPattern === '\\S') base = base.filter((s) => /\S/.test(s));
  }
  return base.filter(fits);
}

function dateTimeArb(): fc.Arbitrary<string> {
  const edge = fc.constantFrom(
    '2026-01-31T09:00:00Z',
    '1000-01-01T00:00:00Z',
    '9999-12-31T23:59:59Z',
    '2026-01-01t09:30:00z',
    '2026-01-01T09:30:00+14:00',
    '2026-01-01T09:30:00-15:59',
    '2026-01-01T09:30:00.123456789Z',
    '2024-02-29T12:00:00Z',
  );
  const random = fc
    .date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
    .map((d) => d.toISOString());
  return fc.oneof({ weight: 3, arbitrary: random }, { weight: 1, arbitrary: edge });
}

/** An id for a field or parameter named `name`: mostly one from the world, sometimes any positive id. */
function idArb(name: string, world: FuzzWorld): fc.Arbitrary<number> {
  const n = name.toLowerCase();
  const known =
    n.includes('project') ? world.projectIds
      : n.includes('task') || n.includes('parent') ? world.taskIds
        : n.includes('agent') ? world.agentIds
          : n.includes('member') ? world.memberIds
            : world.workerIds; // assignee_id, actor_id, worker ids
  const anyId = fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constant(Number.MAX_SAFE_INTEGER));
  return known.length ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: anyId }) : anyId;
}

export const isIdName = (name: string) => /(^|_)id$|Id$/.test(name);

export function typesOf(schema: Schema): string[] {
  if (Array.isArray(schema.type)) return schema.type;
  if (typeof schema.type === 'string') return [schema.type];
  return [];
}

/** A value valid for `schema`; `name` is the field or parameter it is for (ids come from the world). */
export function valueArb(schema: Schema, world: FuzzWorld, name = ''): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.oneOf || schema.anyOf) return fc.oneof(...(schema.oneOf ?? schema.anyOf).map((s: Schema) => valueArb(s, world, name)));
  if (schema.allOf) return valueArb(Object.assign({}, ...schema.allOf), world, name);
  const types = typesOf(schema);
  if (types.length > 1) {
    const nonNull = types.filter((t) => t !== 'null');
    const arbs = nonNull.map((type) => valueArb({ ...schema, type }, world, name));
    return types.includes('null') ? fc.oneof({ weight: 3, arbitrary: fc.oneof(...arbs) }, { weight: 1, arbitrary: fc.constant(null) }) : fc.oneof(...arbs);
  }
  switch (types[0]) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer': {
      if (isIdName(name) && (schema.minimum ?? 0) >= 1) return idArb(name, world);
      const min = schema.minimum ?? -1000;
      const max = Math.min(schema.maximum ?? min + 1000, Number.MAX_SAFE_INTEGER);
      return fc.oneof(fc.integer({ min, max: Math.min(max, min + 1000) }), fc.constantFrom(min, max));
    }
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true });
    case 'string':
      if (name === 'cursor' && world.cursors.length) return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...world.cursors) }, { weight: 1, arbitrary: stringArb(schema) });
      if (isIdName(name) && name === 'user_id') return fc.oneof(fc.constantFrom(...world.userIds), stringArb(schema));
      return stringArb(schema);
    case 'array': {
      const items = valueArb(schema.items ?? {}, world, name);
      const constraints = { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 5, 5) };
      return schema.uniqueItems ? fc.uniqueArray(items, { ...constraints, selector: (v) => JSON.stringify(v) }) : fc.array(items, constraints);
    }
    case 'object':
    default:
      return objectArb(schema, world);
  }
}

function objectArb(schema: Schema, world: FuzzWorld): fc.Arbitrary<Record<string, unknown>> {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const required: string[] = schema.required ?? [];
  const record = fc.record(
    Object.fromEntries(Object.entries(properties).map(([key, s]) => [key, valueArb(s, world, key)])),
    { requiredKeys: required.filter((k) => k in properties) },
  ) as fc.Arbitrary<Record<string, unknown>>;
  const minProperties = schema.minProperties ?? 0;
  return minProperties ? record.filter((o) => Object.keys(o).length >= minProperties) : record;
}

