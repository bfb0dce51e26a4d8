/**
 * Rate limits shared by every instance: two app instances on one Redis (or one PostgreSQL) enforce ONE budget
 * per user; when Redis goes away mid-run every request is still answered (counted by the local limiter), the
 * outage is logged once and shown on /metrics, and sharing resumes when Redis is back. Each suite starts its own
 * redis-server on a free port.
 */
import { sql } from 'slonik';
import { startTestApp, type ApiUser, type TestApp } from '../helpers/app.js';
import { hasRedisServer, startRedis, type TestRedis } from '../helpers/redis.js';
import { signIn } from '../helpers/users.js';
import { sleep } from './support.js';

const PROBLEM = 'https://taskflow.dev/problems/';

async function metric(t: TestApp, name: string): Promise<number> {
  const res = await t.request<string>('GET', '/metrics');
  const line = res.body.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

/** The same user (same token) on two instances: requests alternate between them. */
async function alternate(a: ApiUser, b: ApiUser, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push((await (i % 2 === 0 ? a : b).request('GET', '/api/me')).status);
  return statuses;
}

const describeRedis = hasRedisServer() ? describe : describe.skip;
if (!hasRedisServer()) console.warn('redis-server is not installed (apt-get install redis-server; .ci/run installs it): Redis cases not run');

describeRedis('rate limits in Redis', () => {
  let redis: TestRedis;
  let one: TestApp;
  let two: TestApp;

  beforeAll(async () => {
    redis = await startRedis();
    const env = { REDIS_URL: redis.url, RATE_LIMIT_PER_MINUTE: '6', RATE_LIMIT_ANONYMOUS_PER_MINUTE: '4' };
    one = await startTestApp({ env });
    two = await startTestApp({ env, databaseUrl: one.db.url, sso: one.sso });
  }, 120_000);
  afterAll(async () => {
    await two?.close();
    await one?.close();
    await redis?.stop();
  });

  it('two instances enforce one per-user budget: 6 requests in all, then 429 on both', async () => {
    const onOne = await signIn(one, 'rl-shared-alice'); // 1 request on instance one
    const onTwo = { ...onOne, request: (m: string, p: string) => two.request(m, p, { headers: { authorization: `Bearer ${onOne.token}` } }) } as ApiUser;
    expect(await alternate(onTwo, onOne, 5)).toEqual([200, 200, 200, 200, 200]);
    const limitedTwo = await onTwo.request('GET', '/api/me');
    const limitedOne = await onOne.request('GET', '/api/me');
    for (const limited of [limitedOne, limitedTwo]) {
      expect(limited).toMatchObject({ status: 429, body: { type: PROBLEM + 'rate-limited' } });
      expect(limited.headers.get('ratelimit')).toMatch(/^"user";r=0;/);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    // Another user has a budget of their own.
    expect((await (await signIn(two, 'rl-shared-bob')).request('GET', '/api/me')).status).toBe(200);
    expect(await metric(one, 'taskflow_rate_limit_store_up')).toBe(1);
  });

  it('failed authentications from one IP are counted across instances too', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await (i % 2 ? two : one).request('GET', '/api/me', { headers: { authorization: `Bearer guess-${i}` } })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
  });

  it('Redis stopped mid-run: no request is lost or fails, the outage is logged once and shown on /metrics, sharing resumes', async () => {
    const openLog: string[] = [];
    const open = await startTestApp({
      env: { REDIS_URL: redis.url, RATE_LIMIT_PER_MINUTE: '10000' },
      databaseUrl: one.db.url,
      sso: one.sso,
      logDestination: { write: (line) => void openLog.push(line) },
    });
    try {
      const carol = await signIn(open, 'rl-outage-carol');
      const statuses: number[] = [];
      const created: number[] = [];
      const burst = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const res = await carol.request('POST', `/api/projects/${carol.projectId}/tasks`, { body: { title: `During ${statuses.length}` } });
          statuses.push(res.status);
          if (res.status === 201) created.push(res.body.id);
        }
      };
      await burst(10);
      const stopping = redis.stop();
      await Promise.all([burst(20), stopping]);
      await burst(20); // Redis is down for all of these
      expect(await metric(open, 'taskflow_rate_limit_store_up')).toBe(0);
      expect(await metric(open, 'taskflow_rate_limit_local_decisions_total')).toBeGreaterThanOrEqual(20);
      await redis.start();
      for (let i = 0; i < 100 && (await metric(open, 'taskflow_rate_limit_store_up')) !== 1; i++) {
        await burst(1);
        await sleep(50);
      }
      expect(await metric(open, 'taskflow_rate_limit_store_up')).toBe(1);
      await burst(10);

      expect(statuses.filter((s) => s !== 201)).toEqual([]);
      const stored = await one.pool.anyFirst(sql.unsafe`select id from task where project_id = ${carol.projectId}`);
      expect([...stored].sort()).toEqual([...created].sort());
      const mine = openLog.filter((l) => l.includes('rate-limit store'));
      expect(mine.filter((l) => l.includes('unreachable'))).toHaveLength(1);
      expect(mine.filter((l) => l.includes('reachable again'))).toHaveLength(1);
      // Shared again: the counter in Redis has this user's requests since the restart.
      expect((await carol.request('GET', '/api/me')).headers.get('ratelimit')).toMatch(/^"user";r=\d+;/);
    } finally {
      await open.close();
    }
  }, 120_000);

  it('an instance starting while Redis is unreachable serves with local limits', async () => {
    const nowhere = startTestApp({
      env: { REDIS_URL: 'redis://127.0.0.1:1', RATE_LIMIT_PER_MINUTE: '3' },
      databaseUrl: one.db.url,
      sso: one.sso,
    });
    const t = await nowhere;
    try {
      const dave = await t.user('rl-local-dave');
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await dave.request('GET', '/api/me')).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      expect(await metric(t, 'taskflow_rate_limit_store_up')).toBe(0);
    } finally {
      await t.close();
    }
  }, 120_000);
});

describe('rate limits in PostgreSQL (RATE_LIMIT_STORE=postgres)', () => {
  let one: TestApp;
  let two: TestApp;
  beforeAll(async () => {
    const env = { RATE_LIMIT_STORE: 'postgres', RATE_LIMIT_PER_MINUTE: '4' };
    one = await startTestApp({ env });
    two = await startTestApp({ env, databaseUrl: one.db.url, sso: one.sso });
  }, 120_000);
  afterAll(async () => {
    await two?.close();
    await one?.close();
  });

  it('two instances on one database enforce one per-user budget; no user id is stored', async () => {
    const onOne = await signIn(one, 'rl-pg-erin');
    const onTwo = { ...onOne, request: (m: string, p: string) => two.request(m, p, { headers: { authorization: `Bearer ${onOne.token}` } }) } as ApiUser;
    expect(await alternate(onTwo, onOne, 3)).toEqual([200, 200, 200]);
    expect((await onTwo.request('GET', '/api/me')).status).toBe(429);
    expect((await onOne.request('GET', '/api/me')).status).toBe(429);
    const keys = await one.pool.anyFirst(sql.unsafe`select key from rate_limit`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.join(' ')).not.toMatch(/erin/);
  });
});
