#!/usr/bin/env node
/**
 * `make contract-diff`: the breaking-change gate. Compares the contract with the newest released snapshot in
 * openapi/released/<semver>.yaml using `redocly diff` with the diff-recommended rules, and fails on any change
 * rated major (removed operation or field, new required request field, lost enum value, changed type, …).
 *
 *   node test/contract/diff-gate.mjs [--contract openapi/taskflow.yaml] [--released openapi/released]
 *
 * - No snapshot yet: says so and passes (nothing has been promised to clients).
 * - info.version older than the newest snapshot: fails.
 * - info.version with a new major: must come with its own snapshot, openapi/released/<that version>.yaml,
 *   which then is the newest one and the base of the comparison; without it the gate fails.
 * Exit status: 0 pass, 1 breaking change or version mistake, 2 usage or tool error.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import yaml from 'js-yaml';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RULES = join(ROOT, 'test/contract/diff-rules.yaml');
const REDOCLY = join(ROOT, 'node_modules/.bin/redocly');

const { values: args } = parseArgs({
  options: {
    contract: { type: 'string', default: join(ROOT, 'openapi/taskflow.yaml') },
    released: { type: 'string', default: join(ROOT, 'openapi/released') },
  },
});
const show = (path) => {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
};

const SEMVER = /^(\d+)\.(\d+)\.(\d+)$/;
function parseVersion(text, where) {
  const m = SEMVER.exec(String(text ?? ''));
  if (!m) {
    console.error(`contract-diff: ${where} has info.version ${JSON.stringify(text)}, not MAJOR.MINOR.PATCH`);
    process.exit(2);
  }
  return m.slice(1).map(Number);
}
const compare = (a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

const snapshots = (existsSync(args.released) ? readdirSync(args.released) : [])
  .map((file) => ({ file, m: /^(\d+\.\d+\.\d+)\.ya?ml$/.exec(file) }))
  .filter(({ m }) => m)
  .map(({ file, m }) => ({ path: join(args.released, file), version: parseVersion(m[1], file) }))
  .sort((a, b) => compare(b.version, a.version));

if (snapshots.length === 0) {
  console.log(`contract-diff: no released contract in ${show(args.released)}/ yet, nothing to compare with: passed.`);
  process.exit(0);
}

const newest = snapshots[0];
const current = parseVersion(yaml.load(readFileSync(args.contract, 'utf8'))?.info?.version, show(args.contract));
const v = (version) => version.join('.');
if (compare(current, newest.version) < 0) {
  console.error(`contract-diff: info.version ${v(current)} is older than the released ${v(newest.version)}.`);
  process.exit(1);
}
if (current[0] > newest.version[0]) {
  console.error(
    `contract-diff: info.version ${v(current)} is a new major version, but ${show(join(args.released, `${v(current)}.yaml`))} ` +
      'does not exist: copy the contract there to release it (see the README, "Releasing the contract").',
  );
  process.exit(1);
}

console.log(`contract-diff: ${show(args.contract)} (${v(current)}) against the released ${show(newest.path)}`);
const result = spawnSync(
  REDOCLY,
  ['diff', newest.path, args.contract, '--config', RULES, '--lint-config', 'off', '--fail-on', 'major'],
  { stdio: 'inherit', env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } },
);
if (result.error || result.status === null) {
  console.error(`contract-diff: could not run redocly diff: ${result.error?.message ?? `signal ${result.signal}`}`);
  process.exit(2);
}
if (result.status !== 0) {
  console.error(
    `contract-diff: breaking change against ${v(newest.version)}. Make the change compatible (an optional field, ` +
      'a new operation), or release a new major version with its own snapshot.',
  );
  process.exit(1);
}
console.log('contract-diff: no breaking change.');
