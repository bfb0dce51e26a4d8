/** streamEvents: the live SSE stream — headers, heartbeats, resume without a gap, visibility, caps, slow clients, shutdown. */
import net from 'node:net';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { setupTestApp, createTask, expectProblem, newProject, setStatus, type SignedIn } from '../helpers/factories.js';
import { eventsOf, openStream } from './support.js';

// Events appear once every older transaction of the PostgreSQL cluster has finished: while other suites run
// long transactions on the shared test server (an import holds one for a minute), they wait. Never skip.
const LONG = 240_000;

let t: TestApp;
let alice: SignedIn;
let bob: SignedIn;
let carol: SignedIn;
let project: number;

beforeAll(async () => {
  ({ t, alice, bob, carol, project } = await setupTestApp({ env: { EVENTS_HEARTBEAT_MS: '300', EVENTS_MAX_STREAMS_PER_USER: '2', EVENTS_POLL_INTERVAL_MS: '5000' } }));
}, 120_000);
afterAll(() => t.close());

describe('streamEvents', () => {
  it('streams new changes with ids, a retry hint, heartbeats and proxy-safe headers', async () => {
    const stream = await openStream(t.url, bob.token);
    try {
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(stream.headers.get('cache-control')).toBe('no-cache');
      expect(stream.headers.get('x-accel-buffering')).toBe('no');
      await stream.waitFor((m) => m.some((x) => x.retry === 2000));
      const task = await createTask(alice, project, { title: 'Live' });
      await stream.waitFor((m) => eventsOf(m).some((e) => e.entity.id === task.id));
      const message = stream.messages.find((m) => m.data && JSON.parse(m.data).entity.id === task.id)!;
      expect(message.event).toBe('task.created');
      expect(message.id).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(JSON.parse(message.data!).data.task).toMatchObject({ id: task.id, title: 'Live', status: 'pending' });
      await stream.waitFor((m) => m.some((x) => x.comment === 'heartbeat'));
    } finally {
      stream.close();
    }
  }, LONG);

  it('resumes after Last-Event-ID with nothing lost and nothing repeated', async () => {
    const first = await openStream(t.url, bob.token, { query: `project_id=${project}` });
    const a = await createTask(alice, project, { title: 'Before the drop' });
    await first.waitFor((m) => eventsOf(m).some((e) => e.entity.id === a.id));
    const lastId = first.messages.filter((m) => m.id).at(-1)!.id!;
    first.close();

    // While nobody listens: three changes.
    const b = await createTask(alice, project, { title: 'Missed 1' });
    await setStatus(alice, b.id, 'in_progress');
    const c = await createTask(alice, project, { title: 'Missed 2' });

    const second = await openStream(t.url, bob.token, { query: `project_id=${project}`, headers: { 'Last-Event-ID': lastId } });
    try {
      await second.waitFor((m) => eventsOf(m).some((e) => e.entity.id === c.id));
      const d = await createTask(alice, project, { title: 'Live again' });
      await second.waitFor((m) => eventsOf(m).some((e) => e.entity.id === d.id));
      expect(eventsOf(second.messages).map((e) => [e.type, e.entity.id])).toEqual([
        ['task.created', b.id],
        ['task.status_changed', b.id],
        ['task.created', c.id],
        ['task.created', d.id],
      ]);
    } finally {
      second.close();
    }
  }, LONG);

  it('shows nothing of projects the caller is not a member of, and filters by type', async () => {
    const outsider = await openStream(t.url, carol.token);
    const typed = await openStream(t.url, bob.token, { query: 'types=task.status_changed' });
    try {
      const task = await createTask(alice, project);
      await setStatus(alice, task.id, 'in_progress');
      await typed.waitFor((m) => eventsOf(m).some((e) => e.entity.id === task.id));
      const carolTask = await createTask(carol, carol.projectId, { title: 'Her own' });
      await outsider.waitFor((m) => eventsOf(m).some((e) => e.entity.id === carolTask.id));
      expect(eventsOf(outsider.messages).filter((e) => e.project_id === project)).toEqual([]);
      expect(eventsOf(typed.messages).map((e) => e.type)).toEqual(['task.status_changed']);
    } finally {
      outsider.close();
      typed.close();
    }
  }, LONG);

  it('refuses a stream beyond the per-user cap with 429, and forged or foreign cursors before streaming', async () => {
    const one = await openStream(t.url, alice.token);
    const two = await openStream(t.url, alice.token);
    try {
      const three = await openStream(t.url, alice.token);
      expect(three.status).toBe(429);
      expect(three.body).toMatchObject({ type: 'https://taskflow.dev/problems/too-many-streams', status: 429 });
      expect(three.headers.get('retry-after')).toBe('5');
      const other = await openStream(t.url, bob.token);
      expect(other.status).toBe(200);
      other.close();
    } finally {
      one.close();
      two.close();
    }
    const forged = await openStream(t.url, bob.token, { headers: { 'Last-Event-ID': 'garbage' } });
    expect(forged.status).toBe(422);
    expect(forged.body).toMatchObject({ errors: [{ pointer: '/header/last-event-id' }] });
    const future = Buffer.from(JSON.stringify(['events', 1, '999999999999', 1])).toString('base64url');
    expect((await openStream(t.url, bob.token, { query: `cursor=${future}` })).status).toBe(410);
    expectProblem(await carol.request('GET', '/api/events/stream', { query: { project_id: project } }), 404, 'project-not-found');
  }, LONG);
});

describe('streamEvents on shutdown', () => {
  it('ends open streams when the hub closes', async () => {
    const other = await startTestApp({ databaseUrl: t.db.url, sso: t.sso });
    const stream = await openStream(other.url, bob.token);
    expect(stream.status).toBe(200);
    await other.close();
    await stream.ended;
    expect(stream.messages[0]).toMatchObject({ retry: 2000 });
  }, LONG);
});

/**
 * A raw socket that sends the request, reads the response head and then stops reading: what a stuck client
 * (a frozen tab, a consumer blocked on its own work) looks like to the server.
 */
async function stuckStream(base: string, token: string, query: string) {
  const { hostname, port } = new URL(base);
  const socket = net.connect(Number(port), hostname);
  const chunks: Buffer[] = [];
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write(`GET /api/events/stream?${query} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\n\r\n`);
    });
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      if (Buffer.concat(chunks).includes('\r\n\r\n')) {
        socket.off('data', onData);
        socket.pause();
        resolve();
      }
    };
    socket.on('data', onData);
  });
  return {
    head: () => Buffer.concat(chunks).toString('utf8').split('\r\n\r\n')[0]!,
    /** Reads what the server managed to send before it hung up; resolves with the text once the socket closed. */
    async drain(): Promise<string> {
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.resume();
      await ended;
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}

const metric = async (base: string, name: string) => {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
};

describe('streamEvents with a client that stops reading', () => {
  it('cuts the stuck stream off (bounded memory), keeps the reading one, and the stuck client resumes with no gap', async () => {
    // A second instance on the same database, where a stream may pile up 512 KiB unsent (1 MiB by default).
    const small = await startTestApp({ databaseUrl: t.db.url, sso: t.sso, env: { EVENTS_STREAM_BUFFER_BYTES: '524288', EVENTS_POLL_INTERVAL_MS: '200' } });
    const own = await newProject(t, alice, [bob]);
    const reader = await openStream(small.url, bob.token, { query: `project_id=${own}` });
    const stuck = await stuckStream(small.url, bob.token, `project_id=${own}`);
    try {
      expect(stuck.head()).toMatch(/^HTTP\/1\.1 200/);
      expect(await metric(small.url, 'taskflow_event_streams_open')).toBe(2);
      // Large events (a 10,000-character description each) until the kernel's socket buffers are full and the
      // server holds more than 512 KiB unsent for the stuck client.
      const created: number[] = [];
      const description = 'x'.repeat(10_000);
      while ((await metric(small.url, 'taskflow_event_streams_cut_total')) < 1) {
        if (created.length >= 3_000) throw new Error('the stuck stream was never cut off');
        for (let i = 0; i < 10; i++) created.push((await createTask(alice, own, { title: `Bulk ${created.length}`, description })).id);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      expect(await metric(small.url, 'taskflow_event_streams_open')).toBe(1);
      // The reading stream was not affected: it has every one of them.
      const last = created.at(-1)!;
      await reader.waitFor((m) => eventsOf(m).some((e) => e.entity.id === last), 60_000);
      expect(eventsOf(reader.messages).map((e) => e.entity.id)).toEqual(created);

      // The stuck client reads what reached it, then resumes from its last complete event: nothing lost or repeated.
      const text = await stuck.drain();
      const complete = text.slice(0, text.lastIndexOf('\n\n') + 2);
      const seen = [...complete.matchAll(/^data: (.*)$/gm)].map((m) => (JSON.parse(m[1]!) as { entity: { id: number } }).entity.id);
      const lastId = [...complete.matchAll(/^id: (.*)$/gm)].at(-1)?.[1];
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.length).toBeLessThan(created.length);
      expect(seen).toEqual(created.slice(0, seen.length));
      const again = await openStream(small.url, bob.token, { query: `project_id=${own}`, headers: lastId ? { 'Last-Event-ID': lastId } : {} });
      try {
        await again.waitFor((m) => eventsOf(m).some((e) => e.entity.id === last), 60_000);
        expect([...seen, ...eventsOf(again.messages).map((e) => e.entity.id)]).toEqual(created);
      } finally {
        again.close();
      }
    } finally {
      reader.close();
      await small.close();
    }
  }, LONG);
});
