/**
 * getReadiness: 200 while the database answers, 503 `unavailable` while it refuses connections, and 200 again
 * without a restart once it is back. (Readiness during a real PostgreSQL stop is in reliability/database-faults,
 * during overload in reliability/overload, the conversations database in chat/chat-availability.)
 */
import { startTestApp, type TestApp } from '../helpers/app.js';
import { adminQuery, serverUrl } from '../helpers/pg.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.close());

/** Closes this file's database to new connections and ends the open ones (the server's pool included). */
const refuseConnections = async (refuse: boolean) => {
  await adminQuery(serverUrl(), `alter database ${t.db.name} allow_connections ${refuse ? 'false' : 'true'}`);
  if (refuse) await adminQuery(serverUrl(), 'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [t.db.name]);
};

describe('getReadiness', () => {
  it('reports the database ready, without auth', async () => {
    const res = await t.request('GET', '/health/ready');
    expect(res).toMatchObject({ status: 200, body: { status: 'ready', database: 'ok' } });
  });

  it('503 unavailable while the database refuses connections; ready again when it is back, without a restart', async () => {
    await refuseConnections(true);
    try {
      const down = await t.request('GET', '/health/ready');
      expect(down).toMatchObject({ status: 503, body: { type: 'https://taskflow.dev/problems/unavailable', status: 503 } });
    } finally {
      await refuseConnections(false);
    }
    let status = 0;
    for (const deadline = Date.now() + 15_000; status !== 200 && Date.now() < deadline; ) {
      status = (await t.request('GET', '/health/ready')).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
  });
});
