import { coalescing } from '../auth/index.js';
import type { DatabasePool } from '../db/index.js';
import type { Principal } from '../http/principal.js';
import { findUserWorker, provisionUser, type NewUser } from './identity.sql.js';

const TTL_MS = 5 * 60_000;
const MAX_ENTRIES = 50_000;

/**
 * Maps a verified identity to its Principal, provisioning the user on first sight. Worker ids never change,
 * so a short-lived in-process cache saves one query per request without making instances stateful.
 */
export function createPrincipalResolver(pool: DatabasePool) {
  const cache = new Map<string, { principal: Principal; until: number }>();
  // A user's requests that miss together (their first burst, or the entry just expired) share one lookup, and at
  // most one provisioning transaction: otherwise each would hold a pooled connection waiting on its advisory lock.
  const lookUp = coalescing<Principal>();
  const load = async (key: string, identity: NewUser): Promise<Principal> => {
    const row =
      (await findUserWorker(pool, identity.tenantId, identity.userId).then((r) => (r?.defaultProjectId ? r : null))) ??
      (await provisionUser(pool, identity));
    const principal: Principal = {
      userId: identity.userId,
      email: identity.email,
      name: identity.name,
      tenantId: identity.tenantId,
      actorType: 'human',
      client: null,
      workerId: row.workerId,
      handle: row.handle,
      workerName: row.workerName,
      defaultProjectId: row.defaultProjectId!,
    };
    if (cache.size >= MAX_ENTRIES) cache.clear();
    cache.set(key, { principal, until: Date.now() + TTL_MS });
    return principal;
  };
  return async function resolvePrincipal(identity: NewUser & { client?: string | null }): Promise<Principal> {
    const client = identity.client ?? null;
    const key = `${identity.tenantId}\u0000${identity.userId}`;
    const hit = cache.get(key);
    const fresh =
      hit && hit.until > Date.now() && hit.principal.email === identity.email && hit.principal.name === identity.name
        ? hit.principal
        : // Email and name are part of the shared lookup's key: a token with other claims gets its own principal.
          await lookUp(`${key}\u0000${identity.email ?? ''}\u0000${identity.name ?? ''}`, () => load(key, identity));
    return fresh.client === client ? fresh : { ...fresh, client };
  };
}
export type PrincipalResolver = ReturnType<typeof createPrincipalResolver>;
