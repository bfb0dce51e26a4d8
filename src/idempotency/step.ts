import type { Db, DatabasePool } from '../db/index.js';
import type { Principal } from '../http/principal.js';
import { requestHash, runIdempotent, type ReplyLike } from './run.js';

/** What the step reads of a handler's context, and the one field it replaces (`db`). */
interface StepContext {
  db: Db;
  principal: Principal;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  raw: { request: { path: string } };
}

/**
 * The idempotency step around one operation's handler. Without an `Idempotency-Key` header the handler runs as
 * it is. With one, runIdempotent opens a transaction, takes the key's lock, replays a stored response or runs
 * the handler with that transaction as its `db`, and stores the reply in it: the handler's own
 * `db.transaction(…)` becomes a savepoint of the same transaction, so nothing is committed without its key.
 */
export function idempotencyStep<C extends StepContext, R extends ReplyLike>(
  pool: DatabasePool,
  operationId: string,
  handler: (c: C) => Promise<R>,
): (c: C) => Promise<R> {
  return async (c) => {
    const key = c.headers['idempotency-key'];
    if (typeof key !== 'string') return handler(c);
    const scope = { tenantId: c.principal.tenantId, userId: c.principal.userId, key };
    const hash = requestHash(operationId, c.raw.request.path, c.body);
    // A replay returns the stored reply, which has the shape of an earlier reply of this very handler.
    return (await runIdempotent(pool, scope, hash, (tx) => handler({ ...c, db: tx }))) as R;
  };
}
