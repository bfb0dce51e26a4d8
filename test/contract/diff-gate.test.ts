/**
 * The breaking-change gate (`make contract-diff`, test/contract/diff-gate.mjs) on fixture contracts: each edit of
 * fixtures/base.yaml, released as 1.0.0, must fail or pass the gate as a client of 1.0.0 would need.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../../src/paths.js';

const GATE = join(ROOT, 'test/contract/diff-gate.mjs');
const FIXTURES = join(ROOT, 'test/contract/fixtures');

let released: string;
beforeAll(() => {
  released = mkdtempSync(join(tmpdir(), 'taskflow-released-'));
  copyFileSync(join(FIXTURES, 'base.yaml'), join(released, '1.0.0.yaml'));
});
afterAll(() => rmSync(released, { recursive: true, force: true }));

async function gate(contract: string, releasedDir = released): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [GATE, '--contract', contract, '--released', releasedDir], { cwd: ROOT });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('make contract-diff', () => {
  it.each([
    ['a removed operation', 'breaking-removed-operation.yaml', 'path-removed'],
    ['a removed response field', 'breaking-removed-response-field.yaml', 'property-removed'],
    ['a new required request field', 'breaking-new-required-request-field.yaml', 'required-properties-added'],
    ['a narrowed request enum', 'breaking-narrowed-request-enum.yaml', 'enum-values-removed'],
    ['a changed type', 'breaking-changed-type.yaml', 'schema-type-changed'],
  ])('fails on %s, naming the rule', async (_name, fixture, rule) => {
    const { code, output } = await gate(join(FIXTURES, fixture));
    expect(code).toBe(1);
    expect(output).toContain(`(${rule})`);
    expect(output).toContain('contract-diff: breaking change against 1.0.0');
  });

  it.each([
    ['a new optional request field', 'compatible-new-optional-request-field.yaml'],
    ['a new response field', 'compatible-new-response-field.yaml'],
    ['a new operation', 'compatible-new-operation.yaml'],
    ['no change at all', 'base.yaml'],
  ])('passes %s', async (_name, fixture) => {
    const { code, output } = await gate(join(FIXTURES, fixture));
    expect(output).toContain('contract-diff: no breaking change.');
    expect(code).toBe(0);
  });

  it('fails a new major version that comes without its snapshot, and passes it with one', async () => {
    const contract = join(FIXTURES, 'major-bump.yaml');
    const without = await gate(contract);
    expect(without.code).toBe(1);
    expect(without.output).toContain('info.version 2.0.0 is a new major version');
    expect(without.output).toContain('2.0.0.yaml does not exist');

    const withSnapshot = mkdtempSync(join(tmpdir(), 'taskflow-released-'));
    try {
      copyFileSync(join(FIXTURES, 'base.yaml'), join(withSnapshot, '1.0.0.yaml'));
      copyFileSync(contract, join(withSnapshot, '2.0.0.yaml'));
      const { code, output } = await gate(contract, withSnapshot);
      expect(output).toMatch(/against the released .*2\.0\.0\.yaml/);
      expect(code).toBe(0);
    } finally {
      rmSync(withSnapshot, { recursive: true, force: true });
    }
  });

  it('fails a contract whose version is older than the newest snapshot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'taskflow-released-'));
    try {
      copyFileSync(join(FIXTURES, 'major-bump.yaml'), join(dir, '2.0.0.yaml'));
      const { code, output } = await gate(join(FIXTURES, 'base.yaml'), dir);
      expect(code).toBe(1);
      expect(output).toContain('info.version 1.0.0 is older than the released 2.0.0');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes, saying so, while nothing has been released', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'taskflow-released-'));
    try {
      const { code, output } = await gate(join(FIXTURES, 'breaking-changed-type.yaml'), empty);
      expect(code).toBe(0);
      expect(output).toContain('no released contract in');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
