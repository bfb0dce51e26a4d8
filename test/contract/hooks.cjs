/**
 * Dredd hooks for `make contract` (test/contract/run.mjs starts the server and passes the CONTRACT_* variables).
 *
 * Every transaction Dredd derives from the contract (path × method × documented status × media type) is either
 *  - exercised: `beforeEach` mints a fresh token, creates through the API whatever the transaction needs (a
 *    project, an agent, a task in `review`, a membership to remove…), and rewrites the request — path ids, query,
 *    headers, body — so that the server answers exactly that status; or
 *  - skipped, with a one-line reason (SKIP below): only statuses a healthy server cannot be made to answer.
 * A transaction the hooks know nothing about (an operation or status added to the contract later) fails with
 * "no arrangement", so nothing is left untested by accident.
 *
 * Error statuses are arranged generically where the contract's meaning is the same everywhere (GENERIC): no
 * Authorization → 401, broken JSON → 400, a 1.1 MiB body → 413, text/plain → 415, a stale If-Match → 412, an
 * unknown id → 404, an invalid field → 422; and per operation where it is specific (403 as a non-owner member,
 * 409 for each conflict the contract documents). Problem responses must carry the expected problem `type` and
 * repeat the HTTP status.
 *
 * Response bodies are validated against the contract's JSON Schema and required headers are checked by
 * schema-check.cjs. `afterAll` writes the coverage report that run.mjs prints.
 */
'use strict';

const hooks = require('hooks');
const { randomUUID } = require('node:crypto');
const { writeFileSync } = require('node:fs');
const { importJWK, SignJWT } = require('jose');
const pg = require('pg');
const schemaCheck = require('./schema-check.cjs');

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the contract tests with \`make contract\` (test/contract/run.mjs)`);
  return value;
};
const SERVER = env('CONTRACT_SERVER_URL');
const SIGNING = JSON.parse(env('CONTRACT_SIGNING_KEY'));
const DATABASE_URL = env('CONTRACT_DATABASE_URL');
const METRICS_TOKEN = env('CONTRACT_METRICS_TOKEN');
const REPORT = env('CONTRACT_REPORT');

const doc = schemaCheck.loadContract();
schemaCheck.install(hooks, { doc });

// ------------------------------------------------------------------------------------------- skips

/**
 * The only transactions not exercised, and why (one line each: it is printed in the coverage table).
 *  429: the run turns the limits off (RATE_LIMIT_PER_MINUTE=0, RATE_LIMIT_ANONYMOUS_PER_MINUTE=0) so that the
 *       few hundred fixture and test requests of a few seconds are not throttled.
 *  500: a healthy production build has no test-only switch to make it fail unexpectedly, on purpose.
 *  503: the database (or the SSO's signing keys) would have to be unreachable, and every other transaction
 *       of the run needs them up.
 * Anything else that is not arranged fails.
 */
const SKIP = {
  429: 'rate limits are off in this run (RATE_LIMIT_*=0)',
  500: 'needs an unexpected server fault; no test-only switch in a production build',
  503: 'needs the database or the SSO signing keys unreachable; the run needs them up',
};

/**
 * Operations not driven by Dredd at all, and why. POST /chatkit is a streaming protocol endpoint (its answers
 * depend on a model and on the request type inside the body, which Dredd cannot vary per transaction); its
 * conformance to the ChatKit wire format is checked by the jest suites in test/chat/.
 */
const SKIP_OPERATIONS = {
  'POST /chatkit': 'ChatKit protocol endpoint: conformance covered by test/chat/*.test.ts',
};

// ------------------------------------------------------------------------------------------- tokens and calls

const TENANT = 'contract';
const USERS = {
  owner: { sub: 'contract-owner', email: 'owner@contract.test', name: 'Contract Owner' },
  member: { sub: 'contract-member', email: 'member@contract.test', name: 'Contract Member' },
};
let signingKey;

/** A fresh token for every call: the claims Better Auth sets, signed with the key the server's JWKS publishes. */
async function mint(user) {
  signingKey ??= await importJWK(SIGNING.privateJwk, 'EdDSA');
  return new SignJWT({ email: user.email, name: user.name, tenant_id: TENANT })
    .setProtectedHeader({ alg: 'EdDSA', kid: SIGNING.kid, typ: 'JWT' })
    .setSubject(user.sub)
    .setIssuer(SIGNING.issuer)
    .setAudience(SIGNING.audience)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(signingKey);
}

const userOf = (as) => (typeof as === 'string' ? USERS[as] : as);

/** A request to the server under test, for fixtures. `expect` makes an unexpected status an error. */
async function api(method, path, { as = 'owner', body, headers = {}, expect } = {}) {
  const h = { ...headers };
  if (as) h.Authorization = `Bearer ${await mint(userOf(as))}`;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const res = await fetch(`${SERVER}${path}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (expect !== undefined && res.status !== expect) {
    throw new Error(`fixture ${method} ${path} answered ${res.status}, expected ${expect}: ${text.slice(0, 300)}`);
  }
  return { status: res.status, headers: res.headers, body: json, etag: res.headers.get('etag') };
}

const RUN = Date.now().toString(36);
let counter = 0;
const uniq = () => `${RUN}-${++counter}`;
const MISSING_ID = 2_000_000_000; // a valid id no fixture ever reaches
/** An event cursor past the end of any event log this run can have: 410 cursor-expired. */
const FUTURE_CURSOR = Buffer.from(JSON.stringify(['events', 1, '999999999999', 1])).toString('base64url');

// ------------------------------------------------------------------------------------------- fixtures

/** Shared fixtures, created once in beforeAll; per-transaction ones are created by the arrangements. */
const S = {};

async function createProject(as = 'owner') {
  const r = await api('POST', '/api/projects', {
    as,
    body: { slug: `contract-${uniq()}`, name: `Contract project ${counter}`, description: 'Created by make contract' },
    expect: 201,
  });
  return { ...r.body, etag: r.etag };
}

async function createAgent() {
  const r = await api('POST', '/api/agents', {
    body: { handle: `@contract-bot-${uniq()}`, name: `Contract bot ${counter}`, agent_type: 'claude', capabilities: ['code-review'] },
    expect: 201,
  });
  return { ...r.body, etag: r.etag };
}

async function addAgent(projectId, agentId) {
  return (await api('POST', `/api/projects/${projectId}/members`, { body: { agent_id: agentId }, expect: 201 })).body;
}

async function createWebhook() {
  const r = await api('POST', `/api/projects/${S.project.id}/webhooks`, { body: { url: `https://hooks.example.com/contract-${uniq()}` }, expect: 201 });
  return { ...r.body, etag: r.etag };
}

async function webhookWithEtag() {
  const hook = await createWebhook();
  return { params: { project_id: S.project.id, webhook_id: hook.id }, ifMatch: hook.etag };
}

async function createTask(projectId = S.project.id, extra = {}) {
  const r = await api('POST', `/api/projects/${projectId}/tasks`, { body: { title: `Contract task ${uniq()}`, ...extra }, expect: 201 });
  return { ...r.body, etag: r.etag };
}

/** Walks a task through the workflow; keeps its ETag current. */
async function moveTask(task, ...statuses) {
  for (const status of statuses) {
    const r = await api('PATCH', `/api/tasks/${task.id}/status`, { body: { status }, expect: 200 });
    Object.assign(task, r.body, { etag: r.etag });
  }
  return task;
}

/** A notification of the owner: the member assigns them a task, and the inbox consumer produces it (async). */
async function createNotification() {
  const task = (await api('POST', `/api/projects/${S.project.id}/tasks`, {
    as: 'member', body: { title: `Contract notification ${uniq()}`, assignee_id: S.owner.worker.id }, expect: 201,
  })).body;
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    const n = (await api('GET', '/api/notifications', { expect: 200 })).body.items.find((x) => x.task_id === task.id);
    if (n) return n;
  }
  throw new Error(`no notification for task ${task.id} within 15 s`);
}

const taskIn = async (status) => {
  const task = await createTask();
  if (status === 'in_progress') await moveTask(task, 'in_progress');
  if (status === 'review') await moveTask(task, 'in_progress', 'review');
  return task;
};

/**
 * Holds a row lock on a project so that inserting a task into it (its foreign key check) waits; `blocked()`
 * resolves once some other session, the server's, is waiting behind it.
 */
async function holdProject(projectId) {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  const release = async () => {
    try {
      await client.query('rollback');
    } finally {
      await client.end();
    }
  };
  try {
    await client.query('begin');
    await client.query('select id from project where id = $1 for update', [projectId]);
    const { rows } = await client.query('select pg_backend_pid() as pid');
    const blocked = async () => {
      const watcher = new pg.Client({ connectionString: DATABASE_URL });
      await watcher.connect();
      try {
        for (const deadline = Date.now() + 5000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
          const waiting = await watcher.query('select 1 from pg_stat_activity where $1 = any(pg_blocking_pids(pid))', [rows[0].pid]);
          if (waiting.rowCount) return;
        }
        throw new Error('the first request never reached the task insert (nothing waited on the held project row)');
      } finally {
        await watcher.end();
      }
    };
    return { release, blocked };
  } catch (err) {
    await release();
    throw err;
  }
}

/**
 * 409 idempotency-in-flight, for real: a first request with the key is sent and held inside the server (its
 * task insert waits on a row lock this hook holds); Dredd then sends the same request with the same key.
 * Afterwards the lock is released and the first request must complete with `firstStatus`.
 */
async function inFlight(path, body, projectId, firstStatus = 201) {
  const key = randomUUID();
  const hold = await holdProject(projectId);
  let first;
  try {
    first = api('POST', path, { body, headers: { 'Idempotency-Key': key } });
    first.catch(() => {}); // awaited in `after`
    await hold.blocked();
  } catch (err) {
    await hold.release();
    throw err;
  }
  return {
    body,
    headers: { 'Idempotency-Key': key },
    expectType: 'idempotency-in-flight',
    after: async () => {
      await hold.release();
      const r = await first;
      if (r.status !== firstStatus) throw new Error(`the first request with the same Idempotency-Key ended with ${r.status}, expected ${firstStatus}`);
    },
  };
}

/**
 * 409 idempotency-in-flight where no row can be held to keep a first request waiting (a ping, marking
 * notifications read): the hook takes the key's own lock, the transaction-scoped advisory lock runIdempotent tries
 * (src/idempotency/idempotency.sql.ts), exactly as a first request with the key would hold it while it runs.
 */
async function keyInFlight(arrangement) {
  const key = randomUUID();
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  const release = async () => {
    try {
      await client.query('rollback');
    } finally {
      await client.end();
    }
  };
  try {
    await client.query('begin');
    await client.query('select pg_advisory_xact_lock(hashtext($1 || chr(10) || $2), hashtext($3))', [S.owner.tenant_id, S.owner.user_id, key]);
  } catch (err) {
    await release();
    throw err;
  }
  return { ...arrangement, headers: { ...arrangement.headers, 'Idempotency-Key': key }, expectType: 'idempotency-in-flight', after: release };
}

hooks.beforeAll((transactions, done) => {
  (async () => {
    S.owner = (await api('GET', '/api/me', { expect: 200 })).body;
    S.member = (await api('GET', '/api/me', { as: 'member', expect: 200 })).body;
    S.project = await createProject();
    await api('POST', `/api/projects/${S.project.id}/members`, { body: { user_id: USERS.member.sub }, expect: 201 });
    S.agent = await createAgent();
    await addAgent(S.project.id, S.agent.id); // assignable, and "in use" for DELETE 409
    const members = (await api('GET', `/api/projects/${S.project.id}/members`, { expect: 200 })).body.items;
    S.ownerMembership = members.find((m) => m.role === 'owner');
    if (!S.ownerMembership) throw new Error(`project ${S.project.id} lists no owner membership`);
    S.task = await createTask(S.project.id, {
      description: 'The shared task of the contract run',
      priority: 'high',
      assignee_id: S.owner.worker.id,
      tags: ['contract', 'launch'],
      due_date: '2030-01-31T17:00:00Z',
    });
    S.subtask = (await api('POST', `/api/tasks/${S.task.id}/subtasks`, { body: { title: 'Shared subtask', assignee_id: S.agent.id }, expect: 201 })).body;
    await moveTask(S.task, 'in_progress');
    S.agentKey = (await api('POST', `/api/agents/${S.agent.id}/keys`, { body: { name: 'Contract run' }, expect: 201 })).body;
  })().then(
    () => done(),
    (err) => {
      S.setupError = err.message;
      hooks.log(`contract fixtures could not be created: ${err.stack}`);
      done();
    },
  );
});

// ------------------------------------------------------------------------------------------- arrangements

/**
 * Per operation: `base` is a valid request that succeeds (the documented 2xx); other keys arrange a status.
 * An arrangement: { as: 'owner' | 'member' | null (no Authorization), params, query, body | rawBody,
 * contentType, headers, ifMatch, expectType, check(body) → message | undefined, after() }.
 */
const OPS = {
  'GET /health': { base: () => ({ as: null }) },
  'GET /health/ready': { base: () => ({ as: null }) },
  'GET /metrics': {
    base: () => ({ as: null, headers: { Authorization: `Bearer ${METRICS_TOKEN}` } }),
    401: () => ({ as: null, headers: { Authorization: 'Bearer not-the-metrics-token' }, expectType: 'unauthorized' }),
  },
  'GET /api/me': {
    base: () => ({ check: (b) => (b.worker?.id === S.owner.worker.id ? undefined : 'not the caller') }),
  },

  // Projects
  'GET /api/projects': {
    base: () => ({ query: { limit: 20 }, check: (b) => (b.items.length ? undefined : 'the owner sees no project') }),
    422: () => ({ query: { limit: 0 }, expectType: 'validation-failed' }),
  },
  'POST /api/projects': {
    base: () => ({ body: { slug: `contract-${uniq()}`, name: 'Created by Dredd', description: null }, headers: { 'Idempotency-Key': randomUUID() } }),
    409: () => ({ body: { slug: S.project.slug, name: 'Same slug' }, expectType: 'slug-taken' }),
    403: () => asAgent({ body: { slug: `contract-${uniq()}`, name: 'Made by an agent' } }),
  },
  'GET /api/projects/{project_id}': {
    base: () => ({ params: { project_id: S.project.id } }),
    // "does not exist or you are not a member": the member's personal project, asked for by the owner
    404: () => ({ params: { project_id: S.member.default_project_id }, expectType: 'project-not-found' }),
  },
  'PATCH /api/projects/{project_id}': {
    base: async () => {
      const p = await createProject();
      return { params: { project_id: p.id }, ifMatch: p.etag, body: { name: 'Renamed by Dredd', description: null } };
    },
    403: () => ({ as: 'member', params: { project_id: S.project.id }, body: { name: 'Not mine to rename' }, expectType: 'forbidden' }),
  },
  'DELETE /api/projects/{project_id}': {
    base: async () => {
      const p = await createProject();
      await createTask(p.id);
      const { etag } = await api('GET', `/api/projects/${p.id}`, { expect: 200 });
      return { params: { project_id: p.id }, query: { force: true }, ifMatch: etag };
    },
    403: () => ({ as: 'member', params: { project_id: S.project.id }, expectType: 'forbidden' }),
    409: async () => {
      const p = await createProject();
      await createTask(p.id);
      return { params: { project_id: p.id }, expectType: 'project-has-tasks' };
    },
  },

  // Members
  'GET /api/projects/{project_id}/members': {
    base: () => ({ params: { project_id: S.project.id }, query: { limit: 50 } }),
  },
  'POST /api/projects/{project_id}/members': {
    base: async () => {
      // a human this time: someone who has signed in (provisioned by their first request)
      const user = { sub: `contract-user-${uniq()}`, email: `user-${counter}@contract.test`, name: 'Contract User' };
      await api('GET', '/api/me', { as: user, expect: 200 });
      return { params: { project_id: S.project.id }, body: { user_id: user.sub }, headers: { 'Idempotency-Key': randomUUID() } };
    },
    403: async () => ({ as: 'member', params: { project_id: S.project.id }, body: { agent_id: (await createAgent()).id }, expectType: 'forbidden' }),
    409: () => ({ params: { project_id: S.project.id }, body: { agent_id: S.agent.id }, expectType: 'already-member' }),
  },
  'DELETE /api/projects/{project_id}/members/{member_id}': {
    base: async () => {
      const membership = await addAgent(S.project.id, (await createAgent()).id);
      return { params: { project_id: S.project.id, member_id: membership.id } };
    },
    403: async () => {
      const membership = await addAgent(S.project.id, (await createAgent()).id);
      return { as: 'member', params: { project_id: S.project.id, member_id: membership.id }, expectType: 'forbidden' };
    },
    404: () => ({ params: { project_id: S.project.id, member_id: MISSING_ID }, expectType: 'member-not-found' }),
    409: () => ({ params: { project_id: S.project.id, member_id: S.ownerMembership.id }, expectType: 'owner-membership' }),
  },
  'GET /api/members/search': {
    base: () => ({ query: { q: 'contract', project_id: S.project.id, limit: 10 } }),
    404: () => ({ query: { q: 'contract', project_id: MISSING_ID }, expectType: 'project-not-found' }),
    422: () => ({ query: { limit: 5 }, expectType: 'validation-failed' }), // `q` is required
  },

  // Agents
  'GET /api/agents': {
    base: () => ({ query: { limit: 20 } }),
    422: () => ({ query: { limit: 101 }, expectType: 'validation-failed' }),
  },
  'POST /api/agents': {
    base: () => ({
      body: { handle: `@contract-new-${uniq()}`, name: 'Registered by Dredd', agent_type: 'qwen', capabilities: ['triage', 'labeling'] },
      headers: { 'Idempotency-Key': randomUUID() },
    }),
    409: () => ({ body: { handle: S.agent.handle, name: 'Same handle', agent_type: 'custom' }, expectType: 'handle-taken' }),
    403: () => asAgent({ body: { handle: `@contract-sneaky-${uniq()}`, name: 'Sneaky', agent_type: 'custom' } }),
  },
  'GET /api/agents/{agent_id}': {
    base: () => ({ params: { agent_id: S.agent.id } }),
  },
  'PATCH /api/agents/{agent_id}': {
    base: async () => {
      const a = await createAgent();
      return { params: { agent_id: a.id }, ifMatch: a.etag, body: { name: 'Renamed bot', capabilities: ['code-review', 'accessibility-audit'] } };
    },
    403: () => asAgent({ params: { agent_id: S.agent.id }, body: { name: 'Renamed by itself' } }),
  },
  'DELETE /api/agents/{agent_id}': {
    base: async () => {
      const a = await createAgent();
      return { params: { agent_id: a.id }, ifMatch: a.etag };
    },
    409: () => ({ params: { agent_id: S.agent.id }, expectType: 'agent-in-use' }),
    403: () => asAgent({ params: { agent_id: S.agent.id } }),
  },

  // Agent API keys
  'GET /api/agents/{agent_id}/keys': {
    base: () => ({ params: { agent_id: S.agent.id }, check: (b) => (b.items.some((k) => k.id === S.agentKey.id) ? undefined : 'the shared key is missing') }),
    403: () => ({ as: 'member', params: { agent_id: S.agent.id }, expectType: 'not-agent-manager' }),
  },
  'POST /api/agents/{agent_id}/keys': {
    base: () => ({
      params: { agent_id: S.agent.id },
      body: { name: `Minted by Dredd ${uniq()}`, expires_at: '2030-01-01T00:00:00Z' },
      check: (b) => (/^tfa_[A-Za-z0-9_-]{43}$/.test(b.secret) && b.secret.startsWith(b.prefix) ? undefined : 'secret or prefix malformed'),
    }),
    403: () => ({ as: 'member', params: { agent_id: S.agent.id }, body: { name: 'Not mine' }, expectType: 'not-agent-manager' }),
  },
  'DELETE /api/agents/{agent_id}/keys/{key_id}': {
    base: async () => {
      const key = (await api('POST', `/api/agents/${S.agent.id}/keys`, { body: { name: `To revoke ${uniq()}` }, expect: 201 })).body;
      return { params: { agent_id: S.agent.id, key_id: key.id } };
    },
    403: () => ({ as: 'member', params: { agent_id: S.agent.id, key_id: S.agentKey.id }, expectType: 'not-agent-manager' }),
  },

  // Tasks
  'GET /api/projects/{project_id}/tasks': {
    base: () => ({ params: { project_id: S.project.id }, query: { status: ['pending', 'in_progress'], sort: '-priority', limit: 20 } }),
  },
  'POST /api/projects/{project_id}/tasks': {
    base: () => ({
      params: { project_id: S.project.id },
      headers: { 'Idempotency-Key': randomUUID() },
      body: {
        title: `Created by Dredd ${uniq()}`,
        description: 'Every field of TaskCreate',
        priority: 'high',
        assignee_id: S.agent.id,
        parent_task_id: S.task.id,
        tags: ['launch', 'copy'],
        due_date: '2030-02-06T17:00:00+01:00',
        recurrence: { pattern: 'weekly', max_occurrences: 3 },
      },
      check: (b) =>
        b.status === 'pending' && Date.parse(b.due_date) === Date.parse('2030-02-06T16:00:00Z') && /Z$/.test(b.due_date)
          ? undefined
          : `expected a pending task due 2030-02-06T16:00:00Z (UTC), got ${b.status} due ${b.due_date}`,
    }),
    409: () => inFlight(`/api/projects/${S.project.id}/tasks`, { title: `In flight ${uniq()}` }, S.project.id).then((a) => ({ ...a, params: { project_id: S.project.id } })),
  },
  'GET /api/tasks': {
    base: () => ({
      query: { assignee_id: 'me', status: ['in_progress'], sort: 'due_date', limit: 20 },
      check: (b) => (b.items.some((t) => t.id === S.task.id) ? undefined : 'the shared task (mine, in progress) is missing'),
    }),
  },
  'GET /api/tasks/{task_id}': {
    base: () => ({ params: { task_id: S.task.id }, check: (b) => (b.subtasks?.some((s) => s.id === S.subtask.id) ? undefined : 'the subtask is missing') }),
  },
  'PATCH /api/tasks/{task_id}': {
    base: async () => {
      const t = await createTask();
      return { params: { task_id: t.id }, ifMatch: t.etag, body: { priority: 'critical', due_date: '2030-02-05T12:00:00Z', tags: ['edited'], description: null } };
    },
  },
  'DELETE /api/tasks/{task_id}': {
    base: async () => {
      const t = await createTask();
      await api('POST', `/api/tasks/${t.id}/subtasks`, { body: { title: 'Goes with its parent' }, expect: 201 });
      const { etag } = await api('GET', `/api/tasks/${t.id}`, { expect: 200 });
      return { params: { task_id: t.id }, ifMatch: etag };
    },
  },
  'PATCH /api/tasks/{task_id}/status': {
    base: async () => {
      const t = await createTask();
      return {
        params: { task_id: t.id }, ifMatch: t.etag, body: { status: 'in_progress' },
        check: (b) => (b.status === 'in_progress' && b.started_at ? undefined : 'expected in_progress with started_at'),
      };
    },
    409: async () => ({ params: { task_id: (await createTask()).id }, body: { status: 'review' }, expectType: 'invalid-transition' }),
  },
  'PATCH /api/tasks/{task_id}/progress': {
    base: async () => {
      const t = await taskIn('in_progress');
      return {
        params: { task_id: t.id }, ifMatch: t.etag, body: { progress_percent: 60, note: 'First draft done' },
        check: (b) => (b.progress_percent === 60 ? undefined : `expected progress 60, got ${b.progress_percent}`),
      };
    },
    409: async () => ({ params: { task_id: (await createTask()).id }, body: { progress_percent: 10 }, expectType: 'not-in-progress' }),
  },
  'PATCH /api/tasks/{task_id}/assign': {
    base: async () => {
      const t = await createTask();
      return {
        params: { task_id: t.id }, ifMatch: t.etag, body: { assignee_id: S.agent.id },
        check: (b) => (b.assignee_id === S.agent.id && b.assignee_handle === S.agent.handle ? undefined : 'not assigned to the agent'),
      };
    },
  },
  'POST /api/tasks/{task_id}/subtasks': {
    base: async () => {
      const parent = await createTask();
      return {
        params: { task_id: parent.id }, headers: { 'Idempotency-Key': randomUUID() }, body: { title: 'Proofread', assignee_id: S.owner.worker.id, tags: ['copy'] },
        check: (b) => (b.parent_task_id === parent.id ? undefined : `parent_task_id is ${b.parent_task_id}, expected ${parent.id}`),
      };
    },
    409: async () => {
      const parent = await createTask();
      return { ...(await inFlight(`/api/tasks/${parent.id}/subtasks`, { title: `In flight ${uniq()}` }, S.project.id)), params: { task_id: parent.id } };
    },
  },
  'POST /api/tasks/{task_id}/approve': {
    base: async () => {
      const t = await taskIn('review');
      return {
        params: { task_id: t.id }, ifMatch: t.etag, headers: { 'Idempotency-Key': randomUUID() },
        check: (b) => (b.status === 'completed' && b.completed_at ? undefined : `expected completed, got ${b.status}`),
      };
    },
    409: async () => ({ params: { task_id: (await createTask()).id }, expectType: 'not-in-review' }),
    403: async () => asAgent({ params: { task_id: (await taskIn('review')).id } }),
  },
  'POST /api/tasks/{task_id}/reject': {
    base: async () => {
      const t = await taskIn('review');
      return {
        params: { task_id: t.id }, ifMatch: t.etag, headers: { 'Idempotency-Key': randomUUID() }, body: { reason: 'Two links still point to staging' },
        check: (b) => (b.status === 'in_progress' && b.last_rejection?.reason === 'Two links still point to staging' ? undefined : `expected back in_progress with last_rejection, got ${b.status}`),
      };
    },
    409: async () => ({ params: { task_id: (await createTask()).id }, body: { reason: 'Not ready' }, expectType: 'not-in-review' }),
    403: async () => asAgent({ params: { task_id: (await taskIn('review')).id }, body: { reason: 'Not mine to judge' } }),
  },
  'POST /api/tasks/{task_id}/claim': {
    base: async () => {
      const t = await createTask();
      return {
        params: { task_id: t.id }, ifMatch: t.etag, headers: { 'Idempotency-Key': randomUUID() },
        check: (b) => (b.status === 'in_progress' && b.assignee_id === S.owner.worker.id ? undefined : `expected in_progress and mine, got ${b.status}`),
      };
    },
    409: async () => ({ params: { task_id: (await createTask(S.project.id, { assignee_id: S.member.worker.id })).id }, expectType: 'already-claimed' }),
  },
  'POST /api/projects/{project_id}/tasks/claim-next': {
    base: async () => {
      const p = await createProject();
      const t = await createTask(p.id, { priority: 'high', tags: ['copy'] });
      return {
        params: { project_id: p.id }, query: { tags: ['copy'], priority: ['high', 'critical'] }, headers: { 'Idempotency-Key': randomUUID() },
        check: (b) => (b.id === t.id ? undefined : `claimed ${b.id}, expected ${t.id}`),
      };
    },
    204: async () => ({ params: { project_id: (await createProject()).id } }),
    409: async () => {
      const p = await createProject();
      await createTask(p.id);
      return { ...(await inFlight(`/api/projects/${p.id}/tasks/claim-next`, undefined, p.id, 200)), params: { project_id: p.id } };
    },
  },

  // Events
  'GET /api/events': {
    base: () => ({ query: { project_id: S.project.id, limit: 50 }, check: (b) => (b.items.length && b.next_cursor ? undefined : 'no events for the shared project') }),
    404: () => ({ query: { project_id: S.member.default_project_id }, expectType: 'project-not-found' }),
    410: () => ({ query: { cursor: FUTURE_CURSOR }, expectType: 'cursor-expired' }),
  },
  'GET /api/events/stream': {
    skip: { 200: 'an endless text/event-stream, which Dredd cannot end; covered by test/events/streamEvents.test.ts' },
    404: () => ({ query: { project_id: S.member.default_project_id }, expectType: 'project-not-found' }),
    410: () => ({ query: { cursor: FUTURE_CURSOR }, expectType: 'cursor-expired' }),
    422: () => ({ query: { cursor: 'not-a-cursor' }, expectType: 'validation-failed' }),
    base: () => ({ query: {} }),
  },

  // Webhooks
  'GET /api/projects/{project_id}/webhooks': {
    base: async () => {
      await createWebhook();
      return { params: { project_id: S.project.id }, query: { limit: 10 }, check: (b) => (b.items.length && b.items.every((w) => !('secret' in w)) ? undefined : 'expected webhooks without secrets') };
    },
    403: () => ({ as: 'member', params: { project_id: S.project.id }, expectType: 'forbidden' }),
  },
  'POST /api/projects/{project_id}/webhooks': {
    409: () => inFlight(`/api/projects/${S.project.id}/webhooks`, { url: `https://hooks.example.com/in-flight-${uniq()}` }, S.project.id).then((a) => ({ ...a, params: { project_id: S.project.id } })),
    base: () => ({
      params: { project_id: S.project.id },
      headers: { 'Idempotency-Key': randomUUID() },
      body: { url: 'https://hooks.example.com/taskflow', event_types: ['task.created', 'task.status_changed'] },
      check: (b) => (/^whsec_/.test(b.secret ?? '') ? undefined : 'the secret is missing from the creation answer'),
    }),
    403: () => ({ as: 'member', params: { project_id: S.project.id }, body: { url: 'https://hooks.example.com/not-mine' }, expectType: 'forbidden' }),
  },
  'GET /api/projects/{project_id}/webhooks/{webhook_id}': {
    base: async () => ({ params: { project_id: S.project.id, webhook_id: (await createWebhook()).id }, check: (b) => ('secret' in b ? 'the secret was shown again' : undefined) }),
    403: async () => ({ as: 'member', params: { project_id: S.project.id, webhook_id: (await createWebhook()).id }, expectType: 'forbidden' }),
  },
  'PATCH /api/projects/{project_id}/webhooks/{webhook_id}': {
    base: async () => ({
      ...(await webhookWithEtag()),
      body: { event_types: ['task.assigned'], rotate_secret: true },
      check: (b) => (/^whsec_/.test(b.secret ?? '') && b.secret_rotated_until ? undefined : 'a rotation must answer the new secret and secret_rotated_until'),
    }),
    403: async () => ({ as: 'member', params: { project_id: S.project.id, webhook_id: (await createWebhook()).id }, body: { active: false }, expectType: 'forbidden' }),
  },
  'DELETE /api/projects/{project_id}/webhooks/{webhook_id}': {
    base: async () => webhookWithEtag(),
    403: async () => ({ as: 'member', params: { project_id: S.project.id, webhook_id: (await createWebhook()).id }, expectType: 'forbidden' }),
  },
  'POST /api/projects/{project_id}/webhooks/{webhook_id}/ping': {
    base: async () => ({ params: { project_id: S.project.id, webhook_id: (await createWebhook()).id }, headers: { 'Idempotency-Key': randomUUID() } }),
    403: async () => ({ as: 'member', params: { project_id: S.project.id, webhook_id: (await createWebhook()).id }, expectType: 'forbidden' }),
    409: async () => keyInFlight({ params: { project_id: S.project.id, webhook_id: (await createWebhook()).id } }),
  },
  'GET /api/projects/{project_id}/webhooks/{webhook_id}/deliveries': {
    base: async () => ({ params: { project_id: S.project.id, webhook_id: (await createWebhook()).id }, query: { limit: 10 } }),
    403: async () => ({ as: 'member', params: { project_id: S.project.id, webhook_id: (await createWebhook()).id }, expectType: 'forbidden' }),
  },

  // Notifications
  'GET /api/notifications': {
    base: async () => {
      await createNotification();
      return { query: { unread: true, limit: 10 }, check: (b) => (b.items.length && b.items.every((n) => n.read_at === null) ? undefined : 'expected unread notifications only') };
    },
  },
  'GET /api/notifications/unread-count': {
    base: async () => {
      await createNotification();
      return { check: (b) => (b.count > 0 ? undefined : 'no unread notification counted') };
    },
  },
  'POST /api/notifications/{notification_id}/read': {
    base: async () => ({ params: { notification_id: (await createNotification()).id }, check: (b) => (b.read_at ? undefined : 'not marked read') }),
    409: async () => keyInFlight({ params: { notification_id: (await createNotification()).id } }),
  },
  'POST /api/notifications/read-all': {
    base: async () => {
      await createNotification();
      return { check: (b) => (b.updated > 0 ? undefined : 'nothing was marked read') };
    },
    409: () => keyInFlight({}),
  },

  // Audit
  'GET /api/tasks/{task_id}/audit': {
    base: () => ({ params: { task_id: S.task.id }, query: { limit: 10 }, check: (b) => (b.items.length ? undefined : 'the task has no audit entries') }),
  },
  'GET /api/projects/{project_id}/audit': {
    base: () => ({ params: { project_id: S.project.id }, query: { entity_type: 'task', limit: 10 }, check: (b) => (b.items.length ? undefined : 'no task entries') }),
  },
};

const NOT_FOUND_TYPES = {
  project_id: 'project-not-found', task_id: 'task-not-found', agent_id: 'agent-not-found', member_id: 'member-not-found',
  webhook_id: 'webhook-not-found', key_id: 'agent-key-not-found', notification_id: 'notification-not-found',
};

/** 403 forbidden-for-agents: the request made with the shared agent's API key (x-forbidden-for-agents). */
const asAgent = (arrangement) => ({ ...arrangement, as: null, headers: { ...arrangement.headers, Authorization: `Bearer ${S.agentKey.secret}` }, expectType: 'forbidden-for-agents' });

/** Statuses whose meaning is the same for every operation: derived from the operation's base request. */
const GENERIC = {
  400: (base) => ({ ...base, body: undefined, rawBody: '{"title": "unterminated', contentType: 'application/json', expectType: 'malformed-json' }),
  401: (base) => ({ ...base, as: null, expectType: 'unauthorized' }),
  412: (base) => {
    if (!base.ifMatch) throw new Error('the base arrangement has no ETag to make stale');
    return { ...base, ifMatch: '"999999"', expectType: 'precondition-failed' };
  },
  304: async (base, contract) => {
    // the ETag the resource has right now, sent back as If-None-Match: the copy is current
    const current = await api('GET', buildPath(contract.path, base.params), { as: base.as ?? 'owner', expect: 200 });
    return { ...base, headers: { ...base.headers, 'If-None-Match': current.etag } };
  },
  413: (base) => ({ ...base, body: undefined, rawBody: JSON.stringify({ title: 'x'.repeat(1_100_000) }), contentType: 'application/json', expectType: 'payload-too-large' }),
  415: (base) => ({ ...base, body: undefined, rawBody: 'title=plain text', contentType: 'text/plain', expectType: 'unsupported-media-type' }),
  404: (base, contract) => {
    const names = pathParams(contract.path);
    const last = names[names.length - 1];
    if (!last) throw new Error('no path parameter to point at something missing');
    return { ...base, params: { ...base.params, [last]: MISSING_ID }, expectType: NOT_FOUND_TYPES[last] ?? 'not-found' };
  },
  422: (base, contract) => {
    // a closed body with an unknown property; else an id below the minimum; else a page size of 0
    if (contract.operation.requestBody) return { ...base, body: { unexpected_property: true }, expectType: 'validation-failed' };
    const names = pathParams(contract.path);
    if (names.length) return { ...base, params: { ...base.params, [names[0]]: 0 }, expectType: 'validation-failed' };
    return { ...base, query: { ...base.query, limit: 0 }, expectType: 'validation-failed' };
  },
};

const pathParams = (template) => [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);

async function arrange(contract) {
  const op = OPS[`${contract.method} ${contract.path}`];
  if (!op) throw new Error(`no arrangement for ${contract.method} ${contract.path}: add it to OPS in test/contract/hooks.cjs`);
  const status = Number(contract.status);
  if (op[status]) return op[status]();
  if (status >= 200 && status < 300) return op.base();
  if (GENERIC[status]) {
    const { check, after, ...base } = await op.base(); // the 2xx checks do not apply to the error
    return GENERIC[status](base, contract);
  }
  throw new Error(`no arrangement for status ${status}: add one to OPS['${contract.method} ${contract.path}'] or a reason to SKIP`);
}

function buildPath(template, params = {}, query) {
  const path = template.replace(/\{([^}]+)\}/g, (_, name) => {
    if (params[name] === undefined) throw new Error(`no value for path parameter ${name}`);
    return encodeURIComponent(String(params[name]));
  });
  const qs = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) qs.append(key, String(v));
  }
  const search = qs.toString();
  return search ? `${path}?${search}` : path;
}

const REPLACED_HEADERS = ['authorization', 'content-type', 'if-match', 'if-none-match', 'idempotency-key', 'content-length', 'last-event-id'];

async function apply(transaction, arrangement) {
  const { contract } = transaction;
  const uri = buildPath(contract.path, arrangement.params, arrangement.query);
  transaction.fullPath = uri;
  transaction.request.uri = uri;
  const headers = Object.fromEntries(Object.entries(transaction.request.headers).filter(([k]) => !REPLACED_HEADERS.includes(k.toLowerCase())));
  const as = arrangement.as === undefined ? 'owner' : arrangement.as;
  if (as) headers.Authorization = `Bearer ${await mint(userOf(as))}`;
  if (arrangement.ifMatch) headers['If-Match'] = arrangement.ifMatch;
  Object.assign(headers, arrangement.headers);
  let body = '';
  if (arrangement.rawBody !== undefined) body = arrangement.rawBody;
  else if (arrangement.body !== undefined) body = JSON.stringify(arrangement.body);
  if (body) headers['Content-Type'] = arrangement.contentType ?? 'application/json';
  transaction.request.headers = headers;
  transaction.request.body = body;
}

// ------------------------------------------------------------------------------------------- the hooks

const arrangements = new Map(); // transaction name → arrangement (for the checks and the cleanup)
const skipReasons = new Map();

hooks.beforeEach((transaction, done) => {
  (async () => {
    const { contract } = transaction;
    if (!contract?.response) return; // schema-check already failed it
    const reason = SKIP_OPERATIONS[`${contract.method} ${contract.path}`] ?? SKIP[contract.status] ?? OPS[`${contract.method} ${contract.path}`]?.skip?.[contract.status];
    if (reason) {
      transaction.skip = true;
      skipReasons.set(transaction.name, reason);
      return;
    }
    if (S.setupError) throw new Error(`shared fixtures failed: ${S.setupError}`);
    const arrangement = await arrange(contract);
    arrangements.set(transaction.name, arrangement);
    await apply(transaction, arrangement);
  })().then(
    () => done(),
    (err) => {
      transaction.fail = `could not arrange this transaction: ${err.message}`;
      done();
    },
  );
});

/** Beyond the schema: the right problem type, the status repeated in the problem, and a few 2xx semantics. */
hooks.beforeEachValidation((transaction) => {
  const arrangement = arrangements.get(transaction.name);
  const real = transaction.real;
  if (!arrangement || !real || String(real.statusCode) !== transaction.contract.status) return;
  let body;
  try {
    body = real.body ? JSON.parse(real.body) : undefined;
  } catch {
    return; // not JSON: the schema check reports it
  }
  const problems = [];
  if (body && /problem\+json/.test(transaction.contract.mediaType ?? '')) {
    const expected = arrangement.expectType && `https://taskflow.dev/problems/${arrangement.expectType}`;
    if (expected && body.type !== expected) problems.push(`problem type is ${body.type}, expected ${expected}`);
    if (body.status !== real.statusCode) problems.push(`problem status ${body.status} differs from the HTTP status ${real.statusCode}`);
  }
  if (arrangement.check && body !== undefined) {
    const message = arrangement.check(body);
    if (message) problems.push(message);
  }
  if (problems.length) transaction.fail = [transaction.fail, ...problems].filter((p) => typeof p === 'string').join('; ');
});

hooks.afterEach((transaction, done) => {
  const arrangement = arrangements.get(transaction.name);
  if (!arrangement?.after) return done();
  arrangement.after().then(
    () => done(),
    (err) => {
      transaction.fail = `cleanup after the request failed: ${err.message}`;
      done();
    },
  );
});

hooks.afterAll((transactions, done) => {
  const rows = transactions.map((t) => {
    const contract = t.contract ?? schemaCheck.describe(doc, t);
    const outcome = t.skip ? 'skipped' : t.test?.status === 'pass' ? 'passed' : 'failed';
    return {
      name: t.name,
      path: contract.path,
      method: contract.method,
      status: contract.status,
      mediaType: contract.mediaType,
      outcome,
      reason: t.skip ? skipReasons.get(t.name) : undefined,
      actualStatus: t.real?.statusCode,
      message: outcome === 'failed' ? t.test?.message || (typeof t.fail === 'string' ? t.fail : 'failed') : undefined,
    };
  });
  writeFileSync(REPORT, JSON.stringify({ transactions: rows }, null, 1));
  done();
});
