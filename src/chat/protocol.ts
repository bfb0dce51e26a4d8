/**
 * The ChatKit server protocol as the ChatKit web component speaks it to a custom backend (the wire format of
 * the reference server, openai/chatkit-python: chatkit/types.py). Requests are checked here; threads, items and
 * events are built by the other chat files in exactly these shapes. Absent optional fields are omitted, never
 * sent as null, as the reference server serialises them.
 */
import { z } from 'zod';

// ------------------------------------------------------------------------------------------ requests

const Id = z.string().min(1).max(100);
const Metadata = z.record(z.string(), z.unknown()).default({});

const UserMessageContent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('input_text'), text: z.string().max(20_000) }),
  z.object({
    type: z.literal('input_tag'),
    id: z.string(),
    text: z.string().max(1_000),
    data: z.record(z.string(), z.unknown()),
    group: z.string().nullish(),
    interactive: z.boolean().default(false),
  }),
]);
export type UserMessageContent = z.infer<typeof UserMessageContent>;

const InferenceOptions = z.object({
  tool_choice: z.object({ id: z.string() }).nullish(),
  model: z.string().nullish(),
});

const UserMessageInput = z.object({
  content: z.array(UserMessageContent).min(1).max(50),
  attachments: z.array(Id).max(10).default([]),
  quoted_text: z.string().max(20_000).nullish(),
  inference_options: InferenceOptions.default({}),
});
export type UserMessageInput = z.infer<typeof UserMessageInput>;

const Page = { limit: z.number().int().min(1).max(100).nullish(), order: z.enum(['asc', 'desc']).default('desc'), after: Id.nullish() };

const req = <T extends string, P extends z.ZodType>(type: T, params: P) =>
  z.object({ type: z.literal(type), params, metadata: Metadata });

/** Every request type of the protocol this server answers. */
export const ChatKitRequest = z.discriminatedUnion('type', [
  req('threads.create', z.object({ input: UserMessageInput })),
  req('threads.add_user_message', z.object({ thread_id: Id, input: UserMessageInput })),
  req('threads.retry_after_item', z.object({ thread_id: Id, item_id: Id })),
  req('threads.get_by_id', z.object({ thread_id: Id })),
  req('threads.list', z.object(Page)),
  req('threads.update', z.object({ thread_id: Id, title: z.string().max(200) })),
  req('threads.delete', z.object({ thread_id: Id })),
  req('items.list', z.object({ thread_id: Id, ...Page })),
  req('items.feedback', z.object({ thread_id: Id, item_ids: z.array(Id).min(1).max(100), kind: z.enum(['positive', 'negative']) })),
  req('attachments.create', z.object({ name: z.string().min(1).max(255), size: z.number().int().min(0), mime_type: z.string().min(1).max(255) })),
  req('attachments.delete', z.object({ attachment_id: Id })),
]);
export type ChatKitRequest = z.infer<typeof ChatKitRequest>;
export type RequestOf<T extends ChatKitRequest['type']> = Extract<ChatKitRequest, { type: T }>;

/** Request types of the protocol that this server recognises but does not act on (no widgets, no client tools). */
export const UNSUPPORTED_TYPES = ['threads.custom_action', 'threads.add_client_tool_output'] as const;

export const STREAMING_TYPES = new Set<string>(['threads.create', 'threads.add_user_message', 'threads.retry_after_item', ...UNSUPPORTED_TYPES]);

// ------------------------------------------------------------------------------------------ threads and items

export interface Attachment {
  type: 'file' | 'image';
  id: string;
  name: string;
  mime_type: string;
}

export interface OutputText {
  type: 'output_text';
  text: string;
  annotations: unknown[];
}

interface ItemBase {
  id: string;
  thread_id: string;
  created_at: string;
}
export type UserMessageItem = ItemBase & {
  type: 'user_message';
  content: UserMessageContent[];
  attachments: Attachment[];
  quoted_text?: string;
  inference_options: { tool_choice?: { id: string }; model?: string };
};
export type AssistantMessageItem = ItemBase & { type: 'assistant_message'; content: OutputText[] };
/** Stored for the model's memory (tool calls and results); never sent to the client, as in the reference server. */
export type HiddenContextItem = ItemBase & { type: 'hidden_context_item'; content: unknown };
export type ThreadItem = UserMessageItem | AssistantMessageItem | HiddenContextItem;

export type ThreadStatus = { type: 'active' } | { type: 'locked'; reason?: string } | { type: 'closed'; reason?: string };

export interface Page<T> {
  data: T[];
  has_more: boolean;
  after?: string;
}

export interface Thread {
  id: string;
  title?: string;
  created_at: string;
  status: ThreadStatus;
  items: Page<ThreadItem>;
}

// ------------------------------------------------------------------------------------------ stream events

export type ItemUpdate =
  | { type: 'assistant_message.content_part.added'; content_index: number; content: OutputText }
  | { type: 'assistant_message.content_part.text_delta'; content_index: number; delta: string }
  | { type: 'assistant_message.content_part.done'; content_index: number; content: OutputText };

export type ThreadStreamEvent =
  | { type: 'thread.created'; thread: Thread }
  | { type: 'thread.updated'; thread: Thread }
  | { type: 'thread.item.added'; item: ThreadItem }
  | { type: 'thread.item.updated'; item_id: string; update: ItemUpdate }
  | { type: 'thread.item.done'; item: ThreadItem }
  | { type: 'thread.item.removed'; item_id: string }
  | { type: 'stream_options'; stream_options: { allow_cancel: boolean } }
  | { type: 'progress_update'; text: string; icon?: string }
  | { type: 'notice'; level: 'info' | 'warning' | 'danger'; message: string; title?: string }
  | ErrorEvent;

/** `stream.error` is the reference server's one error code (a localised generic message); `custom` carries ours. */
export type ErrorEvent = { type: 'error'; code: 'stream.error' | 'custom'; message?: string; allow_retry: boolean };

export const outputText = (text: string): OutputText => ({ type: 'output_text', text, annotations: [] });

/** One server-sent event, as the reference server frames them: `data: <json>` and a blank line. */
export const sseFrame = (event: ThreadStreamEvent): string => `data: ${JSON.stringify(event)}\n\n`;
