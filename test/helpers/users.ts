import type { components } from '../../generated/api.js';
import type { ApiUser, TestApp, UserClaims } from './app.js';

type Me = components['schemas']['Me'];

export interface SignedIn extends ApiUser {
  me: Me;
  workerId: number;
  tenant: string;
  /** The personal default project, created on the first request. */
  projectId: number;
}

/** A user who has made their first request, so their worker and default project exist. */
export async function signIn(t: TestApp, sub: string, claims: UserClaims = {}): Promise<SignedIn> {
  const user = await t.user(sub, claims);
  const res = await user.request<Me>('GET', '/api/me');
  if (res.status !== 200) throw new Error(`GET /api/me for ${sub} answered ${res.status}`);
  return { ...user, me: res.body, workerId: res.body.worker.id, tenant: res.body.tenant_id, projectId: res.body.default_project_id! };
}
