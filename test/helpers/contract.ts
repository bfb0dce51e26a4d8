/**
 * The contract check every suite's test client runs on every response (test/helpers/app.ts). The check itself is
 * test/contract/response-check.cjs, the same one the Dredd hooks of `make contract` run.
 */
import type { Document } from 'openapi-backend';
import headerDrift from '../contract/header-drift.cjs';
import responseCheck from '../contract/response-check.cjs';

export const contractDocument = responseCheck.loadContract() as Document;

/** Shared with the Dredd hooks: which undeclared response headers fail, and the allow-list of known gaps. */
export { headerDrift };

export const closeObjectSchemas = responseCheck.closeObjectSchemas;

let checker: ReturnType<typeof responseCheck.createResponseChecker> | undefined;
const contractChecker = () => (checker ??= responseCheck.createResponseChecker(contractDocument));

export type ObservedResponse = responseCheck.ObservedResponse;

/**
 * Fails when a response is not what the contract documents for that operation and status: an undocumented
 * status, another media type, a body that does not match the schema (a wrong type, a missing required field,
 * an undocumented field: response objects are closed for our own server), a missing required header, or a header
 * that matters to clients (Retry-After, RateLimit, ETag, Location, …) sent without being declared.
 */
export async function assertMatchesContract(r: ObservedResponse): Promise<void> {
  const failures = contractChecker().check(r);
  if (failures.length) {
    throw new Error(`${r.method} ${r.path} → ${r.status}: ${failures.join('; ')}\nbody: ${JSON.stringify(r.body)?.slice(0, 2000)}`);
  }
}

/**
 * Fails when a webhook delivery's body is not the request body the contract documents for `receiveEvent` (its
 * 3.1 `webhooks` section: what a receiver implements), objects closed as for responses: our server sends exactly that.
 */
export function assertMatchesWebhookPayload(body: unknown): void {
  const validate = contractChecker().webhookBodyValidator('receiveEvent');
  if (!validate(body)) {
    throw new Error(`webhook payload violates receiveEvent: ${JSON.stringify(validate.errors)}\nbody: ${JSON.stringify(body).slice(0, 2000)}`);
  }
}
