import type { WorkerType } from '../db/index.js';

/** The verified caller, as every query scopes it: tenant from the token or key, worker from our database. */
export interface Principal {
  /** The JWT `sub` of a human; `agent:<worker id>` for an agent key (a stable key for rate limits and idempotency). */
  userId: string;
  email: string | null;
  name: string | null;
  tenantId: string;
  workerId: number;
  handle: string;
  workerName: string;
  /** A human's personal default project; agents have none. */
  defaultProjectId: number | null;
  /** `agent` when the request authenticated with an agent API key. */
  actorType: WorkerType;
  /** The OAuth client a human's token names (`azp` / `client_id`), recorded on audit entries; null otherwise. */
  client: string | null;
}
