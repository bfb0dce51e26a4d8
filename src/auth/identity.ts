import type { JWTPayload } from 'jose';
import { invalidToken, INVALID_TOKEN } from './problems.js';

/** Who is calling, as proven by a verified token. Every query scopes by this; nothing in a request overrides it. */
export interface Identity {
  userId: string;
  email: string | null;
  name: string | null;
  tenantId: string;
  /** The OAuth client the token was issued to (`azp`, else `client_id`), when it names one. */
  client?: string | null;
}

export const DEFAULT_TENANT = 'default';

// Ids end up in indexed columns and log lines; anything longer is not an id we issued.
const MAX_ID_LENGTH = 255;

/** Reads the identity out of claims whose signature and validity jose has already checked. */
export function identityFromClaims(claims: JWTPayload): Identity {
  const userId = nonEmptyString(claims.sub);
  if (userId === null) throw invalidToken(INVALID_TOKEN.invalidSub); // presence was checked by jwtVerify
  if (userId.length > MAX_ID_LENGTH) throw invalidToken(INVALID_TOKEN.subjectTooLong);
  const tenantId = tenantFrom(claims);
  if (tenantId.length > MAX_ID_LENGTH) throw invalidToken(INVALID_TOKEN.tenantTooLong);
  const client = nonEmptyString(claims.azp) ?? nonEmptyString(claims.client_id);
  return {
    userId,
    email: nonEmptyString(claims.email),
    name: nonEmptyString(claims.name),
    tenantId,
    ...(client !== null && client.length <= MAX_ID_LENGTH ? { client } : {}),
  };
}

/** Better Auth's organization plugin and other SSOs name the tenant differently; the first usable one wins. */
function tenantFrom(claims: JWTPayload): string {
  const organizationIds = Array.isArray(claims.organization_ids) ? claims.organization_ids : [];
  return (
    nonEmptyString(claims.tenant_id) ??
    nonEmptyString(claims.organization_id) ??
    nonEmptyString(organizationIds[0]) ??
    DEFAULT_TENANT
  );
}

/** Claims are attacker-shaped JSON until proven otherwise: only non-empty strings count. */
function nonEmptyString(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}
