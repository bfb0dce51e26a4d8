/**
 * Header drift: a response header that matters to clients, sent by the server but not declared by the contract
 * for that operation and status, fails the check — in the jest client (test/helpers/contract.ts) and in Dredd
 * (schema-check.cjs). Gaps known today are listed in known-undeclared-headers.yaml; they are reported, not
 * failed, until the contract declares them and the list is emptied.
 *
 * TASKFLOW_HEADER_GAPS_LOG=<file> (absolute path) turns the check into a recording: every undeclared header seen,
 * known or not, is appended to <file> as a JSON line and nothing fails; `sort -u` it after `make unit contract`
 * to see what the list must hold.
 */
'use strict';

const { appendFileSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const yaml = require('js-yaml');

/** The headers whose absence from the contract misleads a client (retry timing, caching, created resources, …). */
const DRIFT_HEADERS = ['Retry-After', 'RateLimit', 'RateLimit-Policy', 'ETag', 'Location', 'Idempotent-Replayed', 'Deprecation'];

const KNOWN_UNDECLARED_HEADERS_PATH = join(__dirname, 'known-undeclared-headers.yaml');

/** `{ operationId: { status: [header, …] } }` → a Set of `operationId status header` (header lower-cased). */
function loadKnownUndeclaredHeaders(path = KNOWN_UNDECLARED_HEADERS_PATH) {
  const known = new Set();
  for (const [operationId, statuses] of Object.entries(yaml.load(readFileSync(path, 'utf8')) ?? {})) {
    for (const [status, headers] of Object.entries(statuses ?? {})) {
      for (const name of headers ?? []) known.add(`${operationId} ${status} ${String(name).toLowerCase()}`);
    }
  }
  return known;
}

let defaultKnown;

/**
 * The drift headers in `received` that `declared` (the documented response's header names) lacks, split into
 * `failures` and the `known` gaps of the allow-list.
 */
function undeclaredHeaders({ operationId, status, declared, received }, known = (defaultKnown ??= loadKnownUndeclaredHeaders())) {
  const declaredSet = new Set(declared.map((name) => name.toLowerCase()));
  const receivedSet = new Set(received.map((name) => name.toLowerCase()));
  const failures = [];
  const knownGaps = [];
  for (const name of DRIFT_HEADERS) {
    const lower = name.toLowerCase();
    if (!receivedSet.has(lower) || declaredSet.has(lower)) continue;
    if (process.env.TASKFLOW_HEADER_GAPS_LOG) {
      // Recording run: every gap is written down, none fails.
      appendFileSync(process.env.TASKFLOW_HEADER_GAPS_LOG, `${JSON.stringify({ operationId, status: String(status), header: name })}\n`);
      knownGaps.push(name);
      continue;
    }
    (known.has(`${operationId} ${status} ${lower}`) ? knownGaps : failures).push(name);
  }
  return { failures, known: knownGaps };
}

module.exports = { DRIFT_HEADERS, KNOWN_UNDECLARED_HEADERS_PATH, loadKnownUndeclaredHeaders, undeclaredHeaders };
