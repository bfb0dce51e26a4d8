import type { Principal } from '../http/principal.js';
import type { Actor } from './audit.sql.js';

export const actorOf = (who: Principal): Actor => ({
  tenantId: who.tenantId,
  workerId: who.workerId,
  handle: who.handle,
  type: who.actorType,
  client: who.client,
});
