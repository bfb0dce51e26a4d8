/**
 * Dev mode lets the API run locally without an SSO: requests are accepted as one configured user. It must never
 * reach production, so the server calls `assertDevModeAllowed` at startup and logs `DEV_MODE_WARNING`.
 */
import type { Identity } from './identity.js';
import { DEFAULT_TENANT } from './identity.js';

export const DEFAULT_DEV_USER_ID = 'dev-user';

export const DEV_MODE_WARNING =
  'AUTH DEV MODE IS ON: requests without a bearer token are accepted as the dev user, with no authentication. ' +
  'Use it for local work only; the server refuses to start with it when NODE_ENV=production.';

/** Throws when dev mode is requested in production, so a misconfigured deployment fails to start. */
export function assertDevModeAllowed(nodeEnv: string | undefined, devMode: boolean): void {
  if (devMode && nodeEnv?.trim().toLowerCase() === 'production') {
    throw new Error(
      'AUTH_DEV_MODE=true is not allowed with NODE_ENV=production: it would accept unauthenticated requests',
    );
  }
}

export function devIdentity(devUserId: string): Identity {
  return { userId: devUserId, email: `${devUserId}@localhost`, name: 'Developer', tenantId: DEFAULT_TENANT };
}
