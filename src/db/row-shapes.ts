import { isDeepStrictEqual } from 'node:util';
import pg from 'pg';

/**
 * Cheaper result rows for node-postgres: an adapter over its `Result.addFields`, measured before it was kept.
 *
 * Why: for every query, node-postgres builds the empty row of the result as an `Object.create(null)` with one
 * property per column, then copies it (`{ ...row }`); every row of the result is another copy of that
 * (`{ ...prebuilt }` in `parseRow`). An object built that way is in V8's dictionary mode, and copying it takes
 * V8's slow path: 4–5 % of the API's CPU on getTask, more on a 20-row page. Here the empty row is built once per
 * list of column names (with `Object.fromEntries`: the same own properties, in the same order, `__proto__` too)
 * and shared by the results with those columns; it is only ever copied, never written. The type parsers are
 * chosen per query exactly as node-postgres does.
 *
 * What it relies on (verified with pg 8.23.1): `Result.prototype.addFields(fieldDescriptions)` sets `fields`,
 * `_parsers` (one per column, from the result's `_types` or pg-types) and `_prebuiltEmptyResultObject`, which
 * `parseRow` spreads into each row. `useRowShapes` first checks that the replacement leaves a result in the same
 * state as the original for sample column lists (duplicate names and `__proto__` included) and rows equal to
 * the original's; if not, node-postgres keeps its own. test/unit/row-shapes.test.ts fails when that happens with
 * the installed version.
 */

type Field = { name: string; dataTypeID: number; format?: string };
type TypeSource = { getTypeParser: (oid: number, format?: string) => (value: string) => unknown };
type ResultState = {
  fields: Field[];
  _parsers?: ((value: string) => unknown)[];
  _types?: TypeSource;
  _prebuiltEmptyResultObject: Record<string, null> | null;
  addFields(fields: Field[]): void;
  parseRow(values: (string | null)[]): Record<string, unknown>;
};
type ResultClass = new (rowMode?: string, types?: TypeSource) => ResultState;

export type RowShapesMode = { adapted: true } | { adapted: false; reason: string };

const ADAPTED = Symbol('taskflow.rowShapes');

/** Shapes kept (one per distinct list of column names); the cache starts over when full. */
const MAX_SHAPES = 1_000;

function fastAddFields(defaultTypes: TypeSource): (this: ResultState, fields: Field[]) => void {
  const shapes = new Map<string, Record<string, null>>();
  return function addFields(this: ResultState, fieldDescriptions: Field[]) {
    this.fields = fieldDescriptions;
    if (fieldDescriptions.length) this._parsers = new Array(fieldDescriptions.length);
    const types = this._types ?? defaultTypes;
    let key = '';
    for (let i = 0; i < fieldDescriptions.length; i++) {
      const field = fieldDescriptions[i]!;
      key += `${field.name}\0`;
      this._parsers![i] = types.getTypeParser(field.dataTypeID, field.format || 'text') as (value: string) => unknown;
    }
    let shape = shapes.get(key);
    if (!shape) {
      if (shapes.size >= MAX_SHAPES) shapes.clear();
      shape = Object.fromEntries(fieldDescriptions.map((f) => [f.name, null])) as Record<string, null>;
      shapes.set(key, shape);
    }
    this._prebuiltEmptyResultObject = shape;
  };
}

const SAMPLE_FIELDS: Field[][] = [
  [],
  [{ name: 'id', dataTypeID: 20 }],
  [
    { name: 'id', dataTypeID: 20 },
    { name: 'title', dataTypeID: 25 },
    { name: 'due', dataTypeID: 1184 },
    { name: 'tags', dataTypeID: 1009 },
    { name: 'done', dataTypeID: 16 },
    { name: 'meta', dataTypeID: 3802 },
  ],
  [{ name: 'a', dataTypeID: 23 }, { name: 'a', dataTypeID: 25 }, { name: '__proto__', dataTypeID: 25 }, { name: 'constructor', dataTypeID: 25 }],
];

/** What a result looks like after addFields and parseRow: comparable with isDeepStrictEqual. */
function stateAfter(Result: ResultClass, fields: Field[]): unknown {
  const result = new Result();
  result.addFields(fields);
  const row = result.parseRow(fields.map((_, i) => (i % 3 === 2 ? null : i === 3 ? '{x,y}' : i === 2 ? '2026-01-01 00:00:00+00' : String(i + 1))));
  return {
    fields: result.fields,
    parsers: result._parsers?.map((p) => p),
    prebuilt: result._prebuiltEmptyResultObject && { keys: Reflect.ownKeys(result._prebuiltEmptyResultObject), proto: Object.getPrototypeOf(result._prebuiltEmptyResultObject) },
    row,
    rowKeys: Reflect.ownKeys(row),
    rowProto: Object.getPrototypeOf(row),
  };
}

/** Replaces node-postgres' addFields (process-wide) if the replacement leaves results as the original does. */
export function useRowShapes(ResultType: unknown = pg.Result, defaultTypes: unknown = pg.types): RowShapesMode {
  const Result = ResultType as unknown as ResultClass;
  const proto = Result.prototype as ResultState;
  if (typeof proto.addFields !== 'function' || typeof proto.parseRow !== 'function') return { adapted: false, reason: 'Result has no addFields/parseRow' };
  if (ADAPTED in proto.addFields) return { adapted: true }; // every pool calls this; once per process is enough
  const original = proto.addFields;
  const fast = Object.assign(fastAddFields(defaultTypes as TypeSource), { [ADAPTED]: true });
  try {
    for (const fields of SAMPLE_FIELDS) {
      proto.addFields = original;
      const expected = stateAfter(Result, fields);
      proto.addFields = fast;
      const actual = stateAfter(Result, fields);
      if (!isDeepStrictEqual(expected, actual)) {
        proto.addFields = original;
        return { adapted: false, reason: `columns ${fields.map((f) => f.name).join(', ') || '(none)'}: the result differs from node-postgres' own` };
      }
    }
  } catch (err) {
    proto.addFields = original;
    return { adapted: false, reason: `checking the adapter failed: ${(err as Error).message}` };
  }
  proto.addFields = fast;
  return { adapted: true };
}
