/**
 * Admission control: with every slot taken by requests stuck on a row lock and the queue full, a new request is
 * answered 503 `overloaded` with Retry-After at once (while nothing has finished), a queued one after
 * MAX_QUEUE_WAIT_MS; neither writes anything. Health, readiness and metrics are answered throughout, readiness
 * reports the overload, /metrics counts it, and the server serves normally as soon as capacity frees up. A refused
 * connection is not read from for 600 ms, so a client that re-sends at once waits instead of costing the server.
 */
import { connect, type Socket } from 'node:net';
import pg from 'pg';
import { startTestApp, type RawResponse, type TestApp } from '../helpers/app.js';
import { signIn, type SignedIn } from '../helpers/users.js';
import { openStream } from '../events/support.js';
import { rowCounts, sleep } from './support.js';

const PROBLEM = 'https://taskflow.dev/problems/';

/** One sample of the server's own /metrics (no labels, or the given label set). */
async function metric(t: TestApp, name: string, labels = ''): Promise<number> {
  const res = await t.request<string>('GET', '/metrics');
  const line = res.body.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** An HTTP/1.1 keep-alive connection that sends one request at a time and reads each response whole. */
async function rawConnection(url: string) {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let buffered = Buffer.alloc(0);
  let waiting: ((r: { status: number; retryAfter: string | null; answeredAt: number }) => void) | null = null;
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf('\r\n\r\n');
    if (end < 0 || !waiting) return;
    const head = buffered.subarray(0, end).toString('latin1');
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (buffered.length < end + 4 + length) return;
    buffered = buffered.subarray(end + 4 + length);
    const done = waiting;
    waiting = null;
    done({ status: Number(head.split(' ')[1]), retryAfter: /\r\nretry-after: *(\d+)/i.exec(head)?.[1] ?? null, answeredAt: performance.now() });
  });
  return {
    send(path: string, token: string) {
      const sentAt = performance.now();
      const answer = new Promise<{ status: number; retryAfter: string | null; answeredAt: number }>((resolve) => (waiting = resolve));
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${token}\r\n\r\n`);
      return answer.then((a) => ({ ...a, sentAt, ms: a.answeredAt - sentAt }));
    },
    close: () => socket.destroy(),
  };
}

describe('admission control (MAX_IN_FLIGHT=2, MAX_QUEUE=1, MAX_QUEUE_WAIT_MS=1000)', () => {
  let t: TestApp;
  let alice: SignedIn;
  let blocker: pg.Client;
  let taskId: number;

  beforeAll(async () => {
    t = await startTestApp({ env: { MAX_IN_FLIGHT: '2', MAX_QUEUE: '1', MAX_QUEUE_WAIT_MS: '1000' } });
    alice = await signIn(t, 'ov-alice');
    const task = await alice.request('POST', `/api/projects/${alice.projectId}/tasks`, { body: { title: 'Contended' } });
    expect(task.status).toBe(201);
    taskId = task.body.id;
    blocker = new pg.Client({ connectionString: t.db.url });
    await blocker.connect();
  }, 120_000);
  afterAll(async () => {
    await blocker?.end().catch(() => {});
    await t?.close();
  });

  it('sheds what cannot be served, writes nothing for it, keeps the probes answering, and recovers', async () => {
    const before = await rowCounts(t.pool);
    await blocker.query('begin');
    await blocker.query('select 1 from task where id = $1 for update', [taskId]);

    // Two updates take both slots and wait on the lock.
    const stuck = [1, 2].map((n) => alice.request('PATCH', `/api/tasks/${taskId}`, { body: { title: `Stuck ${n}` } }));
    await until('both slots are taken', async () => (await metric(t, 'taskflow_admission_in_flight')) === 2);

    // A creation waits in the queue ...
    const queued = alice.request('POST', `/api/projects/${alice.projectId}/tasks`, { body: { title: 'Queued' } });
    await until('one request is queued', async () => (await metric(t, 'taskflow_admission_queued')) === 1);

    // ... so the next one is refused at once: nothing has finished, the lock is still held.
    const shed: RawResponse = await alice.request('POST', `/api/projects/${alice.projectId}/tasks`, { body: { title: 'Shed' } });
    expect(shed).toMatchObject({ status: 503, body: { type: PROBLEM + 'overloaded', status: 503 } });
    // Retry-After is drawn from 1–3 s, so a burst's refused clients do not come back together; the detail says the same.
    expect(['1', '2', '3']).toContain(shed.headers.get('retry-after'));
    expect(shed.body.detail).toContain(`retry in ${shed.headers.get('retry-after')} s`);
    expect(shed.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(shed.headers.get('x-request-id')).toBeTruthy();
    expect(shed.body.detail).toMatch(/at capacity/);

    // The probes are not subject to admission; readiness tells the load balancer to route around us.
    expect((await t.request('GET', '/health')).status).toBe(200);
    const ready = await t.request('GET', '/health/ready');
    expect(ready).toMatchObject({ status: 503, body: { type: PROBLEM + 'overloaded' } });
    expect(ready.headers.get('retry-after')).toBe('1');

    // The queued creation gives up after MAX_QUEUE_WAIT_MS, still before anything finished.
    const timedOut = await queued;
    expect(timedOut).toMatchObject({ status: 503, body: { type: PROBLEM + 'overloaded' } });
    expect(timedOut.body.detail).toMatch(/within 1000 ms/);
    expect(await metric(t, 'taskflow_admission_shed_total', '{reason="queue_full"}')).toBe(1);
    expect(await metric(t, 'taskflow_admission_shed_total', '{reason="queue_timeout"}')).toBe(1);

    // Nothing was written for either refused request.
    expect(await rowCounts(t.pool)).toEqual(before);

    await blocker.query('rollback');
    const done = await Promise.all(stuck);
    expect(done.map((r) => r.status)).toEqual([200, 200]);
    expect(await metric(t, 'taskflow_admission_in_flight')).toBe(0);

    // Served normally again at once; readiness recovers a second after the last refusal.
    const after = await alice.request('POST', `/api/projects/${alice.projectId}/tasks`, { body: { title: 'After the burst' } });
    expect(after.status).toBe(201);
    await until('readiness is back', async () => (await t.request('GET', '/health/ready')).status === 200);
    const titles = (await alice.request('GET', `/api/projects/${alice.projectId}/tasks`)).body.items.map((i: { title: string }) => i.title);
    expect(titles).toContain('After the burst');
    expect(titles).not.toContain('Shed');
    expect(titles).not.toContain('Queued');
  });

  it('a client that hangs up while queued frees its place; a queued request runs as soon as a slot frees up', async () => {
    await blocker.query('begin');
    await blocker.query('select 1 from task where id = $1 for update', [taskId]);
    const stuck = [1, 2].map((n) => alice.request('PATCH', `/api/tasks/${taskId}`, { body: { title: `Again ${n}` } }));
    await until('both slots are taken', async () => (await metric(t, 'taskflow_admission_in_flight')) === 2);
    const leaving = new AbortController();
    const abandoned = fetch(`${t.url}/api/projects/${alice.projectId}/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Abandoned' }),
      signal: leaving.signal,
    }).catch((err: unknown) => err);
    await until('the request is queued', async () => (await metric(t, 'taskflow_admission_queued')) === 1);
    leaving.abort();
    expect(await abandoned).toMatchObject({ name: 'AbortError' });
    await until('its place is free again', async () => (await metric(t, 'taskflow_admission_queued')) === 0);
    const queued = alice.request('GET', `/api/tasks/${taskId}`);
    await until('one request is queued', async () => (await metric(t, 'taskflow_admission_queued')) === 1);
    await blocker.query('rollback');
    expect((await queued).status).toBe(200);
    expect((await Promise.all(stuck)).map((r) => r.status)).toEqual([200, 200]);
    const titles = (await alice.request('GET', `/api/projects/${alice.projectId}/tasks`)).body.items.map((i: { title: string }) => i.title);
    expect(titles).not.toContain('Abandoned');
  });

  it('an open event stream gives its slot back once it is streaming: streams never shed ordinary requests', async () => {
    const streams = await Promise.all([1, 2, 3].map(() => openStream(t.url, alice.token)));
    try {
      expect(streams.map((s) => s.status)).toEqual([200, 200, 200]);
      expect(await metric(t, 'taskflow_admission_in_flight')).toBe(0);
      const answers = await Promise.all([1, 2].map(() => alice.request('GET', `/api/tasks/${taskId}`)));
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
    } finally {
      for (const s of streams) s.close();
    }
    await until('the slots are free', async () => (await metric(t, 'taskflow_admission_in_flight')) === 0);
  });

  it('a refused connection is not read from for 600 ms: a request re-sent at once waits there, other connections do not', async () => {
    const one = await startTestApp({ env: { MAX_IN_FLIGHT: '1', MAX_QUEUE: '0' }, databaseUrl: t.db.url, sso: t.sso });
    const first = await rawConnection(one.url);
    const other = await rawConnection(one.url);
    try {
      const carol = await signIn(one, 'ov-carol');
      const task = await carol.request('POST', `/api/projects/${carol.projectId}/tasks`, { body: { title: 'Held' } });
      await blocker.query('begin');
      await blocker.query('select 1 from task where id = $1 for update', [task.body.id]);
      const stuck = carol.request('PATCH', `/api/tasks/${task.body.id}`, { body: { title: 'Stuck' } });
      await until('the slot is taken', async () => (await metric(one, 'taskflow_admission_in_flight')) === 1);

      const path = `/api/tasks/${task.body.id}`;
      const refused = await first.send(path, carol.token);
      expect(refused.status).toBe(503);
      // Re-sent at once on the same connection (a client ignoring Retry-After): it waits unread in the kernel's
      // buffer for the pause, while a request on another connection is refused at once in the meantime.
      const resent = first.send(path, carol.token);
      const elsewhere = await other.send(path, carol.token);
      expect(elsewhere.status).toBe(503);
      const again = await resent;
      expect(again.status).toBe(503);
      expect(again.ms).toBeGreaterThanOrEqual(550);
      expect(elsewhere.answeredAt).toBeLessThan(again.answeredAt);

      // A client that waits as asked finds its connection read again, and is served once the slot is free.
      await blocker.query('rollback');
      expect((await stuck).status).toBe(200);
      await sleep(Number(again.retryAfter) * 1000);
      expect((await first.send(path, carol.token)).status).toBe(200);
    } finally {
      await blocker.query('rollback').catch(() => {});
      first.close();
      other.close();
      await one.close();
    }
  }, 120_000);

  it('MAX_IN_FLIGHT=0 turns admission control off', async () => {
    const open = await startTestApp({ env: { MAX_IN_FLIGHT: '0' }, databaseUrl: t.db.url, sso: t.sso });
    try {
      const bob = await signIn(open, 'ov-bob');
      const answers = await Promise.all(Array.from({ length: 20 }, () => bob.request('GET', '/api/me')));
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
      expect(await metric(open, 'taskflow_admission_shed_total', '{reason="queue_full"}')).toBe(0);
    } finally {
      await open.close();
    }
  }, 120_000);
});
