/**
 * One assistant turn: the model is given the conversation and the tools, calls tools (as the caller, through
 * ChatTools) for at most `maxSteps` rounds, and answers. Everything it does comes out as protocol events; the
 * caller (chatkit.handlers.ts) stores each `thread.item.done` and forwards the events the client may see.
 */
import type OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionMessageToolCall, ChatCompletionTool } from 'openai/resources/chat/completions';
import type { Principal } from '../http/principal.js';
import { outputText, type AssistantMessageItem, type HiddenContextItem, type ThreadItem, type ThreadStreamEvent } from './protocol.js';
import { newId } from './to-chat.js';
import type { ChatTools, ToolCaller } from './tools.js';

export interface ModelSettings {
  name: string;
  timeoutMs: number;
  stream: boolean;
  maxSteps: number;
}

export interface TurnInput {
  openai: OpenAI;
  model: ModelSettings;
  threadId: string;
  /** The thread so far, oldest first, the new user message last. */
  history: readonly ThreadItem[];
  tools: ChatTools;
  caller: ToolCaller;
  principal: Principal;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

/** A failure the user should read as it is (the reference server's CustomStreamError). */
export class TurnError extends Error {
  readonly allowRetry: boolean;
  constructor(message: string, allowRetry: boolean) {
    super(message);
    this.name = 'TurnError';
    this.allowRetry = allowRetry;
  }
}

const now = () => new Date().toISOString();

function systemPrompt(p: Principal): string {
  return [
    `You are the TaskFlow assistant. You help ${p.workerName} (@${p.handle}) manage their tasks by calling the tools you are given,`,
    `which act as this user with their permissions. Their personal default project has id ${p.defaultProjectId}: use it when they name no project.`,
    'Never invent ids: look tasks up first. After changing something, say briefly what you changed. The time now is ' + now() + '.',
  ].join(' ');
}

/** The stored thread as chat messages: user and assistant text, and the tool calls kept as hidden context. */
export function toModelMessages(history: readonly ThreadItem[]): ChatCompletionMessageParam[] {
  const messages: ChatCompletionMessageParam[] = [];
  for (const item of history) {
    if (item.type === 'user_message') {
      const text = item.content.map((c) => c.text).join('\n');
      const quoted = item.quoted_text ? `> ${item.quoted_text}\n\n` : '';
      const files = item.attachments.length ? `\n\n(attached: ${item.attachments.map((a) => `${a.name} [${a.mime_type}]`).join(', ')})` : '';
      messages.push({ role: 'user', content: quoted + text + files });
    } else if (item.type === 'assistant_message') {
      messages.push({ role: 'assistant', content: item.content.map((c) => c.text).join('\n') });
    } else if (item.type === 'hidden_context_item') {
      messages.push(item.content as ChatCompletionMessageParam);
    }
  }
  // A history cut at its start may begin with tool results whose call is gone: the model API refuses those.
  while (messages[0]?.role === 'tool') messages.shift();
  return messages;
}

interface ModelReply {
  text: string;
  toolCalls: ChatCompletionMessageToolCall[];
}

const hidden = (threadId: string, content: ChatCompletionMessageParam): HiddenContextItem => ({
  type: 'hidden_context_item',
  id: newId('ctx'),
  thread_id: threadId,
  created_at: now(),
  content,
});

export async function* runTurn(input: TurnInput): AsyncGenerator<ThreadStreamEvent> {
  const { openai, model, threadId, tools, caller } = input;
  const specs: ChatCompletionTool[] = tools.list().map((t) => ({
    type: 'function',
    function: { name: t.name, description: t.description, parameters: t.parameters },
  }));
  const messages: ChatCompletionMessageParam[] = [{ role: 'system', content: systemPrompt(input.principal) }, ...toModelMessages(input.history)];

  for (let step = 0; step < model.maxSteps; step++) {
    const item: AssistantMessageItem = { type: 'assistant_message', id: newId('msg'), thread_id: threadId, created_at: now(), content: [] };
    const signal = AbortSignal.any([input.signal, AbortSignal.timeout(model.timeoutMs)]);
    const events: ThreadStreamEvent[] = [];
    let reply: ModelReply;
    try {
      reply = model.stream
        ? yield* streamed(openai, model.name, messages, specs, signal, item)
        : await complete(openai, model.name, messages, specs, signal);
    } catch (err) {
      if (input.signal.aborted) throw err;
      throw new TurnError(signal.aborted ? `The assistant did not answer within ${model.timeoutMs / 1000} s.` : 'The assistant is unavailable right now.', true);
    }
    if (reply.text) {
      if (!model.stream) events.push({ type: 'thread.item.added', item: { ...item } });
      item.content = [outputText(reply.text)];
      events.push(
        { type: 'thread.item.updated', item_id: item.id, update: { type: 'assistant_message.content_part.done', content_index: 0, content: item.content[0]! } },
        { type: 'thread.item.done', item },
      );
      yield* events;
    }
    if (reply.toolCalls.length === 0) {
      if (!reply.text) throw new TurnError('The assistant gave no answer.', true);
      return;
    }

    const call: ChatCompletionMessageParam = { role: 'assistant', content: null, tool_calls: reply.toolCalls };
    messages.push(call);
    yield { type: 'thread.item.done', item: hidden(threadId, call) };
    for (const toolCall of reply.toolCalls) {
      if (toolCall.type !== 'function') continue;
      const { name } = toolCall.function;
      yield { type: 'progress_update', text: `Running ${name}…` };
      let output: unknown;
      try {
        const args = JSON.parse(toolCall.function.arguments || '{}') as unknown;
        if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new SyntaxError('arguments must be a JSON object');
        output = await tools.call(name, args as Record<string, unknown>, caller);
      } catch (err) {
        if (input.signal.aborted) throw err;
        output = { ok: false, body: { detail: err instanceof SyntaxError ? `Invalid arguments: ${err.message}` : `The tool failed: ${String(err)}` } };
      }
      const result: ChatCompletionMessageParam = { role: 'tool', tool_call_id: toolCall.id, content: JSON.stringify(output) };
      messages.push(result);
      yield { type: 'thread.item.done', item: hidden(threadId, result) };
    }
  }
  throw new TurnError(`The assistant stopped after ${model.maxSteps} steps without an answer.`, false);
}

async function complete(
  openai: OpenAI,
  model: string,
  messages: ChatCompletionMessageParam[],
  tools: ChatCompletionTool[],
  signal: AbortSignal,
): Promise<ModelReply> {
  const completion = await openai.chat.completions.create({ model, messages, ...(tools.length ? { tools } : {}) }, { signal });
  const message = completion.choices[0]?.message;
  if (!message) throw new Error('the model answered no choice');
  return { text: message.content ?? '', toolCalls: message.tool_calls ?? [] };
}

/** Streams the model's answer: text deltas go out as they come; tool call fragments are assembled by index. */
async function* streamed(
  openai: OpenAI,
  model: string,
  messages: ChatCompletionMessageParam[],
  tools: ChatCompletionTool[],
  signal: AbortSignal,
  item: AssistantMessageItem,
): AsyncGenerator<ThreadStreamEvent, ModelReply> {
  const stream = await openai.chat.completions.create({ model, messages, stream: true, ...(tools.length ? { tools } : {}) }, { signal });
  let text = '';
  const calls: { id: string; name: string; arguments: string }[] = [];
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta;
    if (!delta) continue;
    if (delta.content) {
      if (!text) {
        yield { type: 'thread.item.added', item: { ...item, content: [] } };
        yield { type: 'thread.item.updated', item_id: item.id, update: { type: 'assistant_message.content_part.added', content_index: 0, content: outputText('') } };
      }
      text += delta.content;
      yield { type: 'thread.item.updated', item_id: item.id, update: { type: 'assistant_message.content_part.text_delta', content_index: 0, delta: delta.content } };
    }
    for (const fragment of delta.tool_calls ?? []) {
      const call = (calls[fragment.index] ??= { id: '', name: '', arguments: '' });
      if (fragment.id) call.id = fragment.id;
      if (fragment.function?.name) call.name += fragment.function.name;
      if (fragment.function?.arguments) call.arguments += fragment.function.arguments;
    }
  }
  // The client ends an aborted stream quietly, as if the model had finished.
  if (signal.aborted) throw signal.reason ?? new Error('aborted');
  return {
    text,
    toolCalls: calls.filter(Boolean).map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })),
  };
}
