/**
 * One load per key at a time: a caller asking for a key whose load is still running gets that load's outcome
 * (its value or its error) instead of starting another. Nothing is remembered once a load settles; what to keep
 * is the caller's cache's business.
 *
 * Why: the caches in front of the database (verified agent keys, principals) miss for every request that arrives
 * while an entry is absent or expired. Under 100 connections an expired agent key was looked up by every request
 * in flight for that key (263 lookups in a 15 s window where 30 were due), and a new user's burst of first
 * requests opened one provisioning transaction each, all but one waiting on its advisory lock with a pooled
 * connection held: a single user's burst could take every connection of the pool.
 */
export function coalescing<V>(): (key: string, load: () => Promise<V>) => Promise<V> {
  const running = new Map<string, Promise<V>>();
  return (key, load) => {
    const shared = running.get(key);
    if (shared) return shared;
    const started = load().finally(() => running.delete(key));
    running.set(key, started);
    return started;
  };
}
