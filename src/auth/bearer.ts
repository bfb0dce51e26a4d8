import { credentialsRequired, invalidToken, INVALID_TOKEN } from './problems.js';

// RFC 6750 §2.1: scheme (case-insensitive, RFC 9110 §11.1), one or more spaces, then a b64token.
const BEARER_CREDENTIALS = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const SCHEME = /^\s*(\S+)/;

/** True when the header claims the Bearer scheme, whether or not its token is well formed. */
export function hasBearerScheme(authorization: string | undefined): boolean {
  return SCHEME.exec(authorization ?? '')?.[1]?.toLowerCase() === 'bearer';
}

/** The token from an `Authorization: Bearer …` header; 401 when there is none or it cannot be one. */
export function readBearerToken(authorization: string | undefined): string {
  if (!authorization?.trim()) throw credentialsRequired('Missing Authorization header');
  if (!hasBearerScheme(authorization)) throw credentialsRequired('Authorization scheme must be Bearer');
  const token = BEARER_CREDENTIALS.exec(authorization.trim())?.[1];
  if (token === undefined) throw invalidToken(INVALID_TOKEN.malformed);
  return token;
}
