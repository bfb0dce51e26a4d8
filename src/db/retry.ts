import {
  BackendTerminatedError,
  BackendTerminatedUnexpectedlyError,
  ConnectionError,
  type DatabasePool,
} from 'slonik';

/** The server side closed the connection (Neon idles it out, a pooler recycles it, PostgreSQL restarted). */
export const isDroppedConnection = (err: unknown): boolean =>
  err instanceof BackendTerminatedError ||
  err instanceof BackendTerminatedUnexpectedlyError ||
  (err instanceof ConnectionError && /terminated|closed|ECONNRESET/i.test(err.message));

const RETRIED = new Set(['any', 'anyFirst', 'exists', 'many', 'manyFirst', 'maybeOne', 'maybeOneFirst', 'one', 'oneFirst', 'query', 'transaction']);

/**
 * Retries a pool call once when the connection it got turned out to be dead: the first query on a connection the
 * server already cut fails before doing anything, and a fresh connection succeeds. A transaction that failed
 * that way was rolled back by the server, so running it again is safe. Calls inside a transaction are not
 * retried here (their transaction is).
 */
export function retryDroppedConnections(pool: DatabasePool): DatabasePool {
  return new Proxy(pool, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || !RETRIED.has(property) || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        try {
          return await value.apply(target, args);
        } catch (err) {
          if (!isDroppedConnection(err)) throw err;
          return value.apply(target, args);
        }
      };
    },
  });
}
