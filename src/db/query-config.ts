import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';

/**
 * A cheaper copy of each query's config in node-postgres: an adapter over its `normalizeQueryConfig`, measured
 * before it was kept, like row-shapes.ts beside it.
 *
 * Why: every query node-postgres runs goes through `new Query(config)`, which copies the config object so that it
 * never mutates the caller's: `Object.defineProperties(Object.create(proto), Object.getOwnPropertyDescriptors(config))`.
 * slonik's pg driver passes `{ name, text, values }` for every named (prepared) statement, so that copy runs once
 * per query, and it is V8's slow path: 2.5 % of the API's main thread on getTask at 100 connections, 4.5 % under a
 * 1,000-connection burst (CPU profiles), and W2's server CPU per request went from 0.71–0.74 to 0.67–0.68 ms
 * without it (two runs each, 2026-12-01). Here a config that is a plain object with only plain properties (an
 * object literal: what slonik and our own code pass) is copied with a spread, which gives the same own
 * properties, in the same order, with the same values; anything else (a class instance, a getter, a hidden
 * property) goes to node-postgres' own copy.
 *
 * What it relies on (verified with pg 8.23.1): `Query`'s constructor calls `normalizeQueryConfig` through the
 * exports of `pg/lib/utils` (`utils.normalizeQueryConfig(…)`), so replacing that export is seen by every query.
 * `useQueryConfigCopy` first checks that the replacement returns what the original does for sample calls
 * (strings, values, callbacks, literals, getters, class instances, hidden properties); if not, node-postgres
 * keeps its own. test/unit/query-config.test.ts fails when that happens with the installed version.
 */

type Normalize = (config: unknown, values?: unknown, callback?: unknown) => Record<string, unknown>;
type Utils = { normalizeQueryConfig: Normalize };
export type QueryConfigMode = { adapted: true } | { adapted: false; reason: string };

const ADAPTED = Symbol('taskflow.queryConfig');

/** An object literal: the plain prototype, and every own property an enumerable, writable, configurable value. */
function isPlainConfig(config: object): boolean {
  if (Object.getPrototypeOf(config) !== Object.prototype) return false;
  for (const key of Reflect.ownKeys(config)) {
    const d = Reflect.getOwnPropertyDescriptor(config, key)!;
    if (!('value' in d) || !d.enumerable || !d.writable || !d.configurable) return false;
  }
  return true;
}

function fastNormalize(original: Normalize): Normalize {
  return (config, values, callback) => {
    if (typeof config !== 'object' || config === null || !isPlainConfig(config)) return original(config, values, callback);
    const copy: Record<string, unknown> = { ...(config as Record<string, unknown>) };
    // The rest as node-postgres does it (pg/lib/utils.js, normalizeQueryConfig).
    if (values) {
      if (typeof values === 'function') copy.callback = values;
      else copy.values = values;
    }
    if (callback) copy.callback = callback;
    return copy;
  };
}

/** Calls the check compares: each is run through a fresh copy of its arguments. */
function sampleCalls(): (() => unknown[])[] {
  const callback = () => {};
  const getName = () => 'tf_get';
  class Submittable {
    text = 'select 1';
    values = [1];
  }
  return [
    () => ['select 1'],
    () => ['select $1', [1]],
    () => ['select 1', callback],
    () => ['select $1', [1], callback],
    () => [{ name: 'tf_1', text: 'select $1', values: [1] }],
    () => [{ text: 'select $1', values: [1], rowMode: 'array', types: undefined }, [2]],
    () => [{ text: 'select 1' }, undefined, callback],
    () => [{ text: 'select 1', callback }, callback],
    () => [{ text: 'select 1', ['__proto__']: null, [Symbol.for('x')]: 1 }],
    () => [Object.defineProperty({ text: 'select 1' }, 'name', { get: getName, enumerable: true })],
    () => [Object.defineProperty({ text: 'select 1' }, 'name', { value: 'tf_hidden', enumerable: false })],
    () => [new Submittable()],
    () => [Object.assign(Object.create(null) as object, { text: 'select 1' })],
  ];
}

/** A result as comparable data: prototype, and every own property with its attributes, in order. */
const described = (value: unknown) =>
  value !== null && typeof value === 'object'
    ? { proto: Object.getPrototypeOf(value) as unknown, keys: Reflect.ownKeys(value), props: Object.getOwnPropertyDescriptors(value) }
    : { value };

function outcome(normalize: Normalize, args: unknown[]): unknown {
  try {
    const config = args[0];
    const result = normalize(...(args as [unknown, unknown?, unknown?]));
    return { result: described(result), sameObject: result === config, callerUnchanged: described(config) };
  } catch (err) {
    return { threw: String(err) };
  }
}

/** Replaces node-postgres' normalizeQueryConfig (process-wide) if the replacement answers as the original does. */
export function useQueryConfigCopy(utils: unknown = createRequire(import.meta.url)('pg/lib/utils')): QueryConfigMode {
  const target = utils as Utils;
  const original = target.normalizeQueryConfig;
  if (typeof original !== 'function') return { adapted: false, reason: 'pg/lib/utils has no normalizeQueryConfig' };
  if (ADAPTED in original) return { adapted: true }; // every pool calls this; once per process is enough
  const fast = Object.assign(fastNormalize(original), { [ADAPTED]: true });
  for (const call of sampleCalls()) {
    const expected = outcome(original, call());
    const actual = outcome(fast, call());
    if (!isDeepStrictEqual(expected, actual)) {
      return { adapted: false, reason: `${JSON.stringify(call()[0]) ?? 'a config'}: the copy differs from node-postgres' own` };
    }
  }
  target.normalizeQueryConfig = fast;
  return { adapted: true };
}
