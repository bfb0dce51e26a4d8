/**
 * Real schema checks for Dredd. On its own, Dredd 14 does not type-check OpenAPI 3 bodies: it turns the example
 * into a "these keys must exist" schema and ignores types (stack notes §7). `install(hooks)` runs the one response
 * check of response-check.cjs (the one the jest client runs too) on every transaction instead:
 *
 *  - beforeEach: which response of the contract the transaction is about (`transaction.contract`); Gavel's own
 *    header and body comparisons (exact Content-Type, the example's keys) are turned off;
 *  - beforeEachValidation: the real response through response-check.cjs — operation and status, media type, the
 *    JSON body against the contract's schema with objects closed, required headers, strong ETags, a Location that
 *    names the created resource, no body where none is documented, no undeclared Retry-After/RateLimit/ETag/… .
 *    Failures fail the transaction (`transaction.fail`), naming the field.
 *
 * Used by hooks.cjs (`make contract`) and, alone, by schema-hooks.cjs (the broken-response test).
 */
'use strict';

const { CONTRACT_PATH, createResponseChecker, loadContract, resolvePointer } = require('./response-check.cjs');

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

const header = (headers, name) => {
  const key = Object.keys(headers ?? {}).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : headers[key];
};

function install(hooks, { doc = loadContract() } = {}) {
  const checker = createResponseChecker(doc);

  hooks.beforeEach((transaction) => {
    const contract = describe(doc, transaction);
    transaction.contract = contract;
    if (!contract.response) {
      transaction.fail = `the contract has no response ${contract.status} for ${contract.method} ${contract.path}`;
      return;
    }
    // Gavel compares Content-Type exactly ("application/json" ≠ "application/json; charset=utf-8"), wants the
    // documented headers as examples and the example's keys in the body: response-check.cjs judges all of it.
    transaction.expected.headers = {};
    delete transaction.expected.body;
    delete transaction.expected.bodySchema;
  });

  hooks.beforeEachValidation((transaction) => {
    const contract = transaction.contract;
    const real = transaction.real;
    if (!contract?.response || !real) return;
    // Only judge the response the contract describes for this transaction; a different status fails anyway.
    if (String(real.statusCode) !== contract.status) return;
    transaction.expected.body = real.body; // Gavel's text/JSON-example comparison: judged below instead
    const failures = checker.check({
      method: contract.method,
      path: contract.path, // the template Dredd names the transaction by: the operation without guessing
      status: real.statusCode,
      contentType: header(real.headers, 'content-type') ?? null,
      headers: real.headers ?? {},
      body: real.body,
    });
    if (failures.length) transaction.fail = failures.join('; ');
  });
}

module.exports = { install, loadContract, describe, CONTRACT_PATH };
