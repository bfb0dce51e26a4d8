/**
 * Real schema checks for Dredd. On its own, Dredd 14 does not type-check OpenAPI 3 bodies: it turns the example
 * into a "these keys must exist" schema and ignores types (stack notes §7). `install(hooks)` fixes that for every
 * transaction:
 *
 *  - beforeEach: the response schema of the transaction's path/method/status/media type, local `$ref`s inlined
 *    and objects closed (the contract leaves them open for clients; the server must send only what it documents),
 *    becomes `transaction.expected.bodySchema` (draft-07, which Gavel validates with ajv, types included). The
 *    contract's 3.1 `type: [x, 'null']` and `oneOf: [$ref, {type: 'null'}]` are valid draft-07 as they are.
 *  - beforeEachValidation: the documented media type (parameters such as `charset` allowed), every header the
 *    contract marks `required` (X-Request-Id, ETag, Location), strong ETags, a Location that names the created
 *    resource, no body on 204, and a non-JSON body (text/plain) checked here rather than by Gavel's exact text diff.
 *    Violations fail the transaction (`transaction.fail`).
 *
 * Used by hooks.cjs (`make contract`) and, alone, by schema-hooks.cjs (the broken-response test).
 */
'use strict';

const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const yaml = require('js-yaml');

const CONTRACT_PATH = join(__dirname, '../../openapi/taskflow.yaml');

/** ajv 6 (inside Gavel) throws on formats it does not know, such as OpenAPI's `int64`; these it knows. */
const AJV6_FORMATS = new Set(['date', 'time', 'date-time', 'uri', 'uri-reference', 'uri-template', 'url', 'email', 'hostname', 'ipv4', 'ipv6', 'regex', 'uuid', 'json-pointer', 'relative-json-pointer']);
/**
 * Annotations only (they also keep Dredd's failure output short); 3.1's `examples` would even trip the draft-07
 * meta-schema check. Property *names* such as `title` or `description` are kept: they live under `properties`.
 */
const DROP = new Set(['description', 'title', 'default', 'example', 'examples', 'deprecated', 'readOnly', 'writeOnly', 'xml', 'externalDocs', 'discriminator', '$comment']);

function loadContract(file = CONTRACT_PATH) {
  return yaml.load(readFileSync(file, 'utf8'));
}

function resolvePointer(doc, ref) {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported, got ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((node, key) => {
      if (node == null || !(key in node)) throw new Error(`unresolvable $ref ${ref}`);
      return node[key];
    }, doc);
}

/** A contract schema as self-contained draft-07: `$ref`s inlined, annotations and unknown formats dropped. */
function toDraft07(doc, schema) {
  const inline = (node, seen) => {
    if (Array.isArray(node)) return node.map((item) => inline(item, seen));
    if (!node || typeof node !== 'object') return node;
    if (typeof node.$ref === 'string') {
      if (seen.includes(node.$ref)) throw new Error(`recursive schema ${node.$ref} cannot be inlined`);
      return inline(resolvePointer(doc, node.$ref), [...seen, node.$ref]);
    }
    const out = {};
    for (const [key, value] of Object.entries(node)) {
      if (DROP.has(key)) continue;
      if (key === 'format' && !AJV6_FORMATS.has(value)) continue;
      // Under `properties` the keys are property names, not keywords: keep them all.
      out[key] = key === 'properties' || key === 'patternProperties' || key === 'definitions'
        ? Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, inline(sub, seen)]))
        : inline(value, seen);
    }
    // Response schemas are open for clients (they ignore unknown fields), but the server under test must send
    // exactly what is documented: an object that lists its properties is closed here.
    if (out.properties && !('additionalProperties' in out)) out.additionalProperties = false;
    return out;
  };
  return { $schema: 'http://json-schema.org/draft-07/schema#', ...inline(schema, []) };
}

const deref = (doc, node) => (node && typeof node.$ref === 'string' ? deref(doc, resolvePointer(doc, node.$ref)) : node);

/** `/api/projects/{project_id} > Get a project > 200 > application/json` + the request → the contract's view. */
function describe(doc, transaction) {
  const parts = transaction.name.split(' > ');
  const path = parts[0];
  const method = transaction.request.method.toUpperCase();
  const status = String(transaction.expected.statusCode);
  const mediaType = parts.length >= 4 && parts[parts.length - 1].includes('/') ? parts[parts.length - 1] : null;
  const operation = doc.paths?.[path]?.[method.toLowerCase()];
  if (!operation) return { path, method, status, mediaType, operation: null, response: null, schema: null };
  const response = deref(doc, operation.responses?.[status] ?? operation.responses?.[`${status[0]}XX`] ?? operation.responses?.default);
  const schema = mediaType ? response?.content?.[mediaType]?.schema ?? null : null;
  const headers = Object.entries(response?.headers ?? {}).map(([name, header]) => ({ name, ...deref(doc, header) }));
  return { path, method, status, mediaType, operation, response, schema, headers };
}

const isJson = (mediaType) => /^application\/(?:[\w.+-]+\+)?json$/i.test(mediaType ?? '');
const mediaTypeOf = (contentType) => String(contentType ?? '').split(';')[0].trim().toLowerCase();
const header = (headers, name) => {
  const key = Object.keys(headers ?? {}).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : headers[key];
};

function install(hooks, { doc = loadContract() } = {}) {
  const schemas = new Map(); // draft-07 JSON per transaction name: converting once is enough

  hooks.beforeEach((transaction) => {
    const contract = describe(doc, transaction);
    transaction.contract = contract;
    if (!contract.response) {
      transaction.fail = `the contract has no response ${contract.status} for ${contract.method} ${contract.path}`;
      return;
    }
    // Gavel compares Content-Type exactly ("application/json" ≠ "application/json; charset=utf-8") and wants
    // the documented headers as examples; both are checked below instead, with the contract's rules.
    transaction.expected.headers = {};
    if (contract.schema && isJson(contract.mediaType)) {
      if (!schemas.has(transaction.name)) schemas.set(transaction.name, JSON.stringify(toDraft07(doc, contract.schema)));
      transaction.expected.bodySchema = schemas.get(transaction.name);
      delete transaction.expected.body; // the example is documentation; the schema is the contract
    }
  });

  hooks.beforeEachValidation((transaction) => {
    const contract = transaction.contract;
    const real = transaction.real;
    if (!contract?.response || !real) return;
    const problems = [];
    // Only judge the response the contract describes for this transaction; a different status fails anyway.
    if (String(real.statusCode) === contract.status) {
      const contentType = header(real.headers, 'content-type');
      if (contract.mediaType && mediaTypeOf(contentType) !== contract.mediaType.toLowerCase()) {
        problems.push(`Content-Type is ${contentType ?? '(none)'}, the contract says ${contract.mediaType}`);
      }
      if (!contract.mediaType && real.body) problems.push(`status ${contract.status} must not have a body, got ${JSON.stringify(real.body).slice(0, 120)}`);
      for (const h of contract.headers ?? []) {
        const value = header(real.headers, h.name);
        if (value === undefined || value === '') {
          if (h.required) problems.push(`required header ${h.name} is missing`);
          continue;
        }
        if (h.name.toLowerCase() === 'etag' && !/^"[\x21\x23-\x7e]*"$/.test(value)) problems.push(`ETag ${value} is not a strong entity tag such as "3"`);
        if (h.name.toLowerCase() === 'location') problems.push(...checkLocation(value, real.body));
        if (h.schema?.type === 'integer' && !/^\d+$/.test(value)) problems.push(`header ${h.name}: ${value} is not an integer`);
      }
      if (contract.mediaType && !isJson(contract.mediaType)) {
        // e.g. /metrics text/plain: Gavel would demand the example text verbatim.
        if (contract.schema?.type === 'string' && typeof real.body !== 'string') problems.push('expected a text body');
        if (!real.body) problems.push('expected a non-empty body');
        transaction.expected.body = real.body;
      }
    }
    if (problems.length) transaction.fail = problems.join('; ');
  });
}

/** Location must be a URI reference; when the body has an `id`, it names that resource. */
function checkLocation(location, body) {
  let url;
  try {
    url = new URL(location, 'http://host.invalid');
  } catch {
    return [`Location ${location} is not a URI reference`];
  }
  let id;
  try {
    id = JSON.parse(body ?? 'null')?.id;
  } catch {
    return [];
  }
  if (id !== undefined && !url.pathname.endsWith(`/${id}`)) return [`Location ${location} does not name the created resource (id ${id})`];
  return [];
}

module.exports = { install, loadContract, toDraft07, describe, CONTRACT_PATH };
