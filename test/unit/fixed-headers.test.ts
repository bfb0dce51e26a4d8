import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import cors from 'cors';
import express, { type RequestHandler } from 'express';
import helmet from 'helmet';
import { captureHeaders, fixedHeaders } from '../../src/http/fixed-headers.js';

/**
 * Replayed headers (src/http/fixed-headers.ts, used for helmet and for CORS on requests without an Origin) must
 * be exactly what the middlewares themselves set on a real response, names, values and all.
 */
async function headersOf(steps: RequestHandler[]): Promise<Record<string, string>> {
  const app = express();
  app.disable('x-powered-by');
  app.use(steps);
  app.get('/x', (_req, res) => void res.json({ ok: true }));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`);
    await res.text();
    const headers = Object.fromEntries(res.headers);
    delete headers.date;
    delete headers['keep-alive'];
    return headers;
  } finally {
    server.close();
  }
}

const corsOptions = {
  origin: (origin: string | undefined, callback: (err: Error | null, allow?: boolean) => void) => callback(null, origin === 'https://app.example'),
  credentials: true,
  exposedHeaders: ['ETag', 'Location'],
  maxAge: 600,
};

describe('captureHeaders / fixedHeaders', () => {
  it('replays exactly the headers helmet and cors set on a request without an Origin', async () => {
    const real = [helmet({ contentSecurityPolicy: false }), cors(corsOptions)];
    const captured = captureHeaders(real, { method: 'GET', headers: {} });
    expect(captured).not.toBeNull();
    expect(captured!.length).toBeGreaterThan(10);
    expect(await headersOf([fixedHeaders(captured!)])).toEqual(await headersOf(real));
  });

  it('refuses what it cannot capture: a middleware that answers, fails or goes asynchronous', () => {
    const answers: RequestHandler = (_req, res) => void res.end();
    const fails: RequestHandler = (_req, _res, next) => next(new Error('no'));
    const later: RequestHandler = (_req, _res, next) => void setImmediate(next);
    for (const step of [answers, fails, later]) expect(captureHeaders([step], { method: 'GET', headers: {} })).toBeNull();
    // a CORS preflight answers by itself: not capturable either
    expect(captureHeaders([cors(corsOptions)], { method: 'OPTIONS', headers: { origin: 'https://app.example' } })).toBeNull();
  });
});
