/** Requests and assertions for the /chatkit suites (not a test file: jest only runs *.test.ts). */
import { sql } from 'slonik';
import { z } from 'zod';
import type { ApiUser, RawResponse, TestApp } from '../helpers/app.js';

export interface ChatEvent {
  type: string;
  [key: string]: any;
}

export interface ChatReply extends RawResponse {
  /** The events of a `text/event-stream` answer, in order (empty for JSON answers). */
  events: ChatEvent[];
}

/** Parses server-sent events as the ChatKit client does: `data: <json>` lines, one event per blank-line block. */
export function parseEvents(text: string): ChatEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      return JSON.parse(data) as ChatEvent;
    });
}

/** One ChatKit request as `user` (checked against the contract like every response). */
export async function chatkit(user: Pick<ApiUser, 'request'>, body: unknown): Promise<ChatReply> {
  const res = await user.request('POST', '/chatkit', { body });
  const streamed = (res.headers.get('content-type') ?? '').startsWith('text/event-stream');
  return { ...res, events: streamed ? parseEvents(String(res.body ?? '')) : [] };
}

export const text = (t: string) => ({ content: [{ type: 'input_text', text: t }], attachments: [], inference_options: {} });

const ItemRow = z.object({ id: z.string(), type: z.string(), body: z.record(z.string(), z.unknown()) });

/** What the conversations database holds for a thread, in order. */
export const storedItems = (t: TestApp, threadId: string) =>
  t.chatPool!.any(sql.type(ItemRow)`select id, type, body from chat_item where thread_id = ${threadId} order by seq`);

export const storedThreadCount = (t: TestApp) => t.chatPool!.oneFirst(sql.type(z.object({ n: z.number() }))`select count(*)::int as n from chat_thread`);

/** The assistant's text of a finished turn. */
export const assistantText = (events: ChatEvent[]) =>
  events.filter((e) => e.type === 'thread.item.done' && e.item.type === 'assistant_message').map((e) => e.item.content[0].text);
