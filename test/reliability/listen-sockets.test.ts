/**
 * Several listening sockets on one port (http/listen.ts): why (the event loop accepts one new connection per
 * listening socket and loop iteration), that every connection, on whichever socket, reaches the one HTTP server,
 * and that a port somebody holds is still refused.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { listen } from '../../src/http/listen.js';

const closeAll = (servers: (http.Server | net.Server)[]) =>
  Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));

/** Opens `n` connections and waits until the kernel has completed every handshake. */
async function connectMany(port: number, n: number): Promise<net.Socket[]> {
  return Promise.all(
    Array.from({ length: n }, () => new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
      socket.once('error', reject);
    })),
  );
}

/** A client process (this one's loop is about to be held): on 'go' it opens `n` connections to `port`. */
const CLIENT = `
  let n = 0, port = 0;
  process.on('message', (m) => {
    if (m.go === undefined) return process.exit(0);
    ({ n, port } = m.go);
    const net = require('node:net');
    let open = 0;
    for (let i = 0; i < n; i++) {
      net.connect(port, '127.0.0.1', () => { if (++open === n) process.send({ connectedAt: Date.now() }); }).on('error', () => {});
    }
  });
  process.send({ ready: true });`;

/**
 * How many of `n` waiting connections the server accepts in one pass of the event loop: the loop is held busy
 * while they connect (the kernel completes the handshakes and queues them), then released; what was accepted by
 * the time a setImmediate callback runs (the check phase, right after the poll phase) is one iteration's worth.
 */
async function acceptedInOneIteration(sockets: number, n: number): Promise<{ accepted: number; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => res.end('ok'));
  let accepted = 0;
  server.on('connection', () => accepted++);
  const listening = await listen(server, { port: 0, host: '127.0.0.1', backlog: 511, sockets });
  const { NODE_OPTIONS: _ignored, ...env } = process.env;
  const child = spawn(process.execPath, ['-e', CLIENT], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const messages: Record<string, unknown>[] = [];
  child.on('message', (m: Record<string, unknown>) => messages.push(m));
  const close = async () => {
    child.send({});
    if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    await closeAll([server, ...listening.extra]);
  };
  try {
    await until(() => messages.some((m) => m.ready));
    child.send({ go: { n, port: listening.port } });
    const holdUntil = Date.now() + 3_000;
    while (Date.now() < holdUntil); // the loop is held: the connections wait in the kernel's accept queues
    const before = accepted;
    const inOnePass = await new Promise<number>((resolve) => setImmediate(() => resolve(accepted - before)));
    await until(() => messages.some((m) => m.connectedAt));
    const connectedAt = messages.find((m) => m.connectedAt)!.connectedAt as number;
    if (connectedAt > holdUntil) throw new Error('the client connected after the hold: the machine is too busy for this measurement');
    return { accepted: inOnePass, close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function until(ready: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('listening sockets', () => {
  it('one socket: the loop accepts a single waiting connection per iteration; eight sockets: several', async () => {
    const one = await acceptedInOneIteration(1, 64);
    const eight = await acceptedInOneIteration(8, 64);
    try {
      console.log(`connections accepted in one loop iteration out of 64 waiting: 1 socket ${one.accepted}, 8 sockets ${eight.accepted}`);
      expect(one.accepted).toBeGreaterThanOrEqual(1);
      expect(eight.accepted).toBeGreaterThan(one.accepted);
      expect(eight.accepted).toBeLessThanOrEqual(8);
    } finally {
      await one.close();
      await eight.close();
    }
  }, 30_000);

  it('every connection, whichever socket accepted it, is served by the one HTTP server', async () => {
    const seen = new Set<number>();
    const server = http.createServer((req, res) => {
      seen.add(req.socket.remotePort!);
      res.end(String(req.socket.localPort));
    });
    const listening = await listen(server, { port: 0, host: '127.0.0.1', backlog: 511, sockets: 4 });
    try {
      expect(listening.extra).toHaveLength(3);
      for (const extra of listening.extra) expect((extra.address() as net.AddressInfo).port).toBe(listening.port);
      const sockets = await connectMany(listening.port, 40);
      const answers = await Promise.all(sockets.map((socket) => new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (chunk) => (text += chunk));
        socket.on('end', () => resolve(text));
        socket.end('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      })));
      expect(answers.every((a) => a.startsWith('HTTP/1.1 200') && a.endsWith(String(listening.port)))).toBe(true);
      expect(seen.size).toBe(40);
    } finally {
      await closeAll([server, ...listening.extra]);
    }
  });

  it('a fixed port that is taken is refused with EADDRINUSE, even when the holder shares ports (SO_REUSEPORT)', async () => {
    const plain = net.createServer();
    await new Promise<void>((resolve) => plain.listen({ port: 0, host: '127.0.0.1' }, resolve));
    const plainPort = (plain.address() as net.AddressInfo).port;
    await expect(listen(http.createServer(), { port: plainPort, host: '127.0.0.1', backlog: 511, sockets: 4 })).rejects.toMatchObject({ code: 'EADDRINUSE' });

    // Another instance of the API on the same port: its sockets allow sharing, ours must not join them.
    const first = http.createServer();
    const held = await listen(first, { port: 0, host: '127.0.0.1', backlog: 511, sockets: 4 });
    const second = http.createServer();
    await expect(listen(second, { port: held.port, host: '127.0.0.1', backlog: 511, sockets: 4 })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(second.listening).toBe(false);
    await closeAll([plain, first, ...held.extra]);
  });
});
