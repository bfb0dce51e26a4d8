/** An SSE client for the stream suites (not a test file): parses messages as they arrive. */
import type { components } from '../../generated/api.js';

export type Event = components['schemas']['Event'];

export interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  retry?: number;
  comment?: string;
  receivedAt: number;
}

export interface OpenStream {
  status: number;
  headers: Headers;
  messages: SseMessage[];
  /** Events only (messages with data), parsed. */
  events(): Event[];
  /** Resolves once `predicate` holds for the messages received, or rejects after `ms`. */
  waitFor(predicate: (messages: SseMessage[]) => boolean, ms?: number): Promise<void>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
  body?: unknown;
}

export async function openStream(base: string, token: string, options: { query?: string; headers?: Record<string, string> } = {}): Promise<OpenStream> {
  const controller = new AbortController();
  const response = await fetch(`${base}/api/events/stream${options.query ? `?${options.query}` : ''}`, {
    headers: { authorization: `Bearer ${token}`, ...options.headers },
    signal: controller.signal,
  });
  const messages: SseMessage[] = [];
  const waiters = new Set<() => void>();
  let body: unknown;
  let ended: Promise<void> = Promise.resolve();
  if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
    ended = (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const message: SseMessage = { receivedAt: performance.now() };
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) message.comment = line.slice(1).trim();
              else {
                const colon = line.indexOf(':');
                const field = line.slice(0, colon);
                const value = line.slice(colon + 1).replace(/^ /, '');
                if (field === 'retry') message.retry = Number(value);
                else if (field === 'id' || field === 'event' || field === 'data') message[field] = value;
              }
            }
            messages.push(message);
            for (const w of waiters) w();
          }
        }
      } catch {
        // aborted by close()
      }
      for (const w of waiters) w();
    })();
  } else {
    body = await response.json().catch(() => undefined);
  }
  return {
    status: response.status,
    headers: response.headers,
    messages,
    body,
    ended,
    events: () => messages.filter((m) => m.data).map((m) => JSON.parse(m.data!) as Event),
    waitFor: (predicate, ms = 180_000) =>
      new Promise<void>((resolve, reject) => {
        if (predicate(messages)) return resolve();
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`stream: condition not met within ${ms} ms; got ${messages.length} messages`));
        }, ms);
        const check = () => {
          if (predicate(messages)) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
      }),
    close: () => controller.abort(),
  };
}

export const eventsOf = (messages: SseMessage[]) => messages.filter((m) => m.data).map((m) => JSON.parse(m.data!) as Event);
