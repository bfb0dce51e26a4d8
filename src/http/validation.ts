import type { ErrorObject } from 'ajv';
import type { FieldError } from './problem.js';

const LOCATIONS: Record<string, string> = { requestBody: 'body', query: 'query', path: 'path', params: 'path', headers: 'header' };

/** `/requestBody/tags/3` → `/body/tags/3`; the pointer names the field the way a client sent it. */
function pointerOf(error: ErrorObject): string {
  const [, location = '', ...rest] = error.instancePath.split('/');
  const segments = [LOCATIONS[location] ?? location, ...rest];
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'required') segments.push(String(params.missingProperty));
  if (error.keyword === 'additionalProperties') segments.push(String(params.additionalProperty));
  const pointer = '/' + segments.filter((s) => s !== '').join('/');
  return pointer === '/' || pointer === '/requestBody' ? '/body' : pointer;
}

function messageOf(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'required' && params.missingProperty === 'requestBody') return 'a JSON request body is required';
  if (error.keyword === 'additionalProperties') return 'is not a known field';
  if (error.keyword === 'enum') return `must be one of: ${(params.allowedValues as unknown[]).join(', ')}`;
  return error.message ?? 'is not valid';
}

/**
 * Ajv errors → one entry per bad field. oneOf/anyOf/if wrappers only restate their branches' errors, so they
 * are dropped when a more specific error names the same field.
 */
export function toFieldErrors(errors: readonly ErrorObject[] | null | undefined): FieldError[] {
  const byPointer = new Map<string, FieldError>();
  const wrappers = new Set(['oneOf', 'anyOf', 'if', 'not']);
  const sorted = [...(errors ?? [])].sort((a, b) => Number(wrappers.has(a.keyword)) - Number(wrappers.has(b.keyword)));
  for (const error of sorted) {
    const pointer = pointerOf(error);
    if (!byPointer.has(pointer)) byPointer.set(pointer, { pointer, message: messageOf(error) });
  }
  return [...byPointer.values()];
}
