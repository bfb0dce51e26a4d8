/**
 * The one response check against the contract, shared by the jest client (test/helpers/contract.ts, every response
 * a suite sees) and the Dredd hooks (schema-check.cjs, every transaction of `make contract`):
 *
 *  - the operation (method + path) and the response documented for the status (exact, `4XX`, or `default`);
 *  - the media type (parameters such as `charset` allowed), and no body where none is documented;
 *  - the JSON body against the contract's schema (JSON Schema 2020-12, as OpenAPI 3.1 means it: types, formats,
 *    required fields), with every object that lists its properties closed: the contract leaves response objects
 *    open so clients ignore what they do not know, but our server must send exactly what it documents;
 *  - every header the contract marks `required`, strong ETags, a Location that names the created resource,
 *    integer headers that are integers, and no undeclared Retry-After/RateLimit/ETag/Location/… (header-drift.cjs).
 *
 * `createResponseChecker(doc).check(response)` returns the failures as sentences (empty when the response is
 * what the contract documents); callers throw (jest) or fail the transaction (Dredd).
 */
'use strict';

const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const yaml = require('js-yaml');
const { Ajv2020 } = require('ajv/dist/2020');
const addFormats = require('ajv-formats');
const { undeclaredHeaders } = require('./header-drift.cjs');

const CONTRACT_PATH = join(__dirname, '../../openapi/taskflow.yaml');
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function loadContract(file = CONTRACT_PATH) {
  return yaml.load(readFileSync(file, 'utf8'));
}

/**
 * Every object schema that lists its properties and says nothing about others becomes closed
 * (`additionalProperties: false`); under `example`/`examples` the values are data, not schemas, and are kept.
 */
function closeObjectSchemas(node) {
  if (Array.isArray(node)) return node.map(closeObjectSchemas);
  if (!node || typeof node !== 'object') return node;
  const out = Object.fromEntries(
    Object.entries(node).map(([key, value]) => [key, key === 'example' || key === 'examples' ? value : closeObjectSchemas(value)]),
  );
  if (out.properties && typeof out.properties === 'object' && !('additionalProperties' in out)) out.additionalProperties = false;
  return out;
}

const escapePointer = (key) => String(key).replace(/~/g, '~0').replace(/\//g, '~1');
const unescapePointer = (key) => key.replace(/~1/g, '/').replace(/~0/g, '~');

/** The node at a local `#/…` pointer. */
function resolvePointer(doc, ref) {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported, got ${ref}`);
  return ref.slice(2).split('/').map(unescapePointer).reduce((node, key) => {
    if (node == null || !(key in node)) throw new Error(`unresolvable $ref ${ref}`);
    return node[key];
  }, doc);
}

/** Follows `$ref`s; returns the node and the pointer where it lives (so a schema inside can be compiled by pointer). */
function follow(doc, node, pointer) {
  while (node && typeof node.$ref === 'string') {
    pointer = node.$ref;
    node = resolvePointer(doc, pointer);
  }
  return { node, pointer };
}

const isJson = (mediaType) => /^application\/(?:[\w.+-]+\+)?json$/i.test(mediaType ?? '');
const mediaTypeOf = (contentType) => String(contentType ?? '').split(';')[0].trim().toLowerCase();

/** Plain `{ lower-case name: value }` from a fetch Headers or an object of any case. */
function headersOf(headers) {
  const entries = typeof headers?.entries === 'function' ? [...headers.entries()] : Object.entries(headers ?? {});
  return Object.fromEntries(entries.map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : String(v)]));
}

/** Location must be a URI reference; when the body has an `id`, it names that resource. */
function checkLocation(location, body) {
  let url;
  try {
    url = new URL(location, 'http://host.invalid');
  } catch {
    return [`Location ${location} is not a URI reference`];
  }
  const id = body && typeof body === 'object' ? body.id : undefined;
  if (id !== undefined && !url.pathname.endsWith(`/${id}`)) return [`Location ${location} does not name the created resource (id ${id})`];
  return [];
}

function createResponseChecker(doc = loadContract()) {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  for (const name of ['int32', 'int64']) ajv.addFormat(name, { type: 'number', validate: Number.isInteger });
  // The contract as one schema document to compile pointers into; it is an OpenAPI document, not a JSON Schema,
  // so it is not checked against the meta-schema (redocly and spectral lint it).
  ajv.addSchema(closeObjectSchemas(structuredClone(doc)), 'contract', undefined, false);
  const validators = new Map();
  const validatorAt = (pointer) => {
    if (!validators.has(pointer)) validators.set(pointer, ajv.compile({ $ref: `contract${pointer}` }));
    return validators.get(pointer);
  };

  // Routes, the most literal segments first, so /api/notifications/read-all wins over a {parameter}.
  const routes = Object.entries(doc.paths ?? {})
    .flatMap(([template, item]) =>
      METHODS.filter((m) => item?.[m]).map((method) => ({
        method: method.toUpperCase(),
        template,
        pointer: `#/paths/${escapePointer(template)}/${method}`,
        regex: new RegExp(`^${template.split('/').map((s) => (/^\{.+\}$/.test(s) ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}$`),
        literal: template.split('/').filter((s) => s && !s.startsWith('{')).length,
      })),
    )
    .sort((a, b) => b.literal - a.literal);

  /** The operation for a request, or undefined. */
  function operationFor(method, path) {
    const route = routes.find((r) => r.method === method.toUpperCase() && r.regex.test(path));
    return route && { ...route, operation: resolvePointer(doc, route.pointer) };
  }

  /**
   * Failures of one response: `{ method, path, status, contentType, headers, body }`, body parsed or raw text
   * (undefined or '' when there is none). An unknown route answered 404/405 is the router's, not an operation's.
   */
  function check({ method, path, status, contentType, headers, body }) {
    const route = operationFor(method, path);
    if (!route) return status === 404 || status === 405 ? [] : [`${method} ${path}: no operation in the contract`];
    const { operation } = route;
    const s = String(status);
    const key = [s, `${s[0]}XX`, 'default'].find((k) => operation.responses?.[k]);
    if (!key) return [`status ${s} is not documented for ${operation.operationId}`];
    const { node: response, pointer } = follow(doc, operation.responses[key], `${route.pointer}/responses/${escapePointer(key)}`);
    const failures = [];
    const received = headersOf(headers);
    const declared = Object.entries(response.headers ?? {}).map(([name, h]) => ({ name, ...follow(doc, h).node }));

    const drift = undeclaredHeaders({ operationId: String(operation.operationId), status: s, declared: declared.map((h) => h.name), received: Object.keys(received) });
    if (drift.failures.length) failures.push(`${drift.failures.join(', ')} sent but not declared by the contract for ${operation.operationId} ${s}`);
    for (const h of declared) {
      const value = received[h.name.toLowerCase()];
      if (value === undefined || value === '') {
        if (h.required) failures.push(`required header ${h.name} is missing`);
        continue;
      }
      if (h.name.toLowerCase() === 'etag' && !/^"[\x21\x23-\x7e]*"$/.test(value)) failures.push(`ETag ${value} is not a strong entity tag such as "3"`);
      if (h.name.toLowerCase() === 'location') failures.push(...checkLocation(value, body));
      if (follow(doc, h.schema).node?.type === 'integer' && !/^\d+$/.test(value)) failures.push(`header ${h.name}: ${value} is not an integer`);
    }

    const mediaTypes = Object.keys(response.content ?? {});
    const empty = body === undefined || body === null || body === '';
    if (mediaTypes.length === 0) {
      if (!empty) failures.push(`status ${s} is documented without a body but got ${JSON.stringify(body).slice(0, 120)}`);
      return failures;
    }
    const type = mediaTypeOf(contentType ?? received['content-type']);
    const mediaType = mediaTypes.find((m) => m.toLowerCase() === type);
    if (!mediaType) return [...failures, `Content-Type is ${type || '(none)'}, the contract says ${mediaTypes.join(' or ')}`];
    if (!response.content[mediaType].schema) return failures;
    if (isJson(mediaType)) {
      let value = body;
      if (typeof body === 'string') {
        try {
          value = JSON.parse(body);
        } catch {
          return [...failures, `the body is not JSON: ${body.slice(0, 120)}`];
        }
      }
      const validate = validatorAt(`${pointer}/content/${escapePointer(mediaType)}/schema`);
      if (!validate(value)) {
        const errors = validate.errors.map((e) => `At '${e.instancePath}' ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`);
        failures.push(`body violates the contract: ${errors.join('; ')}`);
      }
    } else if (typeof body !== 'string' || body === '') {
      failures.push('expected a non-empty text body');
    }
    return failures;
  }

  /** The schema of a 3.1 webhook's request body, by operationId (`receiveEvent`), as a validator. */
  function webhookBodyValidator(operationId) {
    for (const [name, item] of Object.entries(doc.webhooks ?? {})) {
      for (const method of METHODS) {
        const op = item?.[method];
        if (op?.operationId !== operationId) continue;
        const base = `#/webhooks/${escapePointer(name)}/${method}`;
        const { node: body, pointer } = follow(doc, op.requestBody, `${base}/requestBody`);
        return validatorAt(`${pointer}/content/application~1json/schema`);
      }
    }
    throw new Error(`the contract has no webhook ${operationId}`);
  }

  return { check, operationFor, webhookBodyValidator };
}

module.exports = { CONTRACT_PATH, closeObjectSchemas, createResponseChecker, isJson, loadContract, mediaTypeOf, resolvePointer };
