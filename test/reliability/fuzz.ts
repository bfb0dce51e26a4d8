/**
 * Requests generated from the contract with fast-check: every operation, its parameters and its request body
 * schema are read from openapi/taskflow.yaml, so a new operation or field is fuzzed without touching this file.
 *
 * - validRequest(op, world): values that satisfy the schemas (ids drawn mostly from a real world, so the
 *   handlers get past their 404s), text from a mix of plain, Unicode-heavy and SQL-looking strings.
 * - invalidRequest(op, world): a valid request with one mutation that the contract forbids (unknown field,
 *   missing required field, wrong type, too long, out of range, bad enum, bad date, NUL byte, bad id, …).
 */
import fc from 'fast-check';
import type { Document } from 'openapi-backend';
import { stringArb, typesOf, valueArb, type FuzzWorld, type Schema } from './fuzz-values.js';

export type { FuzzWorld } from './fuzz-values.js';

export interface Param {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: Schema;
}

export interface Operation {
  operationId: string;
  method: string;
  path: string;
  params: Param[];
  body?: Schema;
  bodyRequired: boolean;
  secured: boolean;
}


export interface FuzzRequest {
  method: string;
  path: string;
  query: Record<string, string[]>;
  headers: Record<string, string>;
  /** JSON body (undefined: none). */
  body?: unknown;
  /** Sent as-is instead of `body`. */
  rawBody?: string;
  /** Who sends it. */
  caller: 'owner' | 'member' | 'outsider' | 'anonymous' | 'bad-token';
  /** What the mutation did, for failure messages; absent for valid requests. */
  mutation?: string;
  /** The mutation breaks a rule the contract states, so the request must be refused. */
  mustReject?: boolean;
}

/** Resolves every $ref (request schemas have no cycles). */
function deref(doc: Document, node: unknown, seen: string[] = []): any {
  if (Array.isArray(node)) return node.map((n) => deref(doc, n, seen));
  if (!node || typeof node !== 'object') return node;
  const ref = (node as { $ref?: string }).$ref;
  if (ref) {
    if (seen.includes(ref)) throw new Error(`cyclic $ref ${ref}`);
    const target = ref.split('/').slice(1).reduce<any>((n, k) => n?.[k], doc);
    return deref(doc, target, [...seen, ref]);
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === 'example' || k === 'examples' ? v : deref(doc, v, seen)]));
}

/** Every operation of the contract, parameters merged from the path item and the operation. */
export function operationsOf(doc: Document): Operation[] {
  const ops: Operation[] = [];
  for (const [path, rawItem] of Object.entries(doc.paths ?? {})) {
    const item = deref(doc, rawItem) as Record<string, any>;
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
      const op = item[method];
      if (!op) continue;
      const byKey = new Map<string, Param>();
      for (const p of [...(item.parameters ?? []), ...(op.parameters ?? [])]) byKey.set(`${p.in}:${p.name}`, { ...p, required: !!p.required });
      const security = op.security ?? doc.security ?? [];
      ops.push({
        operationId: op.operationId,
        method: method.toUpperCase(),
        path,
        params: [...byKey.values()],
        body: op.requestBody?.content?.['application/json']?.schema,
        bodyRequired: !!op.requestBody?.required,
        secured: security.length > 0 && !security.some((s: object) => Object.keys(s).length === 0),
      });
    }
  }
  return ops;
}

// -------------------------------------------------------------------------------------------- requests

const serializeQuery = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : [String(value)]);

function pathWith(op: Operation, values: Record<string, unknown>): string {
  return op.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(values[name])));
}

const callerArb = (op: Operation): fc.Arbitrary<FuzzRequest['caller']> =>
  op.secured
    ? fc.oneof(
        { weight: 12, arbitrary: fc.constant('owner' as const) },
        { weight: 3, arbitrary: fc.constant('member' as const) },
        { weight: 2, arbitrary: fc.constant('outsider' as const) },
        { weight: 1, arbitrary: fc.constantFrom('anonymous' as const, 'bad-token' as const) },
      )
    : fc.constant('anonymous' as const);

/** Header values as HTTP carries them: visible ASCII, no surrounding whitespace (fetch would trim it). */
function headerTextArb(schema: Schema): fc.Arbitrary<string> {
  const min = Math.max(1, schema.minLength ?? 1);
  const max = schema.maxLength ?? 64;
  return fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: min, maxLength: Math.min(max, 40) })
    .filter((s) => s.trim() === s && s.length >= min);
}

function headerArb(param: Param, world: FuzzWorld): fc.Arbitrary<string> {
  const name = param.name.toLowerCase();
  if (name === 'if-match') return fc.oneof(fc.constantFrom(...world.etags, '*', '"1"', '"2"', 'W/"1"', '"1", "2"'), headerTextArb(param.schema));
  if (name === 'idempotency-key') return fc.oneof(fc.uuid(), fc.constantFrom('k-1', 'k-2', 'k-3'), headerTextArb(param.schema));
  return headerTextArb(param.schema);
}

/** A request the contract accepts (the handler may still say 404, 409, …). */
export function validRequest(op: Operation, world: FuzzWorld): fc.Arbitrary<FuzzRequest> {
  const params: Record<string, fc.Arbitrary<unknown>> = {};
  const requiredKeys: string[] = [];
  for (const p of op.params) {
    const key = `${p.in}:${p.name}`;
    params[key] = p.in === 'header' ? headerArb(p, world) : valueArb(p.schema, world, p.name);
    if (p.required) requiredKeys.push(key);
  }
  return fc
    .record({
      params: fc.record(params, { requiredKeys }),
      body: op.body ? valueArb(op.body, world) : fc.constant(undefined),
      caller: callerArb(op),
    })
    .map(({ params: values, body, caller }) => {
      const byName = (where: Param['in']) =>
        Object.fromEntries(Object.entries(values).filter(([k]) => k.startsWith(`${where}:`)).map(([k, v]) => [k.slice(where.length + 1), v]));
      const query = Object.fromEntries(Object.entries(byName('query')).map(([k, v]) => [k, serializeQuery(v)]));
      return {
        method: op.method,
        path: pathWith(op, byName('path')),
        query,
        headers: byName('header') as Record<string, string>,
        body,
        caller,
      };
    });
}

interface Leaf {
  pointer: string[];
  schema: Schema;
}

/** Every field of a body schema (nested objects and array items included), with the schema that applies. */
function fieldsOf(schema: Schema, pointer: string[] = []): Leaf[] {
  const out: Leaf[] = [];
  for (const branch of schema.oneOf ?? []) if (typesOf(branch).includes('object')) out.push(...fieldsOf(branch, pointer));
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  for (const [key, s] of Object.entries(properties)) {
    out.push({ pointer: [...pointer, key], schema: s });
    const inner = s.oneOf?.find((b: Schema) => b.type === 'object') ?? (typesOf(s).includes('object') ? s : undefined);
    if (inner) out.push(...fieldsOf(inner, [...pointer, key]));
  }
  return out;
}

const getAt = (root: any, pointer: string[]) => pointer.reduce((n, k) => (n && typeof n === 'object' ? n[k] : undefined), root);
function setAt(root: any, pointer: string[], value: unknown): any {
  const copy = structuredClone(root ?? {});
  let node = copy;
  for (const key of pointer.slice(0, -1)) {
    if (!node[key] || typeof node[key] !== 'object' || Array.isArray(node[key])) node[key] = {};
    node = node[key];
  }
  if (value === undefined) delete node[pointer[pointer.length - 1]!];
  else node[pointer[pointer.length - 1]!] = value;
  return copy;
}

/** Values that break `schema` for sure (no coercion rescues them), each with a label. */
function breakersOf(schema: Schema): [string, unknown][] {
  const types = typesOf(schema);
  const out: [string, unknown][] = [['wrong type (object)', { nested: true }]];
  if (!types.includes('array')) out.push(['wrong type (array)', [1, 2]]);
  else out.push(['wrong type (string for array)', 'not-an-array']);
  if (schema.enum) out.push(['not in enum', 'definitely-not-allowed']);
  if (types.includes('string') && !schema.enum) {
    if (schema.maxLength !== undefined) out.push(['too long', 'x'.repeat(schema.maxLength + 1)]);
    if (schema.minLength) out.push(['too short', '']);
    out.push(['NUL byte', `a\u0000b`]);
    if (schema.format === 'date-time') out.push(['bad date', '2026-02-30T09:00:00Z'], ['year 0', '0000-01-01T00:00:00Z']);
    if (schema.pattern) {
      const re = new RegExp(schema.pattern);
      const mismatch = [' NOT valid! ', '   ', '@', '-'].find((c) => !re.test(c));
      if (mismatch !== undefined) out.push(['pattern mismatch', mismatch]);
    }
  }
  if (types.includes('integer') || types.includes('number')) {
    if (schema.maximum !== undefined) out.push(['above maximum', schema.maximum + 1]);
    if (schema.minimum !== undefined) out.push(['below minimum', schema.minimum - 1]);
    out.push(['beyond int8', 1e20]);
    if (types.includes('integer')) out.push(['fraction', 1.5]);
  }
  if (types.includes('array')) {
    if (schema.maxItems !== undefined) out.push(['too many items', Array.from({ length: schema.maxItems + 1 }, (_, i) => `item-${i}`)]);
    out.push(['bad item', [{ nested: true }]]);
  }
  if (!types.includes('null') && !(schema.oneOf ?? []).some((b: Schema) => b.type === 'null')) out.push(['null', null]);
  return out;
}

type Mutation = (req: FuzzRequest) => FuzzRequest;

/** The mutations that apply to an operation, each a function of a valid request. */
function mutationsOf(op: Operation): fc.Arbitrary<Mutation> {
  const muts: fc.Arbitrary<Mutation>[] = [];
  const tag = (mutation: string, mustReject: boolean, f: (r: FuzzRequest) => Partial<FuzzRequest>): Mutation => (r) => ({ ...r, ...f(r), mutation, mustReject });

  if (op.body) {
    const body = op.body;
    const leaves = fieldsOf(body);
    muts.push(fc.constant(tag('unknown field', true, (r) => ({ body: { ...(r.body as object), unexpected_field: 1 } }))));
    muts.push(fc.constantFrom(...([[], 'text', 42, true] as unknown[])).map((v) => tag(`body is ${JSON.stringify(v)}`, true, () => ({ body: v }))));
    muts.push(fc.constant(tag('body missing', op.bodyRequired, () => ({ body: undefined }))));
    muts.push(fc.constantFrom('{"a":', '{"a" 1}', "{'a':1}", '[1,]', '\u0000').map((raw) => tag(`malformed JSON ${JSON.stringify(raw)}`, true, () => ({ rawBody: raw, body: undefined }))));
    muts.push(fc.constantFrom('text/plain', 'application/xml', 'application/x-www-form-urlencoded').map((type) =>
      tag(`Content-Type ${type}`, true, (r) => ({ rawBody: JSON.stringify(r.body ?? {}), body: undefined, headers: { ...r.headers, 'content-type': type } }))));
    for (const key of body.required ?? []) muts.push(fc.constant(tag(`missing required ${key}`, true, (r) => ({ body: setAt(r.body, [key], undefined) }))));
    for (const leaf of leaves) {
      const breakers = breakersOf(leaf.schema);
      muts.push(fc.constantFrom(...breakers).map(([label, value]) =>
        tag(`/body/${leaf.pointer.join('/')}: ${label}`, true, (r) => {
          // A nested field only breaks the request if its parent object is there; make it be.
          const base = leaf.pointer.length > 1 && typeof getAt(r.body, leaf.pointer.slice(0, -1)) !== 'object' ? setAt(r.body, leaf.pointer.slice(0, -1), {}) : r.body;
          return { body: setAt(base, leaf.pointer, value) };
        })));
    }
  }
  for (const p of op.params) {
    if (p.in === 'path') {
      muts.push(fc.constantFrom('0', '-1', 'abc', '1.5', '99999999999999999999', '9223372036854775807', '9007199254740993', '%00', '1%20OR%201=1').map((bad) =>
        tag(`/path/${p.name} = ${bad}`, true, (r) => ({ path: op.path.replace(/\{(\w+)\}/g, (_, n: string) => (n === p.name ? bad : (r.path.split('/')[op.path.split('/').indexOf(`{${n}}`)] ?? '1'))) }))));
    } else if (p.in === 'query') {
      const bad: [string, string][] = [];
      const types = typesOf(p.schema);
      if (types.includes('integer')) bad.push(['not a number', 'ten'], ['above maximum', String((p.schema.maximum ?? 2 ** 53) + 1)], ['below minimum', String((p.schema.minimum ?? 0) - 1)], ['huge', '1e999']);
      if (types.includes('string') || types.includes('array')) bad.push(['NUL byte', 'a\u0000']);
      if (p.schema.maxLength) bad.push(['too long', 'q'.repeat(p.schema.maxLength + 1)]);
      if (p.schema.enum || p.schema.items?.enum) bad.push(['not in enum', 'nope']);
      if (p.schema.format === 'date-time') bad.push(['bad date', 'yesterday']);
      if (types.includes('boolean')) bad.push(['not a boolean', 'maybe']);
      if (bad.length) muts.push(fc.constantFrom(...bad).map(([label, value]) => tag(`/query/${p.name}: ${label}`, true, (r) => ({ query: { ...r.query, [p.name]: [value] } }))));
    } else if (p.in === 'header') {
      const bad = [['too long', 'k'.repeat((p.schema.maxLength ?? 255) + 1)]];
      muts.push(fc.constantFrom(...bad).map(([label, value]) => tag(`/header/${p.name}: ${label}`, true, (r) => ({ headers: { ...r.headers, [p.name]: value! } }))));
    }
  }
  muts.push(fc.constant(tag('unknown query parameter', false, (r) => ({ query: { ...r.query, unexpected_param: ["1' or '1'='1"] } }))));
  return fc.oneof(...muts);
}

/** A valid request broken by one mutation; authenticated as the owner so the refusal is the contract's, not auth's. */
export function invalidRequest(op: Operation, world: FuzzWorld): fc.Arbitrary<FuzzRequest> {
  return fc
    .tuple(validRequest(op, world), mutationsOf(op))
    .map(([req, mutate]) => mutate({ ...req, caller: op.secured ? 'owner' : 'anonymous' }));
}

/** One line describing a request, for failure messages (bodies cut at 500 characters). */
export function describe(req: FuzzRequest): string {
  const query = new URLSearchParams(Object.entries(req.query).flatMap(([k, vs]) => vs.map((v): [string, string] => [k, v]))).toString();
  const body = req.rawBody !== undefined ? `raw ${JSON.stringify(req.rawBody).slice(0, 500)}` : JSON.stringify(req.body)?.slice(0, 500);
  return `${req.caller} ${req.method} ${req.path}${query ? `?${query}` : ''} headers=${JSON.stringify(req.headers)} body=${body}${req.mutation ? ` [mutation: ${req.mutation}]` : ''}`;
}
