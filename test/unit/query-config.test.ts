import { createRequire } from 'node:module';
import { useQueryConfigCopy } from '../../src/db/query-config.js';

const require = createRequire(import.meta.url);
const installed = (require('pg/package.json') as { version: string }).version;
type Normalize = (config: unknown, values?: unknown, callback?: unknown) => Record<string, unknown>;
const stock = (require('pg/lib/utils') as { normalizeQueryConfig: Normalize }).normalizeQueryConfig;
const utilsWith = (normalizeQueryConfig: Normalize) => ({ normalizeQueryConfig });

describe('query-config: node-postgres query configs copied without its slow descriptor copy', () => {
  it(`stands in for normalizeQueryConfig of the installed pg ${installed}`, () => {
    const utils = utilsWith(stock);
    // Failing here means a pg upgrade changed what src/db/query-config.ts relies on (its header comment lists it):
    // queries still work, with node-postgres' own (slower) copy. Adapt the adapter.
    expect({ version: installed, mode: useQueryConfigCopy(utils) }).toEqual({ version: installed, mode: { adapted: true } });
    expect(utils.normalizeQueryConfig).not.toBe(stock);
    expect(useQueryConfigCopy(utils)).toEqual({ adapted: true }); // a second pool: nothing more to do
    expect(utils.normalizeQueryConfig).not.toBe(stock);
  });

  it('copies a literal config as node-postgres does, and never writes to the caller\'s object', () => {
    const utils = utilsWith(stock);
    useQueryConfigCopy(utils);
    const callback = () => {};
    const config = { name: 'tf_1', text: 'select $1', values: [1] };
    const copy = utils.normalizeQueryConfig(config, [2], callback);
    expect(copy).toEqual({ name: 'tf_1', text: 'select $1', values: [2], callback });
    expect(Object.keys(copy)).toEqual(['name', 'text', 'values', 'callback']);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(copy).not.toBe(config);
    expect(config).toEqual({ name: 'tf_1', text: 'select $1', values: [1] });
    expect(copy).toEqual(stock(config, [2], callback));
  });

  it('leaves configs that are not plain literals to node-postgres: getters, hidden properties, class instances', () => {
    const calls: unknown[] = [];
    const spy: Normalize = (config, values, callback) => {
      calls.push(config);
      return stock(config, values, callback);
    };
    const utils = utilsWith(spy);
    useQueryConfigCopy(utils);
    calls.length = 0;
    class Config {
      text = 'select 1';
    }
    const withGetter = Object.defineProperty({ text: 'select 1' }, 'name', { get: () => 'tf_get', enumerable: true });
    const hidden = Object.defineProperty({ text: 'select 1' }, 'name', { value: 'tf_hidden', enumerable: false });
    const instance = new Config();
    for (const config of [withGetter, hidden, instance, 'select 1']) utils.normalizeQueryConfig(config);
    expect(calls).toEqual([withGetter, hidden, instance, 'select 1']);
    // node-postgres' copy keeps what makes them special
    expect(Object.getOwnPropertyDescriptor(utils.normalizeQueryConfig(withGetter), 'name')?.get).toBeInstanceOf(Function);
    expect(Object.getPrototypeOf(utils.normalizeQueryConfig(instance))).toBe(Config.prototype);
  });

  it('keeps node-postgres\' own copy, and says why, when the adapter would answer differently', () => {
    // A stand-in for an upgrade that changes the rules: the copy gains a default.
    const changed: Normalize = (config, values, callback) => ({ ...stock(config, values, callback), rowMode: 'array' });
    const utils = utilsWith(changed);
    expect(useQueryConfigCopy(utils)).toEqual({ adapted: false, reason: expect.stringContaining('differs') });
    expect(utils.normalizeQueryConfig).toBe(changed);
  });
});
