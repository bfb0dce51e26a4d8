/**
 * The HTTP plumbing the two hand-written servers of `make bench` share (baseline/server.mjs and floor/server.mjs):
 * the bearer-token check with the caller's worker cached 5 min, JSON bodies, the three routes of W1–W3, and the
 * server with its shutdown. What differs between them — SQL shapes, prepared statements, round trips — stays in
 * their own files. Not product code.
 *
 * Env: PORT, DATABASE_URL, AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE, DB_POOL_SIZE (10, as the server's default);
 * MAX_IN_FLIGHT, MAX_QUEUE, MAX_QUEUE_WAIT_MS turn on a minimal admission control (admissionOf, below).
 */
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { createRemoteJWKSet, jwtVerify } from 'jose';

export class HttpError extends Error {
  constructor(status, title) {
    super(title);
    this.status = status;
  }
}

/**
 * `caller(req)` → `{ tenantId, workerId, handle }`: verifies the token against the same JWKS as TaskFlow (iss,
 * aud, exp, algorithms) and resolves the worker through `findWorker(tenantId, sub)` (→ `{ id, handle }` or
 * undefined), cached 5 minutes like the server does. `cacheTokens` keeps verified tokens until they expire, as
 * TaskFlow does.
 */
export function createCaller(env, findWorker, { cacheTokens = false } = {}) {
  const jwks = createRemoteJWKSet(new URL(env.AUTH_JWKS_URL));
  const verifyOptions = { issuer: env.AUTH_ISSUER, audience: env.AUTH_AUDIENCE, algorithms: ['EdDSA', 'RS256'], requiredClaims: ['sub', 'exp'], clockTolerance: 30 };
  const workers = new Map(); // `${tenant}\0${sub}` → { workerId, handle, until }
  const verified = new Map(); // token → payload, until exp
  return async function caller(req) {
    const auth = req.headers.authorization;
    if (!auth?.startsWith('Bearer ')) throw new HttpError(401, 'Unauthorized');
    const token = auth.slice(7);
    let payload = cacheTokens ? verified.get(token) : undefined;
    if (!payload || payload.exp * 1000 < Date.now()) {
      try {
        ({ payload } = await jwtVerify(token, jwks, verifyOptions));
      } catch {
        throw new HttpError(401, 'Invalid token');
      }
      if (cacheTokens) verified.set(token, payload);
    }
    const tenantId = typeof payload.tenant_id === 'string' && payload.tenant_id ? payload.tenant_id : 'default';
    const key = `${tenantId}\0${payload.sub}`;
    const hit = workers.get(key);
    if (hit && hit.until > Date.now()) return { tenantId, ...hit };
    const row = await findWorker(tenantId, payload.sub);
    if (!row) throw new HttpError(403, 'Unknown user'); // the real server provisions here; the seed made everyone
    const entry = { workerId: row.id, handle: row.handle, until: Date.now() + 5 * 60_000 };
    workers.set(key, entry);
    return { tenantId, ...entry };
  };
}

export const readJson = async (req) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'Malformed JSON');
  }
};

/**
 * Serves W1–W3 on PORT until SIGTERM/SIGINT: `listTasks(who, projectId, url)`, `createTask(who, projectId, body)`
 * and `getTask(who, taskId)` each resolve to `[status, body, headers?]`; an HttpError becomes a small problem.
 */
export function serve({ name, env, pool, caller, listTasks, createTask, getTask }) {
  async function route(req) {
    const url = new URL(req.url, 'http://x');
    let m;
    if (req.method === 'GET' && url.pathname === '/health') return [200, { status: 'ok' }];
    if ((m = url.pathname.match(/^\/api\/projects\/(\d+)\/tasks$/))) {
      const who = await caller(req);
      if (req.method === 'GET') return listTasks(who, Number(m[1]), url);
      if (req.method === 'POST') return createTask(who, Number(m[1]), await readJson(req));
    } else if (req.method === 'GET' && (m = url.pathname.match(/^\/api\/tasks\/(\d+)$/))) {
      return getTask(await caller(req), Number(m[1]));
    }
    throw new HttpError(404, 'Not found');
  }

  const handle = (req, res) => {
    route(req).then(
      ([status, body, headers = {}]) => res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body)),
      (err) => {
        const status = err instanceof HttpError ? err.status : 500;
        if (status === 500) console.error(err);
        res.writeHead(status, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ title: err.message, status }));
      },
    );
  };
  const admission = admissionOf(env);
  const server = createServer(admission ? (req, res) => admission(req, res, handle) : handle);
  server.keepAliveTimeout = 65_000;
  // The same listen backlog (LISTEN_BACKLOG) and listening sockets (LISTEN_SOCKETS, src/http/listen.ts) as TaskFlow,
  // so a burst of new connections meets the same kernel queues and is accepted as fast.
  const sockets = Number(env.LISTEN_SOCKETS ?? (process.platform === 'linux' ? 64 : 1));
  const port = Number(env.PORT ?? 3100);
  const extra = [];
  server.listen({ port, host: '127.0.0.1', backlog: 4096, reusePort: sockets > 1 }, () => {
    for (let i = 1; i < sockets; i++) {
      extra.push(createNetServer((socket) => server.emit('connection', socket)).listen({ port: server.address().port, host: '127.0.0.1', backlog: 4096, reusePort: true }));
    }
    console.log(`${name} listening on ${server.address().port} (${sockets} sockets)`);
  });
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.once(signal, () => {
      for (const listener of extra) listener.close();
      server.close();
      server.closeAllConnections();
      pool.end().then(() => process.exit(0));
    });
  }
  return server;
}

/**
 * The least a hand-written server does to refuse what it cannot serve in time, for the overload rows of
 * `make bench`: with MAX_IN_FLIGHT > 0, at most that many /api requests run, at most MAX_QUEUE wait first come
 * first served, none waits longer than MAX_QUEUE_WAIT_MS (1000), and anything beyond is answered at once with 503,
 * a Retry-After of 1–3 s and a short problem — TaskFlow's bounds and answer (src/http/admission.ts) without its
 * metrics, logging, or pause of a refused connection. Off (undefined) without MAX_IN_FLIGHT.
 */
function admissionOf(env) {
  const maxInFlight = Number(env.MAX_IN_FLIGHT ?? 0);
  if (!(maxInFlight > 0)) return undefined;
  const maxQueue = Number(env.MAX_QUEUE ?? 100);
  const maxWaitMs = Number(env.MAX_QUEUE_WAIT_MS ?? 1000);
  let inFlight = 0;
  const queue = [];
  const refuse = (res) => {
    const retryAfter = 1 + Math.floor(Math.random() * 3);
    res.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': String(retryAfter) })
      .end(JSON.stringify({ title: 'Overloaded', status: 503, detail: `retry in ${retryAfter} s` }));
  };
  const run = (req, res, handle) => {
    inFlight++;
    res.once('close', () => {
      inFlight--;
      while (inFlight < maxInFlight && queue.length) {
        const next = queue.shift();
        clearTimeout(next.timer);
        if (!next.res.destroyed) run(next.req, next.res, handle);
      }
    });
    handle(req, res);
  };
  return (req, res, handle) => {
    if (!req.url.startsWith('/api/')) return handle(req, res);
    if (inFlight < maxInFlight) return run(req, res, handle);
    if (queue.length >= maxQueue) return refuse(res);
    const waiting = { req, res };
    waiting.timer = setTimeout(() => {
      const at = queue.indexOf(waiting);
      if (at >= 0) queue.splice(at, 1);
      refuse(res);
    }, maxWaitMs);
    queue.push(waiting);
  };
}
