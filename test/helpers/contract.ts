import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import yaml from 'js-yaml';
import { OpenAPIBackend, type Document } from 'openapi-backend';
import { CONTRACT_PATH } from '../../src/paths.js';
import headerDrift from '../contract/header-drift.cjs';

export const contractDocument = yaml.load(readFileSync(CONTRACT_PATH, 'utf8')) as Document;

/** Shared with the Dredd hooks: which undeclared response headers fail, and the allow-list of known gaps. */
export { headerDrift };

/**
 * The contract's response schemas are open (clients ignore unknown fields, so adding one is compatible), but our
 * own server sends exactly what is documented: for checking its responses, every object schema that lists its
 * properties and says nothing about others is closed. An undocumented field is then a failure here, as a wrong
 * type or a missing required field is.
 */
export function closeObjectSchemas<T>(node: T): T {
  if (Array.isArray(node)) return node.map(closeObjectSchemas) as T;
  if (!node || typeof node !== 'object') return node;
  const out = Object.fromEntries(
    Object.entries(node).map(([key, value]) => [
      key,
      // under these keys the entries are names (properties, examples), not schemas to walk into as such
      key === 'example' || key === 'examples' ? value : closeObjectSchemas(value),
    ]),
  ) as Record<string, unknown>;
  if (out.properties && typeof out.properties === 'object' && !('additionalProperties' in out)) out.additionalProperties = false;
  return out as T;
}

let checker: Promise<OpenAPIBackend> | undefined;
function contractChecker(): Promise<OpenAPIBackend> {
  checker ??= (async () => {
    const api = new OpenAPIBackend({
      definition: closeObjectSchemas(structuredClone(contractDocument)),
      quick: true,
      ajvOpts: { allErrors: true, strict: false },
      customizeAjv: (ajv) => {
        addFormats.default(ajv);
        return ajv;
      },
    });
    api.validateDefinition = () => api.document;
    await api.init();
    return api;
  })();
  return checker;
}

export interface ObservedResponse {
  method: string;
  path: string;
  status: number;
  contentType: string | null;
  headers: Headers;
  body: unknown;
}

/**
 * Fails when a response is not what the contract documents for that operation and status: an undocumented
 * status, another media type, a body that does not match the schema (a wrong type, a missing required field,
 * an undocumented field: see closeObjectSchemas), a missing documented header, or a header that matters to
 * clients (Retry-After, RateLimit, ETag, Location, …) sent without being declared (header-drift.cjs).
 */
export async function assertMatchesContract(r: ObservedResponse): Promise<void> {
  const api = await contractChecker();
  const operation = api.matchOperation({ method: r.method, path: r.path, headers: {} });
  const where = `${r.method} ${r.path} → ${r.status}`;
  if (!operation) {
    if (r.status === 404 || r.status === 405) return; // unknown route/method: answered by the router, not an operation
    throw new Error(`${where}: no operation in the contract`);
  }
  const responses = (operation.responses ?? {}) as Record<string, { content?: Record<string, unknown>; headers?: Record<string, { required?: boolean }> }>;
  const documented = responses[String(r.status)] ?? responses.default;
  if (!documented) throw new Error(`${where}: status ${r.status} is not documented for ${operation.operationId}`);
  const { failures } = headerDrift.undeclaredHeaders({
    operationId: String(operation.operationId),
    status: r.status,
    declared: Object.keys(documented.headers ?? {}),
    received: [...r.headers.keys()],
  });
  if (failures.length) {
    throw new Error(`${where}: ${failures.join(', ')} sent but not declared by the contract for ${operation.operationId} ${r.status}`);
  }
  const mediaTypes = Object.keys(documented.content ?? {});
  if (mediaTypes.length === 0) {
    if (r.body !== undefined && r.body !== '') throw new Error(`${where}: documented without a body but got one`);
    return;
  }
  const type = (r.contentType ?? '').split(';')[0]!.trim();
  if (!mediaTypes.includes(type)) throw new Error(`${where}: content-type ${type || 'none'} not in ${mediaTypes.join(', ')}`);
  if (type.includes('json')) {
    const result = api.validateResponse(r.body, operation, r.status);
    if (result.errors?.length) {
      throw new Error(`${where}: body violates the contract: ${JSON.stringify(result.errors)}\nbody: ${JSON.stringify(r.body).slice(0, 2000)}`);
    }
  }
  for (const [name, header] of Object.entries(documented.headers ?? {})) {
    if (header.required && !r.headers.has(name)) throw new Error(`${where}: required header ${name} missing`);
  }
}

let payloadValidator: ValidateFunction | undefined;

/**
 * Fails when a webhook delivery's body is not the request body the contract documents for `receiveEvent` (its
 * 3.1 `webhooks` section: what a receiver implements), objects closed as for responses: our server sends exactly that.
 */
export function assertMatchesWebhookPayload(body: unknown): void {
  if (!payloadValidator) {
    const webhooks = (contractDocument as { webhooks?: Record<string, Record<string, { operationId?: string; requestBody?: { content: Record<string, { schema: { $ref: string } }> } }>> }).webhooks ?? {};
    const receive = Object.values(webhooks).flatMap((item) => Object.values(item)).find((op) => op.operationId === 'receiveEvent');
    const ref = receive?.requestBody?.content['application/json']?.schema.$ref;
    if (!ref) throw new Error('the contract documents no receiveEvent with a JSON request body');
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats.default(ajv);
    ajv.addSchema(closeObjectSchemas(structuredClone(contractDocument)) as object, 'contract');
    payloadValidator = ajv.compile({ $ref: `contract${ref}` });
  }
  if (!payloadValidator(body)) {
    throw new Error(`webhook payload violates receiveEvent: ${JSON.stringify(payloadValidator.errors)}\nbody: ${JSON.stringify(body).slice(0, 2000)}`);
  }
}
