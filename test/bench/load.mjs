/**
 * The load generator: a separate process (forked by run.mjs, talking over IPC) driving autocannon, so the
 * generator's CPU is its own and measurable. Protocol:
 *
 *   parent → { type: 'plan', plan }            plan = { targets: [{ url, connections }], tokens, requests,
 *                                                       unique?: { status: [...] }, fallback?: [...] }
 *   parent → { type: 'run', phase, seconds, polite?, warmupSeconds? }
 *                                              runs every target at once for `seconds` (polite: the connections
 *                                              honour Retry-After, see runTarget), after `warmupSeconds` of the
 *                                              same load on the same connections, which are not counted
 *   child  → { type: 'measuring', phase }      the warm-up is over (only when the run has warmupSeconds, 0 too)
 *   child  → { type: 'done', phase, result }   result = { elapsedMs, latencies (ms, every response),
 *                                                         statusCodes, errors, timeouts, cpuMs, applied }
 *
 * Requests are pre-built by run.mjs and handed out round-robin from one counter shared by all connections;
 * `{ kind: 'unique' }` entries take the next one-shot request (a status change that is valid exactly once)
 * and fall back to `fallback` entries when those run out, so no request is ever knowingly invalid.
 */
import autocannon from 'autocannon';

let plan;
let next = 0;
let uniqueNext = 0;
let fallbackNext = 0;
let applied = { unique: 0, fallback: 0 };

function take() {
  let r = plan.requests[next++ % plan.requests.length];
  if (r.kind === 'unique') {
    if (uniqueNext < plan.unique.length) {
      r = plan.unique[uniqueNext++];
      applied.unique += 1;
    } else {
      r = plan.fallback[fallbackNext++ % plan.fallback.length];
      applied.fallback += 1;
    }
  }
  return r;
}

// autocannon writes Content-Length into the headers object it is given: every request gets a fresh copy.
const headerSets = () => plan.tokens.map((token) => ({ authorization: `Bearer ${token}`, accept: 'application/json' }));

/** When a 503 carries no usable Retry-After (TaskFlow's `overloaded` sends 1–3 s, src/http/admission.ts). */
const DEFAULT_RETRY_AFTER_MS = 1_000;

/**
 * `polite`: the connections do what the contract asks of a refused client, waiting Retry-After before their next
 * request. autocannon has no option for that: its client emits 'response' and then calls its own `_doRequest()`
 * for the next request, so for a 503 that one call is deferred on the client instance (autocannon 8's
 * lib/httpClient.js), by the Retry-After seconds of that response: autocannon hands a request's `onResponse` the
 * response headers just before it emits 'response' for the same client, so the value is passed on in between.
 * A request's latency still runs from its own write to its response.
 */
function runTarget(target, seconds, record, polite = false) {
  const headers = headerSets();
  let retryAfterMs = DEFAULT_RETRY_AFTER_MS;
  const readRetryAfter = (status, _body, _context, responseHeaders) => {
    if (status !== 503) return;
    const value = Object.entries(responseHeaders ?? {}).find(([name]) => name.toLowerCase() === 'retry-after')?.[1];
    retryAfterMs = /^\d+$/.test(String(value)) ? Number(value) * 1000 : DEFAULT_RETRY_AFTER_MS;
  };
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.url,
        connections: target.connections,
        duration: seconds,
        timeout: 30,
        requests: [
          {
            setupRequest: (req) => {
              const r = take();
              req.method = r.method;
              req.path = r.path;
              req.headers = r.body === undefined ? { ...headers[r.u] } : { ...headers[r.u], 'content-type': 'application/json' };
              req.body = r.body;
              return req;
            },
            ...(polite ? { onResponse: readRetryAfter } : {}),
          },
        ],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    instance.on('response', (client, statusCode, _bytes, responseTime) => {
      record(statusCode, responseTime);
      if (!polite || statusCode !== 503) return;
      const next = Object.getPrototypeOf(client)._doRequest;
      if (typeof next !== 'function') throw new Error('autocannon changed: its client has no _doRequest to defer');
      const wait = retryAfterMs;
      client._doRequest = (...args) => {
        delete client._doRequest;
        setTimeout(() => client.destroyed || next.apply(client, args), wait);
      };
    });
  });
}

/**
 * One autocannon run per target for `warmupSeconds + seconds`; only responses to requests sent after the
 * warm-up count, and the parent is told when that boundary passes (`{ type: 'measuring' }`) so that it reads the
 * servers' CPU from there. The same connections carry the warm-up and the measured window.
 */
async function run(phase, seconds, polite = false, warmupSeconds = undefined) {
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  const statusCodes = {};
  applied = { unique: 0, fallback: 0 };
  const record = (status, ms) => {
    if (performance.now() - ms < t0) return; // sent during the warm-up
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = ms;
    statusCodes[status] = (statusCodes[status] ?? 0) + 1;
    // Overload runs: admitted (2xx) and shed (503) latencies apart, and 2xx answers per 250 ms since the start.
    if (status === 503) {
      shed.push(ms);
      // Sent after the first second (the answer time less the latency): past the storm of 1,000 connections opening
      // at once. A request of that storm answered late still counts as sent in the first second.
      if (performance.now() - ms - t0 >= 1_000) shedAfterFirstSecond.push(ms);
    }
    else if (status >= 200 && status < 300) {
      admitted.push(ms);
      const bucket = Math.floor((performance.now() - t0) / 250);
      okPerQuarter[bucket] = (okPerQuarter[bucket] ?? 0) + 1;
    }
  };
  const shed = [];
  const shedAfterFirstSecond = [];
  const admitted = [];
  const okPerQuarter = [];
  let cpu0 = process.cpuUsage();
  const warmupMs = (warmupSeconds ?? 0) * 1000;
  const t0 = performance.now() + warmupMs;
  const boundary = warmupSeconds === undefined
    ? null
    : setTimeout(() => {
        cpu0 = process.cpuUsage();
        process.send({ type: 'measuring', phase });
      }, warmupMs);
  const results = await Promise.all(plan.targets.map((t) => runTarget(t, seconds + warmupMs / 1000, record, polite))).finally(() => clearTimeout(boundary));
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    elapsedMs,
    latencies: Array.from(latencies.subarray(0, count)),
    statusCodes,
    errors: results.reduce((n, r) => n + r.errors, 0),
    timeouts: results.reduce((n, r) => n + r.timeouts, 0),
    cpuMs: (cpu.user + cpu.system) / 1000,
    applied,
    shed,
    shedAfterFirstSecond,
    admitted,
    okPerQuarter: Array.from(okPerQuarter, (n) => n ?? 0),
  };
}

process.on('message', (msg) => {
  if (msg.type === 'plan') {
    plan = msg.plan;
    process.send({ type: 'ready' });
  } else if (msg.type === 'run') {
    run(msg.phase, msg.seconds, msg.polite === true, msg.warmupSeconds).then(
      (result) => process.send({ type: 'done', phase: msg.phase, result }),
      (err) => process.send({ type: 'failed', phase: msg.phase, error: String(err?.stack ?? err) }),
    );
  } else if (msg.type === 'exit') {
    process.exit(0);
  }
});
