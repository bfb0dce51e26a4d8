#!/usr/bin/env node
/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): the top self-time functions and self time per package, as
 * a share of the busy (non-idle) time. run.mjs --cpu-prof uses it; also runnable alone:
 *
 *   node test/bench/profile.mjs test/bench/results/<file>.cpuprofile [--top 15] [--skip-ms 3000]
 *   node test/bench/profile.mjs test/bench/results/<file>.cpuprofile --callers writev
 *
 * (--skip-ms leaves out the first milliseconds of the profile: the server's startup; --callers lists the call
 * paths that lead to a function, e.g. which socket writes are the HTTP responses and which the queries.)
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const IDLE = new Set(['(idle)', '(root)']);

/** Where a frame's code lives: an npm package, node core, TaskFlow's own code, or a V8 pseudo-frame. */
export function ownerOf(callFrame) {
  const url = callFrame.url ?? '';
  if (!url) return callFrame.functionName?.startsWith('(') ? callFrame.functionName : '(native)';
  const own = url.match(/\/[^/]*dist\/(src\/.*)$/); // TaskFlow's build (dist/, or a build elsewhere)
  if (own) return `taskflow ${own[1].replace(/\/[^/]+$/, '/')}`;
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)?.pop()?.replace('node_modules/', '');
  if (pkg) return pkg;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return url.replace(/^file:\/\//, '').replace(/^.*\/test\/bench\//, 'test/bench/');
}

const location = (f) => {
  const url = (f.url ?? '').replace(/^file:\/\//, '');
  const short = /\/[^/]*dist\/src\//.test(url) ? url.replace(/^.*\/[^/]*dist\/src\//, 'dist/src/')
    : url.includes('node_modules/') ? url.slice(url.lastIndexOf('node_modules/') + 13) : url.replace(/^.*\/test\/bench\//, 'test/bench/');
  return short ? `${short}:${f.lineNumber + 1}` : '';
};

/**
 * `from`/`to` (µs on the system's monotonic clock, the clock of the profile's timestamps and of
 * process.hrtime) keep only the samples of a window, e.g. the measured part of a run without the startup.
 */
export function summarizeProfile(profile, { top = 15, from = -Infinity, to = Infinity } = {}) {
  const { nodes, samples, timeDeltas } = profile;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  // Self time = samples × the sampling interval (the median gap). Summing the gaps themselves would charge
  // the time the thread spent descheduled — on a busy 2-core box, often right after a write woke PostgreSQL —
  // to whatever function happened to be on the stack.
  const gaps = [...timeDeltas].filter((d) => d > 0).sort((a, b) => a - b);
  const intervalUs = gaps[Math.floor(gaps.length / 2)] ?? 1000;
  const selfUs = new Map();
  let t = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    t += timeDeltas[i] ?? 0;
    if (t < from || t > to) continue;
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + intervalUs);
  }
  // On-stack time per package: a sample counts for every package with a frame on its stack (once each), so
  // code without a source URL (ajv's generated validators, native calls) is charged to the package calling it.
  const parent = new Map();
  for (const n of nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const onStack = new Map();
  for (const [id, us] of selfUs) {
    if (IDLE.has(byId.get(id).callFrame.functionName)) continue;
    const owners = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at).callFrame;
      if (f.url) owners.add(ownerOf(f));
    }
    for (const o of owners) onStack.set(o, (onStack.get(o) ?? 0) + us);
  }
  const functions = new Map();
  const packages = new Map();
  let busyUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const f = byId.get(id).callFrame;
    totalUs += us;
    if (IDLE.has(f.functionName)) continue;
    busyUs += us;
    const owner = ownerOf(f);
    const key = `${f.functionName || '(anonymous)'}\u0000${location(f)}\u0000${owner}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
    packages.set(owner, (packages.get(owner) ?? 0) + us);
  }
  const rank = (map) =>
    [...map.entries()].sort((a, b) => b[1] - a[1]).map(([key, us]) => ({ key, ms: us / 1000, share: busyUs ? us / busyUs : 0 }));
  return {
    totalMs: totalUs / 1000,
    busyMs: busyUs / 1000,
    functions: rank(functions).slice(0, top).map(({ key, ms, share }) => {
      const [name, where, owner] = key.split('\u0000');
      return { name, where, owner, ms, share };
    }),
    packages: rank(packages),
    onStack: rank(onStack),
  };
}

export function formatProfileSummary(summary, { requests } = {}) {
  const pct = (x) => `${(x * 100).toFixed(1)}%`;
  const lines = [];
  lines.push(`busy ${summary.busyMs.toFixed(0)} ms of ${summary.totalMs.toFixed(0)} ms profiled` +
    (requests ? ` (${((summary.busyMs / requests) * 1000).toFixed(0)} µs of main-thread CPU per request over ${requests} requests)` : ''));
  lines.push('', '| # | self | share | function | where |', '|---|---:|---:|---|---|');
  summary.functions.forEach((f, i) => lines.push(`| ${i + 1} | ${f.ms.toFixed(0)} ms | ${pct(f.share)} | \`${f.name}\` | ${f.where} |`));
  const onStack = new Map(summary.onStack.map((p) => [p.key, p]));
  lines.push('', '| package / area | self | share | on stack (incl. callees) |', '|---|---:|---:|---:|');
  for (const p of summary.packages.slice(0, 20)) {
    lines.push(`| ${p.key} | ${p.ms.toFixed(0)} ms | ${pct(p.share)} | ${onStack.has(p.key) ? pct(onStack.get(p.key).share) : ''} |`);
  }
  const notListed = summary.onStack.filter((p) => !summary.packages.slice(0, 20).some((q) => q.key === p.key) && p.share >= 0.02);
  if (notListed.length) lines.push('', `Also on the stack: ${notListed.map((p) => `${p.key} ${pct(p.share)}`).join(', ')}.`);
  return lines.join('\n');
}

/** Who calls `functionName`: the distinct call paths (up to `depth` frames) by samples, most frequent first. */
export function callersOf(profile, functionName, { depth = 8, top = 8 } = {}) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const paths = new Map();
  for (const n of profile.nodes) {
    if (n.callFrame.functionName !== functionName || !n.hitCount) continue;
    const chain = [];
    for (let at = parent.get(n.id); at !== undefined && chain.length < depth; at = parent.get(at)) {
      const f = byId.get(at).callFrame;
      chain.push(`${f.functionName || '(anonymous)'} ${location(f)}`);
    }
    const key = chain.join('  <  ');
    paths.set(key, (paths.get(key) ?? 0) + n.hitCount);
  }
  return [...paths.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([path, samples]) => ({ samples, path }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node test/bench/profile.mjs <file.cpuprofile> [--top N] [--skip-ms N] [--callers <function>]');
    process.exit(64);
  }
  const arg = (name, fallback) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback);
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const from = profile.startTime + arg('--skip-ms', 0) * 1000;
  const callers = process.argv.includes('--callers') ? process.argv[process.argv.indexOf('--callers') + 1] : undefined;
  if (callers) for (const c of callersOf(profile, callers)) console.log(`${String(c.samples).padStart(6)}  ${c.path}`);
  else console.log(formatProfileSummary(summarizeProfile(profile, { top: arg('--top', 15), from })));
}
