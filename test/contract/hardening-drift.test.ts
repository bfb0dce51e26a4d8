/**
 * Every rule the server enforces on requests (src/http/hardening.ts) must be stated in the contract, so that
 * Prism, the generated types and clients refuse what the server refuses. Today's gaps are listed in
 * known-unstated-rules.yaml: reported, not failed, until the contract states them and the list is emptied.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { ROOT } from '../../src/paths.js';
import { contractDocument } from '../helpers/contract.js';
import { unstatedHardeningRules, type Rule, type UnstatedRule } from './hardening-drift.js';

const KNOWN_PATH = join(ROOT, 'test/contract/known-unstated-rules.yaml');
const known = (yaml.load(readFileSync(KNOWN_PATH, 'utf8')) ?? {}) as Partial<Record<Rule, string[]>>;
const knownKeys = new Set(Object.entries(known).flatMap(([rule, places]) => (places ?? []).map((at) => `${rule} ${at}`)));
const keyOf = (u: UnstatedRule) => `${u.rule} ${u.at}`;

/** The allow-list as it should read for `gaps`, to paste into known-unstated-rules.yaml. */
function asYaml(gaps: UnstatedRule[]): string {
  const byRule: Record<string, string[]> = {};
  for (const g of gaps) (byRule[g.rule] ??= []).push(g.at);
  return yaml.dump(byRule, { lineWidth: 200 });
}

describe('hardening rules vs the contract', () => {
  const gaps = unstatedHardeningRules(contractDocument);

  it('the contract states every rule the server enforces, except the known gaps', () => {
    const unknown = gaps.filter((g) => !knownKeys.has(keyOf(g)));
    if (unknown.length) {
      throw new Error(
        `${unknown.length} rule(s) the server enforces are not stated in the contract:\n` +
          unknown.map((g) => `  ${g.rule} at ${g.at}: ${g.enforced}`).join('\n') +
          '\nState them in openapi/taskflow.yaml (pattern, minimum/maximum). The current gaps, for known-unstated-rules.yaml:\n' +
          asYaml(gaps),
      );
    }
    if (knownKeys.size) console.log(`hardening drift: ${knownKeys.size} known gap(s) in test/contract/known-unstated-rules.yaml still to state in the contract`);
  });

  it('lists no known gap that the contract now states or that no longer exists (the list only shrinks)', () => {
    const current = new Set(gaps.map(keyOf));
    const stale = [...knownKeys].filter((k) => !current.has(k));
    if (stale.length) {
      throw new Error(`Remove from test/contract/known-unstated-rules.yaml (no longer a gap):\n${stale.map((k) => `  ${k}`).join('\n')}\nCurrent gaps:\n${asYaml(gaps)}`);
    }
  });
});

describe('unstatedHardeningRules', () => {
  const contract = (body: object, parameters: object[] = []) => ({
    openapi: '3.1.0',
    paths: { '/things': { post: { operationId: 'createThing', parameters, requestBody: { content: { 'application/json': { schema: body } } } } } },
    components: { schemas: { Ref: { type: 'object', properties: { n: { type: 'integer', format: 'int64' } } } } },
  });

  it('finds a string without a NUL-free rule, an unbounded integer, a bare date-time, through $refs and parameters', () => {
    const gaps = unstatedHardeningRules(
      contract(
        { type: 'object', properties: { title: { type: 'string' }, count: { type: 'integer', minimum: 1 }, due: { type: 'string', format: 'date-time' }, ref: { $ref: '#/components/schemas/Ref' } } },
        [{ name: 'q', in: 'query', schema: { type: 'string' } }],
      ),
    );
    expect(gaps.map((g) => `${g.rule} ${g.at}`)).toEqual([
      'instant createThing#/requestBody/content/application~1json/schema/properties/due',
      'maximum #/components/schemas/Ref/properties/n',
      'maximum createThing#/requestBody/content/application~1json/schema/properties/count',
      'minimum #/components/schemas/Ref/properties/n',
      'no-nul createThing#/parameters/0/schema',
      'no-nul createThing#/requestBody/content/application~1json/schema/properties/title',
    ]);
    expect(gaps.find((g) => g.at.endsWith('/count'))?.enforced).toBe('maximum 2147483647');
    expect(gaps.find((g) => g.at.endsWith('/Ref/properties/n') && g.rule === 'maximum')?.enforced).toBe(`maximum ${Number.MAX_SAFE_INTEGER}`);
  });

  it('accepts rules the contract states: a NUL-rejecting pattern, an enum, tight bounds, an instant pattern', () => {
    const gaps = unstatedHardeningRules(
      contract({
        type: 'object',
        properties: {
          title: { type: 'string', pattern: '^[^\\u0000]*$' },
          kind: { type: 'string', enum: ['a', 'b'] },
          count: { type: 'integer', minimum: 1, maximum: 100 },
          id: { type: 'integer', format: 'int64', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
          due: { type: 'string', format: 'date-time', pattern: '^[1-9]\\d{3}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-](0\\d|1[0-5]):[0-5]\\d)$' },
        },
      }),
    );
    expect(gaps).toEqual([]);
  });
});
