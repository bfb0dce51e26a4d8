/**
 * POST /chatkit: the ChatKit server protocol. One express handler, mounted by app.ts beside the openapi-backend
 * pipeline rather than in its handler map: the protocol answers streaming requests with server-sent events and
 * reports failures inside the stream, which the typed reply pipeline cannot express. What it shares with every
 * other operation is taken from there: the caller is authenticated and rate-limited by the same function as
 * the `bearerAuth` scheme, bodies are parsed by the same JSON parser, and failures before a stream starts are
 * the catalog's RFC 9457 problems, sent by the same error middleware.
 */
import type { NextFunction, Request, Response } from 'express';
import type OpenAI from 'openai';
import type { DatabasePool } from '../db/index.js';
import { toProblem } from '../http/errors.js';
import { ProblemError, type FieldError } from '../http/problem.js';
import { requestLog } from '../observability/access-log.js';
import { sendReply } from '../http/reply.js';
import type { Principal } from '../http/principal.js';
import * as store from './chat.sql.js';
import { ChatKitRequest, STREAMING_TYPES, UNSUPPORTED_TYPES, sseFrame, type RequestOf, type ThreadItem, type ThreadStreamEvent, type UserMessageInput, type UserMessageItem } from './protocol.js';
import { newId, toAttachment, toItem, toPage, toThread } from './to-chat.js';
import type { ChatTools } from './tools.js';
import { runTurn, TurnError, type ModelSettings } from './turn.js';

export interface ChatKitDeps {
  /** The conversations database; absent when none is configured. */
  pool?: DatabasePool;
  /** The assistant; absent when CHAT_MODEL is not set. */
  model?: { openai: OpenAI; settings: ModelSettings };
  /** The tools for a request (the bridge needs the address the request came in on). */
  toolsFor?: (req: Request) => ChatTools;
  /** The API's own authentication and per-user rate limit (app.ts). */
  authenticate: (req: Request, res: Response) => Promise<Principal>;
}

const DEFAULT_PAGE_SIZE = 20;
/** The newest items of a thread the model is given. */
const HISTORY_ITEMS = 200;
const TITLE_LENGTH = 60;

const ownerOf = (p: Principal): store.Owner => ({ tenantId: p.tenantId, userId: p.userId });

/** zod issues as the catalog's field errors, pointing into the request body. */
function toFieldErrors(issues: readonly { path: readonly PropertyKey[]; message: string }[]): FieldError[] {
  return issues.map((i) => ({ pointer: ['/body', ...i.path.map(String)].join('/'), message: i.message }));
}

function parseRequest(body: unknown): ChatKitRequest | { unsupported: string } {
  const type = (body as { type?: unknown } | null)?.type;
  if (typeof type === 'string' && (UNSUPPORTED_TYPES as readonly string[]).includes(type)) return { unsupported: type };
  const parsed = ChatKitRequest.safeParse(body);
  if (!parsed.success) {
    throw new ProblemError('validation-failed', { detail: 'Not a ChatKit request this server understands; see errors', errors: toFieldErrors(parsed.error.issues) });
  }
  // PostgreSQL cannot store NUL in text or jsonb: refused here, naming the field, rather than failing there.
  const nul = pointerToNul(parsed.data, '/body');
  if (nul) throw new ProblemError('validation-failed', { detail: 'Some fields are not valid; see errors', errors: [{ pointer: nul, message: 'must not contain NUL' }] });
  return parsed.data;
}

function pointerToNul(value: unknown, pointer: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? pointer : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, child] of Object.entries(value)) {
    const found = key.includes('\u0000') ? `${pointer}/${key}` : pointerToNul(child, `${pointer}/${key}`);
    if (found) return found;
  }
  return undefined;
}

/** A failure of the conversations database becomes a chat-specific 503: the rest of the API is unaffected. */
function chatProblem(err: unknown, req: Request): unknown {
  if (err instanceof ProblemError || toProblem(err).problem.status !== 503) return err;
  requestLog(req)?.warn({ err }, 'conversations database unavailable');
  return new ProblemError('chat-unavailable', { detail: 'The conversations database is unreachable; tasks still work', headers: { 'Retry-After': '5' }, cause: err });
}

export function chatKitHandler(deps: ChatKitDeps) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    res.locals.operationId = 'chatKit';
    let principal: Principal;
    try {
      principal = await deps.authenticate(req, res);
    } catch (err) {
      return next(err);
    }
    try {
      const { pool, model, toolsFor } = deps;
      if (!pool) throw new ProblemError('chat-unavailable', { detail: 'No conversations database is configured (CHAT_DATABASE_URL), or it was unreachable when the server started' });
      if (!model || !toolsFor) throw new ProblemError('chat-unavailable', { detail: 'No assistant model is configured (CHAT_MODEL)' });
      const request = parseRequest(req.body);
      if ('unsupported' in request) {
        const message = `${request.unsupported} is not supported by this server`;
        await stream(req, res, [{ type: 'error', code: 'custom', message, allow_retry: false }], async function* () {});
        return;
      }
      const ctx: Ctx = { pool, model, toolsFor, principal, owner: ownerOf(principal), req, res };
      if (isStreaming(request)) await streaming(ctx, request);
      else sendReply(res, { status: 200, body: await nonStreaming(ctx, request) });
    } catch (err) {
      next(chatProblem(err, req));
    }
  };
}

interface Ctx {
  pool: DatabasePool;
  model: NonNullable<ChatKitDeps['model']>;
  toolsFor: NonNullable<ChatKitDeps['toolsFor']>;
  principal: Principal;
  owner: store.Owner;
  req: Request;
  res: Response;
}

async function requireThread(ctx: Ctx, threadId: string) {
  const thread = await store.findThread(ctx.pool, ctx.owner, threadId);
  if (!thread) throw new ProblemError('thread-not-found', { detail: `Thread ${threadId} does not exist or is not yours` });
  return thread;
}

// ------------------------------------------------------------------------------------------ JSON requests

type NonStreamingRequest = Exclude<ChatKitRequest, { type: 'threads.create' | 'threads.add_user_message' | 'threads.retry_after_item' }>;

async function nonStreaming(ctx: Ctx, request: NonStreamingRequest): Promise<unknown> {
  const { pool, owner } = ctx;
  switch (request.type) {
    case 'threads.get_by_id': {
      const thread = await requireThread(ctx, request.params.thread_id);
      const items = await store.listItemsPage(pool, thread.id, { limit: DEFAULT_PAGE_SIZE, order: 'asc' }, true);
      return toThread(thread, toPage(items, DEFAULT_PAGE_SIZE, toItem));
    }
    case 'threads.list': {
      const limit = request.params.limit ?? DEFAULT_PAGE_SIZE;
      const rows = await store.listThreadsPage(pool, owner, { limit, order: request.params.order, after: request.params.after });
      return toPage(rows, limit, (row) => toThread(row));
    }
    case 'threads.update': {
      const thread = await store.updateThreadTitle(pool, owner, request.params.thread_id, request.params.title.trim() || null);
      if (!thread) throw new ProblemError('thread-not-found', { detail: `Thread ${request.params.thread_id} does not exist or is not yours` });
      return toThread(thread);
    }
    case 'threads.delete':
      if (!(await store.deleteThread(pool, owner, request.params.thread_id))) {
        throw new ProblemError('thread-not-found', { detail: `Thread ${request.params.thread_id} does not exist or is not yours` });
      }
      return {};
    case 'items.list': {
      const thread = await requireThread(ctx, request.params.thread_id);
      const limit = request.params.limit ?? DEFAULT_PAGE_SIZE;
      const rows = await store.listItemsPage(pool, thread.id, { limit, order: request.params.order, after: request.params.after }, true);
      return toPage(rows, limit, toItem);
    }
    case 'items.feedback':
      // Accepted and acknowledged as the reference server does by default; feedback is not stored.
      await requireThread(ctx, request.params.thread_id);
      return {};
    case 'attachments.create': {
      const { name, size, mime_type: mimeType } = request.params;
      return toAttachment(await store.insertAttachment(pool, owner, { id: newId('atc'), name, size, mimeType }));
    }
    case 'attachments.delete':
      if (!(await store.deleteAttachment(pool, owner, request.params.attachment_id))) {
        throw new ProblemError('chat-item-not-found', { detail: `Attachment ${request.params.attachment_id} does not exist or is not yours` });
      }
      return {};
  }
}

// ------------------------------------------------------------------------------------------ streaming requests

type StreamingRequest = RequestOf<'threads.create'> | RequestOf<'threads.add_user_message'> | RequestOf<'threads.retry_after_item'>;
const isStreaming = (r: ChatKitRequest): r is StreamingRequest => STREAMING_TYPES.has(r.type);

async function userMessage(ctx: Ctx, db: Parameters<typeof store.insertItem>[0], threadId: string, input: UserMessageInput): Promise<UserMessageItem> {
  const attachments = input.attachments.length ? await store.findAttachments(db, ctx.owner, input.attachments) : [];
  const missing = input.attachments.filter((id) => !attachments.some((a) => a.id === id));
  if (missing.length) throw new ProblemError('chat-item-not-found', { detail: `Attachment ${missing.join(', ')} does not exist or is not yours` });
  const { tool_choice, model } = input.inference_options;
  const body = {
    content: input.content.map(withoutNulls),
    attachments: attachments.map(toAttachment),
    ...(input.quoted_text ? { quoted_text: input.quoted_text } : {}),
    inference_options: { ...(tool_choice ? { tool_choice } : {}), ...(model ? { model } : {}) },
  };
  return toItem(await store.insertItem(db, { id: newId('msg'), threadId, type: 'user_message', body })) as UserMessageItem;
}

/** The reference server omits absent fields rather than sending null. */
const withoutNulls = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v != null)) as T;

/** Prepares the turn in one transaction (404s and 422s are still problems), then streams it. */
async function streaming(ctx: Ctx, request: StreamingRequest): Promise<void> {
  const { pool, owner } = ctx;
  const opening: ThreadStreamEvent[] = [];
  let threadId: string;
  let newTitle: string | undefined;
  if (request.type === 'threads.create') {
    const { thread, item } = await pool.transaction(async (tx) => {
      const thread = await store.insertThread(tx, owner, newId('thr'));
      return { thread, item: await userMessage(ctx, tx, thread.id, request.params.input) };
    });
    threadId = thread.id;
    newTitle = titleOf(item);
    opening.push({ type: 'thread.created', thread: toThread(thread) }, { type: 'thread.item.done', item });
  } else if (request.type === 'threads.add_user_message') {
    threadId = request.params.thread_id;
    const item = await pool.transaction(async (tx) => {
      if (!(await store.lockThread(tx, owner, threadId))) throw new ProblemError('thread-not-found', { detail: `Thread ${threadId} does not exist or is not yours` });
      const item = await userMessage(ctx, tx, threadId, request.params.input);
      await store.touchThread(tx, threadId);
      return item;
    });
    opening.push({ type: 'thread.item.done', item });
  } else {
    threadId = request.params.thread_id;
    const { item_id: itemId } = request.params;
    await pool.transaction(async (tx) => {
      if (!(await store.lockThread(tx, owner, threadId))) throw new ProblemError('thread-not-found', { detail: `Thread ${threadId} does not exist or is not yours` });
      const item = await store.findItem(tx, threadId, itemId);
      if (!item) throw new ProblemError('chat-item-not-found', { detail: `Item ${itemId} is not in thread ${threadId}` });
      if (item.type !== 'user_message') {
        throw new ProblemError('validation-failed', { detail: 'Only a user message can be retried', errors: [{ pointer: '/body/params/item_id', message: 'must be a user message' }] });
      }
      await store.deleteItemsAfter(tx, threadId, item.seq);
    });
  }
  await stream(ctx.req, ctx.res, opening, (signal) => respond(ctx, threadId, newTitle, signal));
}

const titleOf = (item: UserMessageItem): string | undefined => {
  const text = item.content.map((c) => c.text).join(' ').replace(/\s+/g, ' ').trim();
  if (!text) return undefined;
  return text.length > TITLE_LENGTH ? `${text.slice(0, TITLE_LENGTH - 1).trimEnd()}…` : text;
};

/** The reference server's processing of a turn: stream options, the model's events (done items stored), errors as events. */
async function* respond(ctx: Ctx, threadId: string, newTitle: string | undefined, signal: AbortSignal): AsyncGenerator<ThreadStreamEvent> {
  const { pool, model } = ctx;
  yield { type: 'stream_options', stream_options: { allow_cancel: true } };
  try {
    const history = (await store.listRecentItems(pool, threadId, HISTORY_ITEMS)).map(toItem);
    const turn = runTurn({
      openai: model.openai,
      model: model.settings,
      threadId,
      history,
      tools: ctx.toolsFor(ctx.req),
      caller: { authorization: ctx.req.headers.authorization, client: 'chat' },
      principal: ctx.principal,
      signal,
    });
    for await (const event of turn) {
      if (event.type === 'thread.item.done') await store.insertItem(pool, toRow(event.item));
      if (event.type === 'thread.item.done' && event.item.type === 'hidden_context_item') continue;
      yield event;
    }
  } catch (err) {
    if (err instanceof TurnError) {
      if (!signal.aborted) yield { type: 'error', code: 'custom', message: err.message, allow_retry: err.allowRetry };
    } else if (!signal.aborted) {
      requestLog(ctx.req)?.error({ err }, 'chat turn failed');
      yield { type: 'error', code: 'stream.error', allow_retry: true };
    }
  }
  // A new thread is titled after its first message, even when the client went away meanwhile.
  if (newTitle) {
    const thread = await store.updateThreadTitle(pool, ctx.owner, threadId, newTitle).catch(() => null);
    if (thread && !signal.aborted) yield { type: 'thread.updated', thread: toThread(thread) };
  }
}

function toRow(item: ThreadItem) {
  const { id, thread_id: threadId, created_at: _createdAt, type, ...body } = item;
  return { id, threadId, type, body: body as Record<string, unknown> };
}

/** Sends events as `text/event-stream`; the client going away aborts the model call. */
async function stream(
  req: Request,
  res: Response,
  opening: readonly ThreadStreamEvent[],
  events: (signal: AbortSignal) => AsyncIterable<ThreadStreamEvent>,
): Promise<void> {
  if (res.headersSent) return; // answered already (the request deadline passed while the turn was prepared)
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  res.status(200).set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
  res.flushHeaders();
  for (const event of opening) res.write(sseFrame(event));
  try {
    for await (const event of events(abort.signal)) {
      if (abort.signal.aborted) break;
      res.write(sseFrame(event));
    }
  } catch (err) {
    requestLog(req)?.error({ err }, 'chat stream failed');
    if (!abort.signal.aborted) res.write(sseFrame({ type: 'error', code: 'stream.error', allow_retry: true }));
  }
  res.end();
}
