import { createRequire } from 'node:module';
import pg from 'pg';
import { useRowShapes } from '../../src/db/row-shapes.js';

const installed = (createRequire(import.meta.url)('pg/package.json') as { version: string }).version;
type Field = { name: string; dataTypeID: number; format?: string };
type AnyResult = { addFields(f: Field[]): void; parseRow(v: (string | null)[]): Record<string, unknown>; _prebuiltEmptyResultObject: object | null };
const Result = pg.Result as unknown as new () => AnyResult;

/** A class like node-postgres' Result, with its own copy of addFields, so tests do not depend on each other. */
function resultClass(addFields: (this: AnyResult, f: Field[]) => void) {
  class TestResult {}
  Object.assign(TestResult.prototype, { parseRow: (pg.Result.prototype as unknown as AnyResult).parseRow, addFields });
  return TestResult as unknown as new () => AnyResult;
}
const stock = (pg.Result.prototype as unknown as { addFields: (this: AnyResult, f: Field[]) => void }).addFields;

describe('row-shapes: node-postgres rows without its slow empty-row copies', () => {
  it(`stands in for addFields of the installed pg ${installed}`, () => {
    const Copy = resultClass(stock);
    // Failing here means a pg upgrade changed what src/db/row-shapes.ts relies on (its header comment lists it):
    // queries still work, with node-postgres' own (slower) addFields. Adapt the adapter.
    expect({ version: installed, mode: useRowShapes(Copy, pg.types) }).toEqual({ version: installed, mode: { adapted: true } });
    expect(Copy.prototype.addFields).not.toBe(stock);
    expect(useRowShapes(Copy, pg.types)).toEqual({ adapted: true }); // a second pool: nothing more to do
  });

  it('gives rows equal to node-postgres\' own: same keys in the same order, duplicate names, __proto__ as a column', () => {
    const Fast = resultClass(stock);
    useRowShapes(Fast, pg.types);
    const fields: Field[] = [{ name: 'id', dataTypeID: 20 }, { name: '__proto__', dataTypeID: 25 }, { name: 'id', dataTypeID: 25 }, { name: 'n', dataTypeID: 23 }];
    const values = ['7', 'x', 'again', null];
    const own = new Result();
    own.addFields(fields);
    const fast = new Fast();
    fast.addFields(fields);
    const a = own.parseRow(values);
    const b = fast.parseRow(values);
    expect(b).toEqual(a);
    expect(Reflect.ownKeys(b)).toEqual(Reflect.ownKeys(a));
    expect(Object.getPrototypeOf(b)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(b, '__proto__')?.value).toBe('x');
  });

  it('shares one empty row per column list, and a row written to never changes it', () => {
    const Fast = resultClass(stock);
    useRowShapes(Fast, pg.types);
    const fields: Field[] = [{ name: 'id', dataTypeID: 23 }, { name: 'title', dataTypeID: 25 }];
    const first = new Fast();
    first.addFields(fields);
    const second = new Fast();
    second.addFields(fields.map((f) => ({ ...f })));
    expect(second._prebuiltEmptyResultObject).toBe(first._prebuiltEmptyResultObject);
    const row = first.parseRow(['1', 'a']);
    row.extra = true;
    expect(second.parseRow([null, null])).toEqual({ id: null, title: null });
    expect(first._prebuiltEmptyResultObject).toEqual({ id: null, title: null });
  });

  it('keeps node-postgres\' own addFields, and says why, when the adapter would leave a result in another state', () => {
    // A stand-in for an upgrade that changes the rules: the empty row keeps a null prototype.
    const changed = function (this: AnyResult, fields: Field[]) {
      stock.call(this, fields);
      this._prebuiltEmptyResultObject = Object.assign(Object.create(null) as object, this._prebuiltEmptyResultObject);
    };
    const Changed = resultClass(changed);
    expect(useRowShapes(Changed, pg.types)).toEqual({ adapted: false, reason: expect.stringContaining('differs') });
    expect(Changed.prototype.addFields).toBe(changed);
  });
});
