/**
 * During a database outage each failed request is logged once — one line, no stack trace — and a burst of
 * identical failures is logged as its first one plus one line with the count (observability/failure-log.ts).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { sleep } from './support.js';

/** A TCP relay to PostgreSQL that can be cut: afterwards every connection attempt is refused, as when the database goes away. */
async function relayTo(target: URL): Promise<{ url: string; cut(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.port = String((server.address() as { port: number }).port);
  return {
    url: url.href,
    cut: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

const WINDOW_MS = 1_500;
const BURST = 30;

describe('logs during a database outage', () => {
  let t: TestApp;
  let db: TestDatabase;
  let relay: Awaited<ReturnType<typeof relayTo>>;
  const lines: Array<Record<string, any>> = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    relay = await relayTo(new URL(db.url));
    t = await startTestApp({
      databaseUrl: relay.url,
      env: { LOG_FAILURE_WINDOW_MS: String(WINDOW_MS), DB_CONNECT_TIMEOUT_MS: '1000' },
      logDestination: { write: (line) => void lines.push(JSON.parse(line)) },
    });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('one line per failed request, without a stack; a burst as its first failure plus a count', async () => {
    const alice = await t.user('outage-alice');
    expect((await alice.request('GET', '/api/projects')).status).toBe(200);
    await relay.cut(); // the database goes away: every new connection is refused
    lines.length = 0;
    const first = await alice.request('GET', '/api/projects');
    expect(first.status).toBe(503);
    expect(first.body.type).toBe('https://taskflow.dev/problems/unavailable');

    const errors = () => lines.filter((l) => l.level >= 50);
    expect(errors()).toHaveLength(1);
    const [line] = errors();
    expect(line).toMatchObject({ res: { statusCode: 503 }, req: { method: 'GET', url: '/api/projects' }, failure: { type: expect.any(String), message: expect.any(String) } });
    expect(JSON.stringify(line)).not.toContain('"stack"');
    expect(JSON.stringify(line)).toMatch(/ECONNREFUSED/);

    const statuses = await Promise.all(Array.from({ length: BURST }, () => alice.request('GET', '/api/projects').then((r) => r.status)));
    expect(new Set(statuses)).toEqual(new Set([503]));
    expect(errors()).toHaveLength(1); // the burst, within the first failure's window, is only counted

    await sleep(WINDOW_MS + 500);
    const summaries = errors().filter((l) => typeof l.suppressed === 'number');
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ suppressed: BURST, windowMs: WINDOW_MS, msg: `${BURST} more identical failure(s) within ${WINDOW_MS / 1000} s, not logged one by one` });
    expect(JSON.stringify(summaries[0])).not.toContain('"stack"');

    // A new window: the next failure is logged again, once.
    const again = await alice.request('GET', '/api/projects');
    expect(again.status).toBe(503);
    expect(errors()).toHaveLength(3);
  }, 30_000);
});
