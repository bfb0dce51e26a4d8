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

/** Errors that say a value has the wrong shape for a branch as a whole, rather than a bad field inside it. */
const MISFIT = new Set(['type', 'required', 'additionalProperties', 'minProperties']);
const WRONG_TYPE = new Set(['type']);

/**
 * A oneOf/anyOf reports every branch's errors. When one branch fits the value's shape, only its errors are
 * about the client's mistake (`{"user_id": 5}` is a user with a bad id, not an agent without agent_id); when
 * none fits but exactly one has the value's type (an object missing a field, beside `null`), its errors are
 * reported at the field they name (`/body/recurrence/pattern`); otherwise the wrapper alone is reported, naming
 * the properties the branches require.
 */
function pruneBranches(errors: readonly ErrorObject[]): ErrorObject[] {
  let kept = [...errors];
  for (const wrapper of errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf')) {
    const prefix = `${wrapper.schemaPath}/`;
    const branchOf = (e: ErrorObject) => (e.schemaPath.startsWith(prefix) ? e.schemaPath.slice(prefix.length).split('/')[0] : undefined);
    const branches = new Map<string, ErrorObject[]>();
    for (const e of kept) {
      const branch = branchOf(e);
      if (branch !== undefined) branches.set(branch, [...(branches.get(branch) ?? []), e]);
    }
    if (branches.size === 0) continue;
    const misfits = (keywords: ReadonlySet<string>) => ([, errs]: [string, ErrorObject[]]) =>
      !errs.some((e) => e.instancePath === wrapper.instancePath && keywords.has(e.keyword));
    const fits = [...branches].filter(misfits(MISFIT));
    // `{}` for a nullable object fits no branch, but only one branch has its type: its missing field is the mistake.
    const typeFits = [...branches].filter(misfits(WRONG_TYPE));
    const chosen = fits.length > 0 ? fits : typeFits.length === 1 ? typeFits : [];
    if (chosen.length > 0) {
      const [best] = chosen.sort((a, b) => a[1].length - b[1].length)[0]!;
      kept = kept.filter((e) => e !== wrapper && (branchOf(e) === undefined || branchOf(e) === best));
    } else {
      const required = [...new Set(kept.filter((e) => branchOf(e) !== undefined && e.keyword === 'required').map((e) => String(e.params.missingProperty)))];
      const message = required.length > 1 ? `must have exactly one of: ${required.join(', ')}` : 'does not match any of the allowed shapes';
      kept = kept.filter((e) => branchOf(e) === undefined).map((e) => (e === wrapper ? { ...e, message, keyword: 'shape' } : e));
    }
  }
  return kept;
}

/** oneOf/anyOf/if wrappers only restate their branches' errors. */
const WRAPPERS = new Set(['oneOf', 'anyOf', 'if', 'not']);
/**
 * Which error speaks for a field that has several: the hardening keywords first, whose message says the rule
 * (the contract states the same rule as a `pattern`, whose message would only quote the regular expression);
 * wrappers last.
 */
const rank = (e: ErrorObject) => (e.keyword.startsWith('x-taskflow-') ? 0 : WRAPPERS.has(e.keyword) ? 2 : 1);

/** Ajv errors → one entry per bad field; the entry's message is that of the field's most telling error. */
export function toFieldErrors(errors: readonly ErrorObject[] | null | undefined): FieldError[] {
  const byPointer = new Map<string, FieldError>();
  const sorted = pruneBranches(errors ?? []).sort((a, b) => rank(a) - rank(b));
  for (const error of sorted) {
    const pointer = pointerOf(error);
    if (!byPointer.has(pointer)) byPointer.set(pointer, { pointer, message: messageOf(error) });
  }
  return [...byPointer.values()];
}
