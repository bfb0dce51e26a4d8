import type { Server, ServerResponse } from 'node:http';

export interface Drainer {
  /**
   * Stops accepting connections and lets requests already accepted finish; keep-alive connections are closed
   * as soon as they are idle (responses written from now on say `Connection: close`). After `timeoutMs` the
   * remaining connections are cut. Resolves once the server is closed; `forced` says whether any was cut.
   */
  drain(timeoutMs: number): Promise<{ forced: boolean }>;
  /** Requests accepted and not yet answered. */
  readonly inFlight: number;
}

/** Call once, right after listen: it watches every request so drain() knows what is in flight. */
export function createDrainer(server: Server): Drainer {
  const open = new Set<ServerResponse>();
  let draining = false;
  server.prependListener('request', (_req, res: ServerResponse) => {
    open.add(res);
    if (draining) res.setHeader('Connection', 'close');
    res.once('close', () => {
      open.delete(res);
      // A response whose headers went out before draining began left its connection keep-alive: close it now.
      if (draining) server.closeIdleConnections();
    });
  });
  return {
    get inFlight() {
      return open.size;
    },
    async drain(timeoutMs) {
      draining = true;
      for (const res of open) if (!res.headersSent) res.setHeader('Connection', 'close');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let forced = false;
      const timer = setTimeout(() => {
        forced = open.size > 0;
        server.closeAllConnections();
      }, timeoutMs);
      await closed;
      clearTimeout(timer);
      return { forced };
    },
  };
}
