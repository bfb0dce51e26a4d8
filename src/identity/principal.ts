/** The verified caller, as every query scopes it: tenant from the token, worker from our database. */
export interface Principal {
  userId: string;
  email: string | null;
  name: string | null;
  tenantId: string;
  workerId: number;
  handle: string;
  workerName: string;
  defaultProjectId: number;
}
