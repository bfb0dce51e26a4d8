/** Types of response-check.cjs, the one response check (the jest client in test/helpers/contract.ts and the Dredd hooks). */
import type { ValidateFunction } from 'ajv';

declare namespace responseCheck {
  interface ObservedResponse {
    method: string;
    path: string;
    status: number;
    contentType: string | null;
    headers: Headers | Record<string, string | string[] | undefined>;
    /** Parsed JSON, or the raw text; undefined or '' when there is none. */
    body: unknown;
  }
  interface ResponseChecker {
    /** The failures of one response, as sentences; empty when it is what the contract documents. */
    check(response: ObservedResponse): string[];
    operationFor(method: string, path: string): { method: string; template: string; operation: { operationId?: string } } | undefined;
    /** A validator of the request body of a 3.1 webhook operation (`receiveEvent`), objects closed. */
    webhookBodyValidator(operationId: string): ValidateFunction;
  }
}

declare const responseCheck: {
  CONTRACT_PATH: string;
  closeObjectSchemas<T>(node: T): T;
  createResponseChecker(doc?: unknown): responseCheck.ResponseChecker;
  isJson(mediaType: string | null | undefined): boolean;
  loadContract(file?: string): any;
  mediaTypeOf(contentType: string | null | undefined): string;
  resolvePointer(doc: unknown, ref: string): any;
};
export = responseCheck;
