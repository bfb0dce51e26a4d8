import { AsyncLocalStorage } from 'node:async_hooks';
import type { DatabaseTransactionConnection } from 'slonik';
import type { DatabasePool } from '../db/index.js';

/**
 * Lets a request wrap its handler in a transaction the handler does not know about: while a scope is open,
 * every call on a transaction-scoped pool (queries and `transaction`, which becomes a savepoint) runs on the
 * scope's transaction instead of a pooled connection. runIdempotent uses it so a creation and its stored
 * Idempotency-Key response commit together or not at all.
 */
interface Scope {
  tx: DatabaseTransactionConnection;
  joined: boolean;
}

const current = new AsyncLocalStorage<Scope>();
const SCOPED = Symbol('transactionScoped');

/** Methods a transaction connection shares with the pool; the rest (end, state, connect…) stay on the pool. */
const JOINABLE = new Set<PropertyKey>([
  'any', 'anyFirst', 'exists', 'many', 'manyFirst', 'maybeOne', 'maybeOneFirst', 'one', 'oneFirst', 'query', 'stream', 'transaction',
]);

/** The pool every handler and the app must share (server.ts and test/helpers/app.ts wrap theirs once). */
export function transactionScoped(pool: DatabasePool): DatabasePool {
  if (isTransactionScoped(pool)) return pool;
  return new Proxy(pool, {
    get(target, property) {
      if (property === SCOPED) return true;
      const scope = current.getStore();
      const owner: object = scope && JOINABLE.has(property) ? scope.tx : target;
      if (owner === scope?.tx) scope.joined = true;
      const value = Reflect.get(owner, property, owner);
      return typeof value === 'function' ? value.bind(owner) : value;
    },
  });
}

export const isTransactionScoped = (pool: DatabasePool): boolean => (pool as unknown as Record<symbol, unknown>)[SCOPED] === true;

/** Runs `fn` with every transaction-scoped pool joined to `tx`; `joined` says whether anything used it. */
export async function runInTransactionScope<T>(tx: DatabaseTransactionConnection, fn: () => Promise<T>): Promise<{ result: T; joined: boolean }> {
  const scope: Scope = { tx, joined: false };
  const result = await current.run(scope, fn);
  return { result, joined: scope.joined };
}
