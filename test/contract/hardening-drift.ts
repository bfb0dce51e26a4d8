import { hardenRequestSchemas, INSTANT_KEYWORD, NO_NUL_KEYWORD } from '../../src/http/hardening.js';

/**
 * Hardening vs contract: the rules src/http/hardening.ts adds to the server's copy of the contract, found by
 * running it on a copy and comparing every request schema (parameters and request bodies) before and after.
 * A rule the server enforces is "stated" when the contract, as written, already rejects what the rule rejects:
 *
 * - `no-nul`: the string has an enum or const, a format that cannot hold U+0000, or a pattern rejecting it;
 * - `instant`: the date-time has a pattern that rejects the year 0000 and an offset of +16:00;
 * - `maximum` / `minimum`: the contract's own bound is already at least as tight as the server's.
 */
export type Rule = 'no-nul' | 'instant' | 'maximum' | 'minimum';
export interface UnstatedRule {
  rule: Rule;
  /** `#/components/schemas/Task/properties/title`, or `<operationId>#/<pointer inside the operation>` for inline schemas. */
  at: string;
  /** What the server enforces there. */
  enforced: string;
}

type Node = Record<string, unknown>;
const isObject = (v: unknown): v is Node => !!v && typeof v === 'object' && !Array.isArray(v);
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
/** Keys whose values are data, not schemas (as in hardening.ts). */
const DATA_KEYS = new Set(['example', 'examples', 'enum', 'const', 'default']);
const NUL_FREE_FORMATS = new Set(['date-time', 'date', 'time', 'email', 'uuid', 'uri', 'hostname', 'ipv4', 'ipv6']);

const escape = (s: string) => s.replaceAll('~', '~0').replaceAll('/', '~1');
function resolve(doc: Node, ref: string): unknown {
  return ref.replace(/^#\//, '').split('/').reduce<unknown>((node, part) => (isObject(node) || Array.isArray(node) ? (node as Node)[part.replaceAll('~1', '/').replaceAll('~0', '~')] : undefined), doc);
}

function patternRejects(node: Node, value: string): boolean {
  if (typeof node.pattern !== 'string') return false;
  try {
    return !new RegExp(node.pattern, 'u').test(value);
  } catch {
    return false;
  }
}
const statesNoNul = (n: Node) => n.enum !== undefined || n.const !== undefined || NUL_FREE_FORMATS.has(String(n.format)) || patternRejects(n, 'a\u0000b');
const statesInstant = (n: Node) =>
  patternRejects(n, '0000-01-01T00:00:00Z') && patternRejects(n, '2026-01-01T00:00:00+16:00') && !patternRejects(n, '2026-01-01T00:00:00Z');

/** Every request-side rule hardening.ts enforces that `contract` does not state, sorted and without duplicates. */
export function unstatedHardeningRules(contract: object): UnstatedRule[] {
  const original = structuredClone(contract) as Node;
  const hardened = hardenRequestSchemas(structuredClone(contract)) as Node;
  const found = new Map<string, UnstatedRule>();
  const seen = new Set<string>();

  const compare = (before: Node, after: Node, at: string) => {
    const add = (rule: Rule, enforced: string) => found.set(`${rule} ${at}`, { rule, at, enforced });
    if (after[NO_NUL_KEYWORD] && !statesNoNul(before)) add('no-nul', 'no U+0000 in the string');
    if (after[INSTANT_KEYWORD] && !statesInstant(before)) add('instant', 'years 1000–9999 UTC, offset within ±15:59, no leap second');
    if (after.maximum !== before.maximum && !(typeof before.maximum === 'number' && before.maximum <= (after.maximum as number))) add('maximum', `maximum ${String(after.maximum)}`);
    if (after.minimum !== before.minimum && !(typeof before.minimum === 'number' && before.minimum >= (after.minimum as number))) add('minimum', `minimum ${String(after.minimum)}`);
  };

  /** Walks original and hardened side by side; a $ref continues at its target, named by its own pointer. */
  const walk = (before: unknown, after: unknown, at: string): void => {
    if (Array.isArray(before) && Array.isArray(after)) return before.forEach((b, i) => walk(b, after[i], `${at}/${i}`));
    if (!isObject(before) || !isObject(after)) return;
    if (typeof before.$ref === 'string') {
      const ref = before.$ref;
      if (seen.has(ref)) return;
      seen.add(ref);
      return walk(resolve(original, ref), resolve(hardened, ref), ref);
    }
    compare(before, after, at);
    for (const [key, value] of Object.entries(before)) {
      if (key === 'properties' && isObject(value)) {
        for (const name of Object.keys(value)) walk(value[name], (after.properties as Node)[name], `${at}/properties/${escape(name)}`);
      } else if (!DATA_KEYS.has(key)) {
        walk(value, after[key], `${at}/${escape(key)}`);
      }
    }
  };

  for (const [path, item] of Object.entries((original.paths ?? {}) as Record<string, Node>)) {
    const hardenedItem = (hardened.paths as Record<string, Node>)[path]!;
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      const hardenedOp = hardenedItem[method] as Node;
      const id = String(op.operationId);
      // Path-level parameters apply to every operation under the path.
      walk(item.parameters, hardenedItem.parameters, `${id}#/path-parameters`);
      walk(op.parameters, hardenedOp.parameters, `${id}#/parameters`);
      walk(op.requestBody, hardenedOp.requestBody, `${id}#/requestBody`);
    }
  }
  return [...found.values()].sort((a, b) => a.rule.localeCompare(b.rule) || a.at.localeCompare(b.at));
}
