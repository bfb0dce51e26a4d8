/**
 * How authentication failures look on the wire: 401 with an RFC 6750 challenge, or 503 when the identity
 * provider cannot be reached. Details say why a token was refused but never repeat the token.
 */
import { errors } from 'jose';
import { ProblemError } from '../http/problem.js';
import { JwksUnavailableError } from './jwks-cache.js';

const REALM = 'taskflow';

/** Why a presented token was refused. Also sent as `error_description`, so no `"` or `\` (RFC 6750 §3). */
export const INVALID_TOKEN = {
  malformed: 'Malformed token',
  expired: 'Token expired',
  notYetValid: 'Token not yet valid',
  wrongIssuer: 'Wrong issuer',
  wrongAudience: 'Wrong audience',
  badSignature: 'Bad signature',
  unknownKey: 'Unknown signing key',
  ambiguousKey: 'Token names no kid and several signing keys match',
  algorithmNotAllowed: 'Signing algorithm not allowed',
  missingSub: 'Missing sub claim',
  invalidSub: 'sub claim must be a non-empty string',
  subjectTooLong: 'sub claim too long',
  tenantTooLong: 'Tenant claim too long',
  unverifiable: 'Token could not be verified',
} as const;

/**
 * The request carries no usable credentials (no header, or another scheme). RFC 6750 §3.1: the challenge then
 * has no error code, so clients know to authenticate rather than to refresh a token.
 */
export function credentialsRequired(detail: string): ProblemError {
  return new ProblemError('unauthorized', { detail, headers: { 'WWW-Authenticate': `Bearer realm="${REALM}"` } });
}

export function invalidToken(reason: string): ProblemError {
  const description = reason.replace(/["\\]/g, "'");
  return new ProblemError('unauthorized', {
    detail: reason,
    headers: { 'WWW-Authenticate': `Bearer realm="${REALM}", error="invalid_token", error_description="${description}"` },
  });
}

export function authUnavailable(cause: unknown): ProblemError {
  return new ProblemError('auth-unavailable', {
    detail: 'Cannot reach the identity provider to verify tokens; try again shortly',
    headers: { 'Retry-After': '5' },
    cause,
  });
}

/**
 * Turns whatever token verification threw into the problem the client sees. Errors that are neither ours nor
 * jose's are bugs: they are rethrown unchanged so they surface as 500s rather than hide behind a 401.
 */
export function toAuthProblem(err: unknown): unknown {
  if (err instanceof ProblemError) return err;
  if (err instanceof JwksUnavailableError) return authUnavailable(err);
  if (err instanceof errors.JOSEError) return invalidToken(reasonFor(err));
  return err;
}

function reasonFor(err: errors.JOSEError): string {
  if (err instanceof errors.JWTExpired) return INVALID_TOKEN.expired;
  if (err instanceof errors.JWTClaimValidationFailed) return claimReason(err.claim, err.reason);
  if (err instanceof errors.JWSSignatureVerificationFailed) return INVALID_TOKEN.badSignature;
  if (err instanceof errors.JWKSNoMatchingKey) return INVALID_TOKEN.unknownKey;
  if (err instanceof errors.JWKSMultipleMatchingKeys) return INVALID_TOKEN.ambiguousKey;
  if (err instanceof errors.JOSEAlgNotAllowed) return INVALID_TOKEN.algorithmNotAllowed;
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return INVALID_TOKEN.malformed;
  return INVALID_TOKEN.unverifiable;
}

function claimReason(claim: string, reason: string): string {
  if (reason === 'missing') return claim === 'sub' ? INVALID_TOKEN.missingSub : `Missing ${claim} claim`;
  if (reason === 'invalid') return `Invalid ${claim} claim`;
  switch (claim) {
    case 'iss':
      return INVALID_TOKEN.wrongIssuer;
    case 'aud':
      return INVALID_TOKEN.wrongAudience;
    case 'nbf':
      return INVALID_TOKEN.notYetValid;
    default:
      return `Unexpected ${claim} claim`;
  }
}
