/** Assertions shared by the auth suites (not a test file: jest only runs *.test.ts). */
import { ProblemError } from '../../src/http/problem.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Awaits a promise that must reject with a ProblemError, and returns that error. */
export async function problemFrom(promise: Promise<unknown>): Promise<ProblemError> {
  const outcome = await promise.then(
    (value) => ({ rejected: false as const, value }),
    (error: unknown) => ({ rejected: true as const, error }),
  );
  if (!outcome.rejected) throw new Error(`expected a ProblemError, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(ProblemError);
  return outcome.error as ProblemError;
}

/** 401 invalid_token whose detail and challenge give `reason` and leak no part of the token. */
export async function expectInvalidToken(promise: Promise<unknown>, reason: string, token?: string): Promise<void> {
  const err = await problemFrom(promise);
  expect(err.status).toBe(401);
  expect(err.problem.type).toBe('https://taskflow.dev/problems/unauthorized');
  expect(err.problem.detail).toBe(reason);
  expect(err.headers['WWW-Authenticate']).toBe(
    `Bearer realm="taskflow", error="invalid_token", error_description="${reason}"`,
  );
  if (token) expectNoTokenLeak(err, token);
}

/** 401 for a request without (Bearer) credentials: a bare challenge, no error code (RFC 6750 §3.1). */
export async function expectCredentialsRequired(promise: Promise<unknown>, detail: string): Promise<void> {
  const err = await problemFrom(promise);
  expect(err.status).toBe(401);
  expect(err.problem.detail).toBe(detail);
  expect(err.headers['WWW-Authenticate']).toBe('Bearer realm="taskflow"');
}

export async function expectAuthUnavailable(promise: Promise<unknown>): Promise<void> {
  const err = await problemFrom(promise);
  expect(err.status).toBe(503);
  expect(err.problem.type).toBe('https://taskflow.dev/problems/auth-unavailable');
  expect(err.problem.detail).toBe('Cannot reach the identity provider to verify tokens; try again shortly');
  expect(err.headers['Retry-After']).toBe('5');
}

function expectNoTokenLeak(err: ProblemError, token: string): void {
  const exposed = JSON.stringify({ problem: err.problem, headers: err.headers, message: err.message });
  for (const part of token.split('.').filter((segment) => segment.length >= 8)) {
    expect(exposed).not.toContain(part);
  }
}
