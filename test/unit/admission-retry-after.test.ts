import express from 'express';
import { createAdmission } from '../../src/http/admission.js';
import { createMetrics } from '../../src/observability/metrics.js';

/**
 * The Retry-After of a shed request: 1, 2 or 3 seconds at random, so that a burst's refused clients spread their
 * retries; the connection stays unread for that long less 150 ms, so a client that waits as asked is read at once.
 */
describe('admission: Retry-After of a refusal', () => {
  it('is 1, 2 or 3 s, varies between refusals, and matches the detail', async () => {
    const admission = createAdmission({ maxInFlight: 1, maxQueue: 0, maxQueueWaitMs: 1_000 }, createMetrics());
    const app = express();
    let release: () => void = () => {};
    app.use(admission.middleware);
    app.get('/api/hold', (_req, res) => {
      release = () => void res.end('held');
    });
    const server = app.listen(0);
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as { port: number };
    try {
      const held = fetch(`http://127.0.0.1:${port}/api/hold`);
      await new Promise((r) => setTimeout(r, 50));
      // A fresh connection per refusal: a refused connection is paused for its Retry-After.
      const refusals = await Promise.all(
        Array.from({ length: 40 }, async () => {
          const res = await fetch(`http://127.0.0.1:${port}/api/other`, { headers: { connection: 'close' } });
          return { status: res.status, retryAfter: res.headers.get('retry-after'), detail: ((await res.json()) as { detail: string }).detail };
        }),
      );
      expect(new Set(refusals.map((r) => r.status))).toEqual(new Set([503]));
      for (const r of refusals) {
        expect(['1', '2', '3']).toContain(r.retryAfter);
        expect(r.detail).toContain(`retry in ${r.retryAfter} s`);
      }
      // 40 draws from three values: all the same by chance is 3 in 3^40.
      expect(new Set(refusals.map((r) => r.retryAfter)).size).toBeGreaterThan(1);
      release();
      expect(await (await held).text()).toBe('held');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
