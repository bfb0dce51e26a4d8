/**
 * Abuse limits and what the server gives away: rate limits with 429 and the RateLimit headers, statement
 * timeouts as 503, security headers on every answer, no stack traces or SQL in production bodies, and no
 * credentials in the log.
 */
import pg from 'pg';
import { sql } from 'slonik';
import {
  BackendTerminatedError,
  ConnectionError,
  StatementTimeoutError,
  UniqueIntegrityConstraintViolationError,
} from 'slonik';
import { toProblem } from '../../src/http/errors.js';
import { ProblemError } from '../../src/http/problem.js';
import { startTestApp, type ApiUser, type RawResponse, type TestApp } from '../helpers/app.js';
import { contractDocument } from '../helpers/contract.js';
import { serverTally, sleep } from './support.js';

const PROBLEM = 'https://taskflow.dev/problems/';

/** A pg DatabaseError-like object, as the driver hands them to slonik. */
const pgError = (code: string, message: string) => Object.assign(new Error(message), { code, severity: 'ERROR' });

describe('rate limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { RATE_LIMIT_PER_MINUTE: '5', RATE_LIMIT_ANONYMOUS_PER_MINUTE: '3' } });
  });
  afterAll(() => t?.close());

  /** The contract's RateLimit / RateLimit-Policy header schemas (components.headers): what clients are told to parse. */
  const declared = (contractDocument as unknown as { components: { headers: Record<string, { schema: { pattern: string; example: string } }> } }).components.headers;
  const expectRateLimitHeaders = (res: RawResponse, policy: string, quota: number) => {
    expect(res.headers.get('ratelimit-policy')).toBe(`"${policy}";q=${quota};w=60`);
    expect(res.headers.get('ratelimit')).toMatch(new RegExp(`^"${policy}";r=\\d+;t=\\d+$`));
    expect(res.headers.get('ratelimit')).toMatch(new RegExp(declared.RateLimit!.schema.pattern, 'u'));
    expect(res.headers.get('ratelimit-policy')).toMatch(new RegExp(declared.RateLimitPolicy!.schema.pattern, 'u'));
  };

  it('the contract documents the format the server sends: its examples match the declared patterns', () => {
    for (const name of ['RateLimit', 'RateLimitPolicy']) {
      const { pattern, example } = declared[name]!.schema;
      expect(example).toMatch(new RegExp(pattern, 'u'));
    }
    expect(declared.RateLimitPolicy!.schema.example).toBe('"user";q=600;w=60'); // the default RATE_LIMIT_PER_MINUTE
  });

  it('per user: RATE_LIMIT_PER_MINUTE requests, then 429 with Retry-After, RateLimit and RateLimit-Policy; other users unaffected', async () => {
    const alice = await t.user('rl-alice');
    const bob = await t.user('rl-bob');
    for (let i = 0; i < 5; i++) {
      const ok = await alice.request('GET', '/api/me');
      expect(ok.status).toBe(200);
      expectRateLimitHeaders(ok, 'user', 5);
      expect(ok.headers.get('ratelimit')).toMatch(new RegExp(`^"user";r=${4 - i};`));
    }
    const limited = await alice.request('GET', '/api/me');
    expect(limited).toMatchObject({ status: 429, body: { type: PROBLEM + 'rate-limited' } });
    expect(limited.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expectRateLimitHeaders(limited, 'user', 5);
    expect(limited.headers.get('ratelimit')).toMatch(/^"user";r=0;/);
    // Writes are refused too, and change nothing.
    const write = await alice.request('POST', '/api/projects', { body: { slug: 'limited', name: 'Limited' } });
    expect(write.status).toBe(429);
    expect((await t.pool.anyFirst(sql.unsafe`select slug from project where slug = 'limited'`)).length).toBe(0);
    expect((await bob.request('GET', '/api/me')).status).toBe(200);
  });

  it('per IP before authentication: failed authentications are limited, valid tokens from the same IP are not', async () => {
    for (let i = 0; i < 3; i++) {
      const denied = await t.request('GET', '/api/me', { headers: { authorization: `Bearer guess-${i}` } });
      expect(denied.status).toBe(401);
      expect(denied.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expectRateLimitHeaders(denied, 'anonymous', 3);
    }
    const limited = await t.request('GET', '/api/me', { headers: { authorization: 'Bearer guess-4' } });
    expect(limited).toMatchObject({ status: 429, body: { type: PROBLEM + 'rate-limited' } });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expectRateLimitHeaders(limited, 'anonymous', 3);
    const noToken = await t.request('GET', '/api/projects');
    expect(noToken.status).toBe(429);
    // A user behind the same IP (NAT, proxy) with a valid token is not locked out by someone else's guessing.
    const carol = await t.user('rl-carol');
    expect((await carol.request('GET', '/api/me')).status).toBe(200);
    // Public endpoints stay reachable for load balancers.
    expect((await t.request('GET', '/health')).status).toBe(200);
  });

  it('0 turns a limit off (the default in tests)', async () => {
    const open = await startTestApp();
    try {
      const dave = await open.user('rl-dave');
      const answers = await Promise.all(Array.from({ length: 30 }, () => dave.request('GET', '/api/me')));
      expect(answers.every((a) => a.status === 200 && !a.headers.has('ratelimit'))).toBe(true);
    } finally {
      await open.close();
    }
  });
});

describe('statement timeouts', () => {
  it.each([
    ['StatementTimeoutError', new StatementTimeoutError(pgError('57014', 'canceling statement due to statement timeout'))],
    ['ConnectionError', new ConnectionError('connect ECONNREFUSED 127.0.0.1:5432')],
    ['BackendTerminatedError', new BackendTerminatedError(pgError('57P01', 'terminating connection due to administrator command'))],
    ['a raw ECONNRESET', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['too many connections (53300)', pgError('53300', 'sorry, too many clients already')],
    ['the database starting up (57P03)', pgError('57P03', 'the database system is starting up')],
  ])('%s → 503 unavailable with Retry-After, no driver text', (_name, err) => {
    const mapped = toProblem(err);
    expect(mapped.problem).toMatchObject({ status: 503, type: PROBLEM + 'unavailable' });
    expect(mapped.headers['Retry-After']).toMatch(/^\d+$/);
    expect(JSON.stringify(mapped.problem)).not.toMatch(/statement timeout|ECONN|administrator|too many clients|starting up|5432/);
  });

  it('an unknown error is a 500 that repeats none of its message; a ProblemError passes through', () => {
    const mapped = toProblem(new Error('relation "task" does not exist at character 15: select * from task'));
    expect(mapped).toMatchObject({ unexpected: true, problem: { status: 500, type: PROBLEM + 'internal' } });
    expect(JSON.stringify(mapped.problem)).not.toMatch(/relation|select|character/);
    expect(toProblem(new ProblemError('task-not-found')).problem.status).toBe(404);
    const unique = new UniqueIntegrityConstraintViolationError(Object.assign(pgError('23505', 'duplicate key'), { constraint: 'project_tenant_slug_key' }) as never);
    expect(toProblem(unique).problem.type).toBe(PROBLEM + 'slug-taken');
  });

  it('a statement that waits past DB_STATEMENT_TIMEOUT_MS (a lock held elsewhere) answers 503 and changes nothing', async () => {
    const t = await startTestApp({ env: { DB_STATEMENT_TIMEOUT_MS: '500' } });
    const blocker = new pg.Client({ connectionString: t.db.url });
    try {
      const alice = await t.user('st-alice');
      const project = await alice.request('POST', '/api/projects', { body: { slug: 'locked', name: 'Locked' } });
      await blocker.connect();
      await blocker.query('begin');
      await blocker.query('select 1 from project where id = $1 for update', [project.body.id]);
      const started = Date.now();
      const res = await alice.request('PATCH', `/api/projects/${project.body.id}`, { body: { name: 'Never' } });
      const took = Date.now() - started;
      expect(res).toMatchObject({ status: 503, body: { type: PROBLEM + 'unavailable' } });
      expect(res.headers.get('retry-after')).toBeTruthy();
      expect(took).toBeGreaterThanOrEqual(400);
      expect(took).toBeLessThan(3_000);
      await blocker.query('rollback');
      expect((await alice.request('GET', `/api/projects/${project.body.id}`)).body.name).toBe('Locked');
    } finally {
      await blocker.end().catch(() => {});
      await t.close();
    }
  });
});

describe('what responses give away', () => {
  let t: TestApp;
  let alice: ApiUser;
  const lines: string[] = [];
  beforeAll(async () => {
    t = await startTestApp({ env: { NODE_ENV: 'production' }, logDestination: { write: (line) => void lines.push(line) } });
    alice = await t.user('prod-alice');
  });
  afterAll(async () => {
    if (!t) return;
    await serverTally(t, 'production responses (the 500 and 503 are forced)');
    await t.close();
  });

  it.each([
    ['a success', 'GET', '/api/me', undefined, undefined],
    ['a 401', 'GET', '/api/me', 'anonymous', undefined],
    ['a 404 route', 'GET', '/api/nope', undefined, undefined],
    ['a 413', 'POST', '/api/projects', undefined, 'x'.repeat(1024 * 1024 + 10)],
    ['a 415', 'POST', '/api/projects', undefined, 'slug=x'],
    ['a 422', 'GET', '/api/tasks/abc', undefined, undefined],
  ])('security headers on %s', async (_name, method, path, who, rawBody) => {
    const headers: Record<string, string> = rawBody === undefined ? {} : { 'content-type': rawBody.startsWith('slug') ? 'application/x-www-form-urlencoded' : 'application/json' };
    const res = who === 'anonymous' ? await t.request(method, path, { headers }) : await alice.request(method, path, { rawBody, headers });
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('in production a failing query answers a bare 500: no stack trace, no SQL, no driver message', async () => {
    await t.pool.query(sql.unsafe`alter table project rename to project_gone`);
    try {
      const res = await alice.request('GET', '/api/projects');
      expect(res).toMatchObject({ status: 500, body: { type: PROBLEM + 'internal', title: 'Internal server error', detail: 'Something went wrong on our side' } });
      expect(Object.keys(res.body).sort()).toEqual(['detail', 'instance', 'status', 'title', 'type']);
      expect(JSON.stringify(res.body)).not.toMatch(/select|from|relation|project_gone|does not exist|\bat \S+:\d+|node_modules|\.ts:/i);
      // The log has what an operator needs; the client does not.
      expect(lines.some((l) => l.includes('relation \\"project\\" does not exist'))).toBe(true);
    } finally {
      await t.pool.query(sql.unsafe`alter table project_gone rename to project`);
    }
  });

  it('in production an unreachable database answers a bare 503', async () => {
    // The database refuses connections and drops the open ones.
    const bob = await t.user('prod-bob');
    await bob.request('GET', '/api/me');
    const admin = new pg.Client({ connectionString: t.db.url.replace(/\/[^/]*$/, '/postgres') });
    await admin.connect();
    await admin.query(`alter database ${t.db.name} allow_connections false`);
    await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [t.db.name]);
    try {
      await sleep(100);
      const res = await bob.request('GET', '/api/projects');
      expect(res).toMatchObject({ status: 503, body: { type: PROBLEM + 'unavailable' } });
      expect(JSON.stringify(res.body)).not.toMatch(/allow|connections|pg_|postgres|127\.0\.0\.1|\d{4,5}\b/);
    } finally {
      await admin.query(`alter database ${t.db.name} allow_connections true`);
      await admin.end();
    }
  });

  it('the Authorization header, the token and the Idempotency-Key never reach the log', async () => {
    const before = lines.length;
    const forged = `${alice.token.slice(0, -6)}AAAAAA`;
    await alice.request('GET', '/api/me');
    await alice.request('POST', '/api/projects', { body: { slug: 'logged', name: 'Logged' }, headers: { 'idempotency-key': 'secret-key-7f3a9c' } });
    await alice.request('GET', '/api/tasks/abc');
    await t.request('GET', '/api/me', { headers: { authorization: `Bearer ${forged}` } });
    await t.request('GET', '/api/me', { headers: { authorization: 'Basic dXNlcjpwYXNzd29yZA==' } });
    const logged = lines.slice(before).join('\n');
    expect(lines.length - before).toBeGreaterThanOrEqual(5);
    for (const secret of [alice.token, forged, alice.token.split('.')[2]!, 'dXNlcjpwYXNzd29yZA==', 'secret-key-7f3a9c']) expect(logged).not.toContain(secret);
    expect(logged.toLowerCase()).not.toContain('authorization');
  });
});
