/**
 * The tool list, derived from the contract: one tool per `/api` operation, named by its operationId. Nothing here
 * names an operation, so adding one to openapi/taskflow.yaml adds a tool. Pure (no I/O), so the MCP endpoint and
 * any other tool-using surface (a chat endpoint) share the same list and the same way to call a tool.
 */
import type { Document } from 'openapi-backend';

type JsonSchema = Record<string, unknown>;

export interface ToolAnnotations {
  title?: string;
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

export interface ContractTool {
  name: string;
  title?: string;
  description: string;
  inputSchema: JsonSchema & { type: 'object'; properties: Record<string, JsonSchema>; required?: string[] };
  /** The success body's schema, when the operation has exactly one success status with a JSON object body. */
  outputSchema?: JsonSchema & { type: 'object' };
  annotations: ToolAnnotations;
}

/** How a tool call becomes the operation's HTTP request. */
export interface ToolRoute {
  method: string;
  /** The path template, e.g. `/api/tasks/{task_id}/claim`. */
  path: string;
  pathParams: string[];
  queryParams: string[];
  /** `flat`: the body's properties are top-level arguments; `nested`: the body is the `body` argument. */
  body: 'none' | 'flat' | 'nested';
}

export interface ToolSet {
  tools: ContractTool[];
  routes: Map<string, ToolRoute>;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const MAX_DEPTH = 32;

/** Inlines every local `$ref` and drops OpenAPI's `example` (not JSON Schema): a self-contained JSON Schema. */
function resolveSchema(doc: Document, node: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new Error('Schema nesting too deep (a recursive $ref?)');
  if (Array.isArray(node)) return node.map((item) => resolveSchema(doc, item, depth + 1));
  if (node === null || typeof node !== 'object') return node;
  const ref = (node as { $ref?: unknown }).$ref;
  if (typeof ref === 'string') return resolveSchema(doc, lookup(doc, ref), depth + 1);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'example' || key.startsWith('x-')) continue;
    out[key] = resolveSchema(doc, value, depth + 1);
  }
  return out;
}

function lookup(doc: Document, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`Only local $refs are supported, got ${ref}`);
  const target = ref
    .slice(2)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], doc);
  if (target === undefined) throw new Error(`Unresolvable $ref ${ref}`);
  return target;
}

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: unknown;
}

const isPlainObjectSchema = (s: JsonSchema): boolean =>
  s.type === 'object' && typeof s.properties === 'object' && !('oneOf' in s) && !('anyOf' in s) && !('allOf' in s);

function annotationsFor(method: string, summary: string | undefined): ToolAnnotations {
  return {
    ...(summary ? { title: summary } : {}),
    readOnlyHint: method === 'get',
    destructiveHint: method === 'delete',
    idempotentHint: method === 'get' || method === 'put' || method === 'delete',
    openWorldHint: false,
  };
}

function outputSchemaOf(doc: Document, responses: Record<string, unknown>): (JsonSchema & { type: 'object' }) | undefined {
  const successes = Object.keys(responses).filter((status) => /^2\d\d$/.test(status));
  if (successes.length !== 1) return undefined;
  const response = resolveSchema(doc, responses[successes[0]!]) as { content?: Record<string, { schema?: JsonSchema }> };
  const schema = response.content?.['application/json']?.schema;
  return schema && schema.type === 'object' ? (schema as JsonSchema & { type: 'object' }) : undefined;
}

/** Builds the tools (and how to call each) from the contract's `/api` operations. */
export function toolsFromContract(doc: Document): ToolSet {
  const tools: ContractTool[] = [];
  const routes = new Map<string, ToolRoute>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    if (!path.startsWith('/api/') || !item) continue;
    const shared = ((item as { parameters?: unknown[] }).parameters ?? []).map((p) => resolveSchema(doc, p) as Parameter);
    for (const method of METHODS) {
      const op = (item as Record<string, unknown>)[method] as
        | { operationId?: string; summary?: string; description?: string; parameters?: unknown[]; requestBody?: unknown; responses?: Record<string, unknown> }
        | undefined;
      if (!op?.operationId) continue;
      const own = (op.parameters ?? []).map((p) => resolveSchema(doc, p) as Parameter);
      const byKey = new Map([...shared, ...own].map((p) => [`${p.in}:${p.name}`, p]));
      const parameters = [...byKey.values()].filter((p) => p.in === 'path' || p.in === 'query');

      const properties: Record<string, JsonSchema> = {};
      const required: string[] = [];
      for (const p of parameters) {
        properties[p.name] = { ...(p.schema as JsonSchema), ...(p.description ? { description: p.description } : {}) };
        if (p.required) required.push(p.name);
      }
      let body: ToolRoute['body'] = 'none';
      const requestBody = resolveSchema(doc, op.requestBody) as { required?: boolean; content?: Record<string, { schema?: JsonSchema }> } | undefined;
      const bodySchema = requestBody?.content?.['application/json']?.schema;
      if (bodySchema) {
        const clashes = Object.keys((bodySchema.properties as object) ?? {}).some((name) => name in properties);
        if (isPlainObjectSchema(bodySchema) && !clashes) {
          body = 'flat';
          Object.assign(properties, bodySchema.properties as Record<string, JsonSchema>);
          if (requestBody?.required) required.push(...((bodySchema.required as string[] | undefined) ?? []));
        } else {
          body = 'nested';
          properties.body = bodySchema;
          if (requestBody?.required) required.push('body');
        }
      }

      const outputSchema = outputSchemaOf(doc, op.responses ?? {});
      tools.push({
        name: op.operationId,
        ...(op.summary ? { title: op.summary } : {}),
        description: [op.summary, op.description].filter(Boolean).join('\n\n').trim(),
        inputSchema: {
          type: 'object',
          properties,
          ...(required.length ? { required } : {}),
          ...(body === 'flat' && bodySchema?.additionalProperties === false ? { additionalProperties: false } : {}),
        },
        ...(outputSchema ? { outputSchema } : {}),
        annotations: annotationsFor(method, op.summary),
      });
      routes.set(op.operationId, {
        method: method.toUpperCase(),
        path,
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        queryParams: parameters.filter((p) => p.in === 'query').map((p) => p.name),
        body,
      });
    }
  }
  return { tools, routes };
}

/** The HTTP request for a tool call: path parameters substituted, query string, and the JSON body if any. */
export function requestFor(route: ToolRoute, args: Record<string, unknown>): { method: string; path: string; body?: unknown } {
  const rest: Record<string, unknown> = { ...args };
  let path = route.path;
  for (const name of route.pathParams) {
    path = path.replace(`{${name}}`, encodeURIComponent(String(rest[name] ?? '')));
    delete rest[name];
  }
  const query = new URLSearchParams();
  for (const name of route.queryParams) {
    const value = rest[name];
    delete rest[name];
    if (value === undefined || value === null) continue;
    for (const v of Array.isArray(value) ? value : [value]) query.append(name, typeof v === 'object' ? JSON.stringify(v) : String(v));
  }
  let body: unknown;
  if (route.body === 'flat') body = rest;
  else if (route.body === 'nested') body = rest.body ?? {};
  if (route.body === 'none' || route.body === 'nested') {
    // Arguments the operation does not take go where the server's validation will name them (422).
    for (const [name, value] of Object.entries(rest)) if (name !== 'body' || route.body === 'none') query.append(name, String(value));
  }
  const qs = query.toString();
  return { method: route.method, path: qs ? `${path}?${qs}` : path, ...(body === undefined ? {} : { body }) };
}
