import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express, { type Response } from 'express';
import { sendReply } from '../../src/http/reply.js';

/**
 * sendReply writes JSON bodies itself instead of through express's res.send (src/http/reply.ts): on the wire the
 * answer must be exactly express's — status, every header, body — for plain, conditional and HEAD requests.
 */
type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

const viaExpress = (res: Response, reply: Reply) => {
  res.status(reply.status);
  if (reply.headers) res.set(reply.headers);
  res.type('application/json').send(JSON.stringify(reply.body));
};

async function wire(send: (res: Response, reply: Reply) => void, reply: Reply, init: RequestInit = {}) {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.all('/x', (_req, res) => send(res, reply));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`, init);
    const body = await res.text();
    const headers = Object.fromEntries(res.headers);
    delete headers.date;
    delete headers['keep-alive'];
    return { status: res.status, headers, body };
  } finally {
    server.close();
  }
}

const task = { id: 7, title: 'Prüfen — 検査 ✓', tags: ['a'], description: 'x'.repeat(2_000) };
const cases: [string, Reply, RequestInit][] = [
  ['a small body', { status: 200, body: { ok: true } }, {}],
  ['a body over 1,000 characters with multi-byte text', { status: 200, body: task, headers: { ETag: '"3"' } }, {}],
  ['a created resource with Location', { status: 201, body: task, headers: { Location: '/api/tasks/7', ETag: '"1"' } }, { method: 'POST' }],
  ['a conditional GET whose ETag matches', { status: 200, body: task, headers: { ETag: '"3"' } }, { headers: { 'If-None-Match': '"3"' } }],
  ['a conditional GET whose ETag does not match', { status: 200, body: task, headers: { ETag: '"3"' } }, { headers: { 'If-None-Match': '"2"' } }],
  ['a conditional HEAD', { status: 200, body: task, headers: { ETag: '"3"' } }, { method: 'HEAD', headers: { 'If-None-Match': 'W/"3"' } }],
  ['a HEAD', { status: 200, body: task }, { method: 'HEAD' }],
  ['a conditional POST (never 304)', { status: 200, body: task, headers: { ETag: '"3"' } }, { method: 'POST', headers: { 'If-None-Match': '"3"' } }],
  ['an error status with a matching ETag (never 304)', { status: 409, body: { title: 'x' }, headers: { ETag: '"3"' } }, { headers: { 'If-None-Match': '"3"' } }],
  ['a JSON string body', { status: 200, body: 'just text' }, {}],
];

describe('sendReply', () => {
  it.each(cases)('answers %s exactly as express res.send does', async (_name, reply, init) => {
    const expected = await wire(viaExpress, reply, init);
    const actual = await wire(sendReply, reply, init);
    expect(actual).toEqual(expected);
    expect(actual.headers['content-type'] ?? 'none').toMatch(/^(application\/json; charset=utf-8|none)$/);
  });
});
