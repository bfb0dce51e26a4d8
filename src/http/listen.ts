import type { Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';

export interface ListenSettings {
  port: number;
  host: string;
  /** Connections the kernel holds for each listening socket until it is accepted. */
  backlog: number;
  /** Listening sockets on the port; more than one needs SO_REUSEPORT (Linux). */
  sockets: number;
}

export interface Listening {
  /** The port actually bound (the one asked for, or the kernel's pick for 0). */
  port: number;
  /** The listening sockets besides the HTTP server's own; their connections are handed to it. */
  extra: NetServer[];
}

/**
 * Binds `server` to the port with `sockets` listening sockets, all of them feeding the one HTTP server.
 *
 * Why several: since libuv 1.45 (Node 20) the event loop accepts **one** new connection per listening socket and
 * loop iteration. While a burst keeps each iteration busy with the connections already open, the ones still
 * waiting to be accepted sit in the kernel's queue — measured here under 1,000 connections: a third of a burst's
 * connections accepted over 2–3 s, a trickle of one per iteration, each first request (often just a refusal, or a
 * load balancer's probe) answered seconds late. With N sockets on the port (SO_REUSEPORT: the kernel spreads
 * new connections over them), N are accepted per iteration. Each extra socket is a plain net server whose
 * connections are handed to the HTTP server (`'connection'`, as http documents for injecting sockets), so
 * every connection meets the same HTTP settings, drain and shutdown.
 *
 * SO_REUSEPORT would also let another process of the same user bind the same port and take a share of its
 * connections without a word. So a fixed port is first bound once without it: if anyone holds the port, that
 * fails with EADDRINUSE, as a single socket would.
 */
export async function listen(server: HttpServer, settings: ListenSettings): Promise<Listening> {
  const { host, backlog, sockets } = settings;
  if (sockets <= 1) {
    await bind(server, { port: settings.port, host, backlog });
    return { port: boundPort(server), extra: [] };
  }
  if (settings.port !== 0) await assertPortFree(settings.port, host);
  await bind(server, { port: settings.port, host, backlog, reusePort: true });
  const port = boundPort(server);
  const extra: NetServer[] = [];
  try {
    for (let i = 1; i < sockets; i++) {
      const listener = createNetServer((socket) => server.emit('connection', socket));
      await bind(listener, { port, host, backlog, reusePort: true });
      extra.push(listener);
    }
  } catch (err) {
    await Promise.all([server, ...extra].map((s) => new Promise((resolve) => s.close(resolve))));
    throw err;
  }
  return { port, extra };
}

type BindOptions = { port: number; host: string; backlog: number; reusePort?: boolean };

function bind(server: HttpServer | NetServer, options: BindOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (err: Error) => reject(err);
    server.once('error', failed);
    server.listen(options, () => {
      server.off('error', failed);
      resolve();
    });
  });
}

/**
 * Fails with EADDRINUSE when anything, with or without SO_REUSEPORT, holds the port. listen() asks it before
 * sharing a port; the server also asks it first thing, before it starts a database for nothing.
 */
export async function assertPortFree(port: number, host: string): Promise<void> {
  const probe = createNetServer();
  await bind(probe, { port, host, backlog: 1 });
  await new Promise((resolve) => probe.close(resolve));
}

const boundPort = (server: HttpServer | NetServer): number => {
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the server is not listening on a TCP port');
  return address.port;
};
