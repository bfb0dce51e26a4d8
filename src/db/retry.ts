import {
  BackendTerminatedError,
  BackendTerminatedUnexpectedlyError,
  ConnectionError,
  type DatabasePool,
} from 'slonik';
import { isStalePreparedStatement } from './prepared.js';

/** The server side closed the connection (Neon idles it out, a pooler recycles it, PostgreSQL restarted). */
export const isDroppedConnection = (err: unknown): boolean =>
  err instanceof BackendTerminatedError ||
  err instanceof BackendTerminatedUnexpectedlyError ||
  (err instanceof ConnectionError && /terminated|closed|ECONNRESET/i.test(err.message));

const RETRIED = new Set(['any', 'anyFirst', 'exists', 'many', 'manyFirst', 'maybeOne', 'maybeOneFirst', 'one', 'oneFirst', 'query', 'transaction']);

/**
 * Worth one more attempt: a dead connection, or a prepared statement the schema changed under (the connection
 * has already retired its statements; a transaction that hit it was rolled back, so running it again is safe).
 */
const isRetriable = (err: unknown, bodyRan: boolean): boolean =>
  (isDroppedConnection(err) && !bodyRan) || isStalePreparedStatement(err);

/**
 * Retries a pool call once when the connection it got turned out to be dead: the first query on a connection the
 * server already cut fails before doing anything, and a fresh connection succeeds. A transaction is retried only
 * when it died before its body ran (at BEGIN): once the body ran, the cut may have hit COMMIT, and running it
 * again could do the work twice. Calls inside a transaction are not retried here. A stale prepared statement is
 * retried whether or not the body ran (see isRetriable).
 */
export function retryDroppedConnections(pool: DatabasePool): DatabasePool {
  return new Proxy(pool, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || !RETRIED.has(property) || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        let bodyRan = false;
        const attemptArgs = property === 'transaction' && typeof args[0] === 'function'
          ? [(...txArgs: unknown[]) => ((bodyRan = true), (args[0] as (...a: unknown[]) => unknown)(...txArgs)), ...args.slice(1)]
          : args;
        try {
          return await value.apply(target, attemptArgs);
        } catch (err) {
          if (!isRetriable(err, bodyRan)) throw err;
          return value.apply(target, args);
        }
      };
    },
  });
}
