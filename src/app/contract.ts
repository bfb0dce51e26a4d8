import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import type { Document } from 'openapi-backend';
import { CONTRACT_PATH } from '../paths.js';

/** The contract as served (/openapi.yaml), parsed (routing, validation, MCP tools) and as JSON (/openapi.json). */
export const contractText = readFileSync(CONTRACT_PATH, 'utf8');
export const contract = yaml.load(contractText) as Document;
export const contractJson = JSON.stringify(contract);

/** operationIds the contract marks with an `x-` extension set to true, such as x-forbidden-for-agents. */
export function operationsMarked(doc: Document, extension: `x-${string}`): Set<string> {
  const ids = new Set<string>();
  for (const item of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(item ?? {}) as Record<string, unknown>[]) {
      if (op && typeof op === 'object' && op[extension] === true && typeof op.operationId === 'string') ids.add(op.operationId);
    }
  }
  return ids;
}

/** operationIds whose contract declares a given request header (resolving $ref'd parameters). */
export function operationsWithHeader(doc: Document, header: string): Set<string> {
  const resolve = (p: unknown): { in?: string; name?: string } => {
    const ref = (p as { $ref?: string }).$ref;
    if (!ref) return p as { in?: string; name?: string };
    return ref.split('/').slice(1).reduce<any>((node, key) => node?.[key], doc) ?? {};
  };
  const ids = new Set<string>();
  for (const item of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(item ?? {}) as { operationId?: string; parameters?: unknown[] }[]) {
      if (!op?.operationId) continue;
      if ((op.parameters ?? []).map(resolve).some((p) => p.in === 'header' && p.name?.toLowerCase() === header)) ids.add(op.operationId);
    }
  }
  return ids;
}
