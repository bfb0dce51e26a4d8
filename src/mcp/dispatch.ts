/**
 * The one way a tool call runs: as an HTTP request to this same server, with the caller's own `Authorization`,
 * so routing, validation, authentication, rate limits, the handler, its transaction and its audit entry are
 * exactly those of the operation called directly. Used by the MCP endpoint and by the chat assistant.
 */
import type { Request } from 'express';
import { requestFor, type ToolRoute } from './tools.js';

/** Header naming a one-time in-process dispatch (see InternalClients); an unknown value is ignored. */
export const DISPATCH_HEADER = 'x-taskflow-dispatch';

/**
 * Server-side record of in-process tool calls and the client they act for (`chat`). The dispatcher registers a
 * random one-time nonce here and sends it along; authentication takes the client from this map, never from the
 * request, so no external request can claim to be such a call.
 */
export class InternalClients {
  readonly #pending = new Map<string, string>();

  register(client: string): { nonce: string; done: () => void } {
    const nonce = crypto.randomUUID() + crypto.randomUUID();
    this.#pending.set(nonce, client);
    return { nonce, done: () => void this.#pending.delete(nonce) };
  }

  /** The client of a registered dispatch, consumed on first use; null for anything else. */
  take(nonce: string | string[] | undefined): string | null {
    if (typeof nonce !== 'string') return null;
    const client = this.#pending.get(nonce);
    if (client === undefined) return null;
    this.#pending.delete(nonce);
    return client;
  }
}

/** The origin of this very server, as the request reached it. */
export function selfOrigin(req: Request): string {
  const address = (req.socket.localAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  const host = address.includes(':') ? `[${address}]` : address;
  return `http://${host}:${req.socket.localPort}`;
}

export interface DispatchOptions {
  /** The in-process client this call acts for, recorded on audit entries (e.g. `chat`). */
  client?: { name: string; registry: InternalClients };
  signal?: AbortSignal;
}

/** Runs a tool's operation through this server as `req`'s caller; returns the status and the raw body text. */
export async function dispatchToolCall(
  req: Request,
  route: ToolRoute,
  args: Record<string, unknown>,
  options: DispatchOptions = {},
): Promise<{ status: number; text: string }> {
  const call = requestFor(route, args);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (req.headers.authorization) headers.authorization = req.headers.authorization;
  // Behind a trusted proxy the API sees the original caller's address (express reads it from X-Forwarded-For).
  headers['x-forwarded-for'] = [req.headers['x-forwarded-for'], req.ip].filter(Boolean).join(', ');
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  const marker = options.client ? options.client.registry.register(options.client.name) : undefined;
  if (marker) headers[DISPATCH_HEADER] = marker.nonce;
  try {
    const response = await fetch(selfOrigin(req) + call.path, {
      method: call.method,
      headers,
      ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { status: response.status, text: await response.text() };
  } finally {
    marker?.done();
  }
}
