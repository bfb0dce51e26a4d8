import type { Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';

export interface Drainer {
  /**
   * Stops accepting connections and lets every request already accepted finish; keep-alive connections are
   * closed as soon as they are idle (responses written from now on say `Connection: close`). After
   * `timeoutMs` the remaining connections are cut. Resolves once the server is closed; `forced` says whether
   * a request was cut off.
   */
  drain(timeoutMs: number): Promise<{ forced: boolean }>;
  /** Requests accepted and not yet answered. */
  readonly inFlight: number;
}

/** How long a connection accepted just before the drain may take to send its first request. */
const FIRST_REQUEST_GRACE_MS = 1_000;

interface ConnectionState {
  active: number;
  served: number;
}

/**
 * Call once, right after listen: it watches connections and requests so drain() knows what is in flight.
 *
 * Why not just http.Server#close(): since Node 19 it also closes every connection that is "idle", which
 * includes a connection accepted a moment ago whose request has not been parsed yet. Under load that cuts
 * off requests the server had already accepted (the client sees ECONNRESET). Here only keep-alive connections
 * that already served a request are closed when idle; a fresh one gets its first request answered (with
 * `Connection: close`), or is closed if it sends nothing within a second.
 */
export function createDrainer(server: Server, extraListeners: readonly NetServer[] = []): Drainer {
  const connections = new Map<Socket, ConnectionState>();
  const open = new Set<ServerResponse>();
  let draining = false;

  const closeIfIdle = (socket: Socket) => {
    const state = connections.get(socket);
    if (state && state.active === 0 && state.served > 0) socket.destroy();
  };

  server.on('connection', (socket: Socket) => {
    connections.set(socket, { active: 0, served: 0 });
    socket.once('close', () => connections.delete(socket));
  });
  server.prependListener('request', (req, res: ServerResponse) => {
    const socket = req.socket;
    const state = connections.get(socket) ?? { active: 0, served: 0 };
    connections.set(socket, state);
    state.active++;
    open.add(res);
    if (draining) res.setHeader('Connection', 'close');
    res.once('close', () => {
      state.active--;
      state.served++;
      open.delete(res);
      // A response whose headers went out before the drain began left its connection keep-alive: close it now.
      if (draining) closeIfIdle(socket);
    });
  });

  return {
    get inFlight() {
      return open.size;
    },
    async drain(timeoutMs) {
      draining = true;
      for (const res of open) if (!res.headersSent) res.setHeader('Connection', 'close');
      // net.Server#close: stop listening and wait for the connections to end, without http's idle sweep. Each
      // extra listening socket (http/listen.ts) counts the connections it accepted, so each is waited for too.
      const closed = Promise.all(
        [server, ...extraListeners].map((s) => new Promise<void>((resolve) => NetServer.prototype.close.call(s, () => resolve()))),
      );
      for (const socket of connections.keys()) closeIfIdle(socket);
      const grace = setTimeout(() => {
        for (const [socket, state] of connections) if (state.active === 0) socket.destroy();
      }, Math.min(FIRST_REQUEST_GRACE_MS, timeoutMs));
      let forced = false;
      const deadline = setTimeout(() => {
        forced = open.size > 0;
        for (const socket of connections.keys()) socket.destroy();
      }, timeoutMs);
      await closed;
      clearTimeout(grace);
      clearTimeout(deadline);
      return { forced };
    },
  };
}
