/**
 * POST /chatkit against the ChatKit wire format (openai/chatkit-python, chatkit/types.py and server.py):
 * every request type this server answers, the events of a streamed turn, error events, and that the assistant's
 * tool calls really changed tasks, as the caller.
 */
import { sql } from 'slonik';
import { z } from 'zod';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startFakeOpenAi, type FakeOpenAi } from '../helpers/fake-openai.js';
import { signIn, type SignedIn } from '../helpers/users.js';
import { contract } from '../../src/app.js';
import { toolsFromContract } from '../../src/mcp/tools.js';
import { assistantText, chatkit, storedItems, text } from './support.js';

let t: TestApp;
let model: FakeOpenAi;
let alice: SignedIn;
let bob: SignedIn;

beforeAll(async () => {
  model = await startFakeOpenAi();
  t = await startTestApp({ chat: true, env: { CHAT_MODEL: 'fake-model', OPENAI_BASE_URL: model.baseUrl, OPENAI_API_KEY: 'sk-test' } });
  alice = await signIn(t, 'alice');
  bob = await signIn(t, 'bob');
});
afterAll(async () => {
  await t.close();
  await model.close();
});

const TaskRow = z.object({ id: z.number(), title: z.string(), status: z.string(), priority: z.string(), project_id: z.number(), created_by: z.number() });
const tasksOf = (projectId: number) =>
  t.pool.any(sql.type(TaskRow)`select id, title, status, priority, project_id, created_by_id as created_by from task where project_id = ${projectId} order by id`);
const auditClients = (taskId: number) =>
  t.pool.any(sql.type(z.object({ action: z.string(), actor_id: z.number(), actor_type: z.string(), client: z.string().nullable() }))`
    select action, actor_id, actor_type, client from audit_log where entity_type = 'task' and entity_id = ${taskId} order by id`);
const auditActors = (taskId: number) =>
  t.pool.any(sql.type(z.object({ action: z.string(), actor_id: z.number() }))`
    select action, actor_id from audit_log where entity_type = 'task' and entity_id = ${taskId} order by id`);

/** The last tool result the model was sent, parsed. */
const lastToolResult = (r: { messages: { role: string; content?: string | null }[] }) =>
  JSON.parse(r.messages.filter((m) => m.role === 'tool').at(-1)!.content!) as { ok: boolean; body: any };

async function newThread(user: SignedIn, message: string, reply = 'Hello!') {
  model.script({ text: reply });
  const res = await chatkit(user, { type: 'threads.create', params: { input: text(message) } });
  expect(res.status).toBe(200);
  return res.events.find((e) => e.type === 'thread.created')!.thread.id as string;
}

describe('threads.create: a streamed turn with a tool call', () => {
  it('streams the protocol events in order, stores the thread, and the task exists, created by the caller', async () => {
    model.script(
      { toolCalls: [{ name: 'createTask', arguments: { project_id: alice.projectId, title: 'Draft the launch announcement', priority: 'high' } }] },
      (request) => ({ text: `Created task ${lastToolResult(request).body.id}.` }),
    );
    const res = await chatkit(alice, { type: 'threads.create', params: { input: text('Add a high-priority task: draft the launch announcement') } });

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const types = res.events.map((e) => (e.type === 'thread.item.updated' ? `${e.type}:${e.update.type}` : e.type));
    expect(types).toEqual([
      'thread.created',
      'thread.item.done',
      'stream_options',
      'progress_update',
      'thread.item.added',
      'thread.item.updated:assistant_message.content_part.added',
      ...types.filter((x) => x.endsWith('text_delta')),
      'thread.item.updated:assistant_message.content_part.done',
      'thread.item.done',
      'thread.updated',
    ]);
    expect(types.filter((x) => x.endsWith('text_delta')).length).toBeGreaterThan(1);

    const [created, userDone, options, progress, added] = res.events;
    const threadId = created!.thread.id;
    expect(created!.thread).toEqual({ id: expect.stringMatching(/^thr_/), created_at: expect.any(String), status: { type: 'active' }, items: { data: [], has_more: false } });
    expect(userDone!.item).toEqual({
      type: 'user_message',
      id: expect.stringMatching(/^msg_/),
      thread_id: threadId,
      created_at: expect.any(String),
      content: [{ type: 'input_text', text: 'Add a high-priority task: draft the launch announcement' }],
      attachments: [],
      inference_options: {},
    });
    expect(options).toEqual({ type: 'stream_options', stream_options: { allow_cancel: true } });
    expect(progress).toEqual({ type: 'progress_update', text: 'Running createTask…' });
    expect(added!.item).toMatchObject({ type: 'assistant_message', thread_id: threadId, content: [] });
    const deltas = res.events.filter((e) => e.update?.type === 'assistant_message.content_part.text_delta').map((e) => e.update.delta).join('');

    const [task] = await tasksOf(alice.projectId);
    expect(task).toMatchObject({ title: 'Draft the launch announcement', priority: 'high', status: 'pending', created_by: alice.workerId });
    expect(await auditActors(task!.id)).toEqual([{ action: 'task_created', actor_id: alice.workerId }]);
    expect(deltas).toBe(`Created task ${task!.id}.`);
    const done = res.events.filter((e) => e.type === 'thread.item.done').at(-1)!;
    expect(done.item).toEqual({
      type: 'assistant_message',
      id: added!.item.id,
      thread_id: threadId,
      created_at: expect.any(String),
      content: [{ type: 'output_text', text: `Created task ${task!.id}.`, annotations: [] }],
    });
    expect(res.events.at(-1)!.thread).toMatchObject({ id: threadId, title: 'Add a high-priority task: draft the launch announcement' });

    // Stored: user message, the tool call and its result (hidden), the answer.
    const stored = await storedItems(t, threadId);
    expect(stored.map((i) => i.type)).toEqual(['user_message', 'hidden_context_item', 'hidden_context_item', 'assistant_message']);
    expect(stored.map((i) => i.id)).toContain(done.item.id);

    // The model saw the tools and was asked as the caller; the tool ran with the caller's own token.
    const [first, second] = model.requests.slice(-2);
    expect(first!.stream).toBe(true);
    // The same contract-derived tool list as the MCP endpoint: one tool per /api operation.
    const toolNames = first!.tools!.map((x) => x.function.name).sort();
    expect(toolNames).toEqual(toolsFromContract(contract).tools.map((x) => x.name).sort());
    expect(toolNames).toEqual(expect.arrayContaining(['createTask', 'getTask', 'listMyTasks', 'listProjectTasks', 'updateTaskStatus']));
    expect(first!.messages[0]!.role).toBe('system');
    expect(first!.messages[0]!.content).toContain(`id ${alice.projectId}`);
    expect(lastToolResult(second!)).toMatchObject({ ok: true, body: { id: task!.id, title: 'Draft the launch announcement' } });
    expect(first!.authorization).toBe('Bearer sk-test');
  });

  it('lists tasks and completes one in a later message of the same thread', async () => {
    const threadId = await newThread(alice, 'Hi');
    const [existing] = await tasksOf(alice.projectId);
    model.script(
      { toolCalls: [{ name: 'listProjectTasks', arguments: { project_id: alice.projectId, status: ['pending'] } }] },
      (request) => ({ toolCalls: [{ name: 'updateTaskStatus', arguments: { task_id: lastToolResult(request).body.items[0].id, status: 'completed' } }] }),
      { text: 'Done: it is completed.' },
    );
    const res = await chatkit(alice, { type: 'threads.add_user_message', params: { thread_id: threadId, input: text('Complete my pending task') } });

    expect(res.status).toBe(200);
    expect(res.events[0]).toMatchObject({ type: 'thread.item.done', item: { type: 'user_message', thread_id: threadId } });
    expect(res.events.filter((e) => e.type === 'progress_update').map((e) => e.text)).toEqual(['Running listProjectTasks…', 'Running updateTaskStatus…']);
    expect(assistantText(res.events)).toEqual(['Done: it is completed.']);
    expect(res.events.some((e) => e.type === 'thread.created' || e.type === 'thread.updated')).toBe(false);
    expect((await tasksOf(alice.projectId)).find((x) => x.id === existing!.id)!.status).toBe('completed');
    expect((await auditActors(existing!.id)).at(-1)).toEqual({ action: 'status_changed', actor_id: alice.workerId });

    // The model was given the whole thread: the earlier turn, then this message.
    const request = model.requests.at(-3)!;
    expect(request.messages.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['Hi', 'Complete my pending task']);
    expect(request.messages.filter((m) => m.role === 'assistant').map((m) => m.content)).toEqual(['Hello!']);
  });

  it("records a tool call's audit entry as the user, with client chat", async () => {
    const threadId = await newThread(alice, 'Audit me');
    model.script(
      { toolCalls: [{ name: 'createTask', arguments: { project_id: alice.projectId, title: 'Written by chat' } }] },
      (request) => ({ text: `Created task ${lastToolResult(request).body.id}.` }),
    );
    const res = await chatkit(alice, { type: 'threads.add_user_message', params: { thread_id: threadId, input: text('Add a task: Written by chat') } });
    expect(res.status).toBe(200);
    const task = (await tasksOf(alice.projectId)).find((x) => x.title === 'Written by chat');
    expect(task).toBeDefined();
    expect(await auditClients(task!.id)).toEqual([{ action: 'task_created', actor_id: alice.workerId, actor_type: 'human', client: 'chat' }]);

    // The same user's own request to the API is not attributed to chat.
    const direct = await alice.request('PATCH', `/api/tasks/${task!.id}`, { body: { title: 'Renamed directly' } });
    expect(direct.status).toBe(200);
    expect((await auditClients(task!.id)).at(-1)).toEqual({ action: 'task_updated', actor_id: alice.workerId, actor_type: 'human', client: null });
  });

  it('lets no external request claim client chat: not by header, not by a token naming it', async () => {
    const [task] = await tasksOf(alice.projectId);
    for (const value of ['chat', '1', crypto.randomUUID() + crypto.randomUUID()]) {
      const res = await alice.request('PATCH', `/api/tasks/${task!.id}`, { headers: { 'x-taskflow-dispatch': value }, body: { title: `Forged ${value.length}` } });
      expect(res.status).toBe(200);
      expect((await auditClients(task!.id)).at(-1)).toEqual({ action: 'task_updated', actor_id: alice.workerId, actor_type: 'human', client: null });
    }
    for (const claim of ['azp', 'client_id']) {
      const token = await t.sso.mint({ sub: 'alice', email: 'alice@example.test', name: 'alice', [claim]: 'chat' });
      const res = await t.request('PATCH', `/api/tasks/${task!.id}`, { headers: { authorization: `Bearer ${token}` }, body: { title: `Token ${claim}` } });
      expect(res.status).toBe(200);
      expect((await auditClients(task!.id)).at(-1)).toEqual({ action: 'task_updated', actor_id: alice.workerId, actor_type: 'human', client: null });
    }
  });

  it('hands a refused tool call back to the model as the API problem, and changes nothing', async () => {
    const threadId = await newThread(alice, 'Hi again');
    const before = await tasksOf(bob.projectId);
    model.script(
      { toolCalls: [{ name: 'createTask', arguments: { project_id: bob.projectId, title: 'Sneaky' } }] },
      (request) => ({ text: `Refused: ${lastToolResult(request).body.type}` }),
    );
    const res = await chatkit(alice, { type: 'threads.add_user_message', params: { thread_id: threadId, input: text("Add a task to Bob's project") } });
    expect(assistantText(res.events)).toEqual(['Refused: https://taskflow.dev/problems/project-not-found']);
    expect(lastToolResult(model.requests.at(-1)!).ok).toBe(false);
    expect(await tasksOf(bob.projectId)).toEqual(before);
  });

  it('answers a tool call with invalid JSON arguments to the model, not with a failure', async () => {
    const threadId = await newThread(alice, 'One more');
    model.script(
      () => ({ toolCalls: [{ name: 'getTask', arguments: 'not an object' }] }),
      (request) => ({ text: `Tool said: ${lastToolResult(request).body.detail}` }),
    );
    const res = await chatkit(alice, { type: 'threads.add_user_message', params: { thread_id: threadId, input: text('Read a task') } });
    expect(assistantText(res.events)[0]).toMatch(/^Tool said: Invalid arguments/);
  });
});

describe('JSON requests', () => {
  it('threads.get_by_id returns the thread with its visible items, oldest first', async () => {
    const threadId = await newThread(alice, 'What is due?', 'Nothing today.');
    const res = await chatkit(alice, { type: 'threads.get_by_id', params: { thread_id: threadId } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toMatchObject({ id: threadId, title: 'What is due?', status: { type: 'active' }, items: { has_more: false } });
    expect(res.body.items.data.map((i: any) => [i.type, i.content[0].text])).toEqual([
      ['user_message', 'What is due?'],
      ['assistant_message', 'Nothing today.'],
    ]);
  });

  it('threads.list pages the caller\'s threads newest first with has_more and after, and never shows others\'', async () => {
    await newThread(bob, "Bob's thread");
    const all = await chatkit(alice, { type: 'threads.list', params: { limit: 100 } });
    const ids = all.body.data.map((x: any) => x.id);
    expect(ids.length).toBeGreaterThanOrEqual(4);
    expect(all.body.data.every((x: any) => x.title !== "Bob's thread")).toBe(true);
    expect(all.body.has_more).toBe(false);
    expect(all.body.after).toBeUndefined();

    const first = await chatkit(alice, { type: 'threads.list', params: { limit: 2 } });
    expect(first.body).toMatchObject({ has_more: true, after: ids[1] });
    const second = await chatkit(alice, { type: 'threads.list', params: { limit: 2, after: first.body.after } });
    expect(second.body.data.map((x: any) => x.id)).toEqual(ids.slice(2, 4));
    const ascending = await chatkit(alice, { type: 'threads.list', params: { limit: 100, order: 'asc' } });
    expect(ascending.body.data.map((x: any) => x.id)).toEqual([...ids].reverse());
  });

  it('items.list pages a thread in both orders and leaves out the hidden tool context', async () => {
    const [first] = (await chatkit(alice, { type: 'threads.list', params: { limit: 100, order: 'asc' } })).body.data;
    const all = await chatkit(alice, { type: 'items.list', params: { thread_id: first.id, order: 'asc', limit: 100 } });
    expect(all.body.data.map((i: any) => i.type)).toEqual(['user_message', 'assistant_message']);
    const page1 = await chatkit(alice, { type: 'items.list', params: { thread_id: first.id, limit: 1 } });
    expect(page1.body).toMatchObject({ data: [{ type: 'assistant_message' }], has_more: true });
    const page2 = await chatkit(alice, { type: 'items.list', params: { thread_id: first.id, limit: 1, after: page1.body.after } });
    expect(page2.body).toEqual({ data: [all.body.data[0]], has_more: false });
  });

  it('threads.update renames; threads.delete removes the thread and its items', async () => {
    const threadId = await newThread(alice, 'Temporary');
    const renamed = await chatkit(alice, { type: 'threads.update', params: { thread_id: threadId, title: 'Launch planning' } });
    expect(renamed.body).toMatchObject({ id: threadId, title: 'Launch planning', items: { data: [], has_more: false } });
    expect((await storedItems(t, threadId)).length).toBe(2);

    const deleted = await chatkit(alice, { type: 'threads.delete', params: { thread_id: threadId } });
    expect(deleted).toMatchObject({ status: 200, body: {} });
    expect(await storedItems(t, threadId)).toEqual([]);
    expect((await chatkit(alice, { type: 'threads.get_by_id', params: { thread_id: threadId } })).status).toBe(404);
  });

  it('items.feedback is acknowledged with {}', async () => {
    const threadId = await newThread(alice, 'Rate me');
    const items = await storedItems(t, threadId);
    const res = await chatkit(alice, { type: 'items.feedback', params: { thread_id: threadId, item_ids: [items[1]!.id], kind: 'positive' } });
    expect(res).toMatchObject({ status: 200, body: {} });
  });

  it('attachments.create stores metadata; a message can carry it; attachments.delete removes it', async () => {
    const created = await chatkit(alice, { type: 'attachments.create', params: { name: 'launch-plan.pdf', size: 1234, mime_type: 'application/pdf' } });
    expect(created.body).toEqual({ type: 'file', id: expect.stringMatching(/^atc_/), name: 'launch-plan.pdf', mime_type: 'application/pdf' });
    model.script({ text: 'Got the file.' });
    const res = await chatkit(alice, {
      type: 'threads.create',
      params: { input: { ...text('See the plan'), attachments: [created.body.id], quoted_text: 'the plan' } },
    });
    expect(res.events[1]!.item).toMatchObject({ attachments: [created.body], quoted_text: 'the plan' });
    expect(model.requests.at(-1)!.messages.at(-1)!.content).toBe('> the plan\n\nSee the plan\n\n(attached: launch-plan.pdf [application/pdf])');

    expect((await chatkit(bob, { type: 'attachments.delete', params: { attachment_id: created.body.id } })).status).toBe(404);
    expect((await chatkit(alice, { type: 'attachments.delete', params: { attachment_id: created.body.id } })).body).toEqual({});
    expect((await chatkit(alice, { type: 'attachments.delete', params: { attachment_id: created.body.id } })).status).toBe(404);
  });
});

describe('ownership', () => {
  it("another user's thread is a 404 for every request type, and nothing is stored", async () => {
    const threadId = await newThread(alice, 'Private');
    const before = await storedItems(t, threadId);
    const calls = [
      { type: 'threads.get_by_id', params: { thread_id: threadId } },
      { type: 'threads.update', params: { thread_id: threadId, title: 'Mine now' } },
      { type: 'threads.delete', params: { thread_id: threadId } },
      { type: 'items.list', params: { thread_id: threadId } },
      { type: 'items.feedback', params: { thread_id: threadId, item_ids: [before[0]!.id], kind: 'negative' } },
      { type: 'threads.add_user_message', params: { thread_id: threadId, input: text('hijack') } },
      { type: 'threads.retry_after_item', params: { thread_id: threadId, item_id: before[0]!.id } },
    ];
    for (const call of calls) {
      const res = await chatkit(bob, call);
      expect([call.type, res.status, res.body.type]).toEqual([call.type, 404, 'https://taskflow.dev/problems/thread-not-found']);
    }
    expect(await storedItems(t, threadId)).toEqual(before);
    expect((await chatkit(alice, { type: 'threads.get_by_id', params: { thread_id: threadId } })).body.title).toBe('Private');
  });

  it('ignores a user id in the request metadata', async () => {
    const threadId = await newThread(alice, 'Mine');
    const res = await chatkit(bob, { type: 'threads.get_by_id', params: { thread_id: threadId }, metadata: { user_id: 'alice' } });
    expect(res.status).toBe(404);
  });

  it('needs a token: 401 with WWW-Authenticate', async () => {
    const res = await t.request('POST', '/chatkit', { body: { type: 'threads.list', params: {} } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });
});

describe('protocol errors', () => {
  it.each(['threads.custom_action', 'threads.add_client_tool_output'])('%s is answered with one error event', async (type) => {
    const res = await chatkit(alice, { type, params: { thread_id: 'thr_x', action: { type: 'x' }, result: 1 } });
    expect(res.status).toBe(200);
    expect(res.events).toEqual([{ type: 'error', code: 'custom', message: `${type} is not supported by this server`, allow_retry: false }]);
  });

  it('an unknown request type is a 422 naming /body/type', async () => {
    const res = await chatkit(alice, { type: 'threads.fork', params: {} });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([expect.objectContaining({ pointer: '/body/type' })]);
  });

  it('a missing or wrong parameter is a 422 naming it', async () => {
    const missing = await chatkit(alice, { type: 'threads.get_by_id', params: {} });
    expect(missing.body.errors).toEqual([expect.objectContaining({ pointer: '/body/params/thread_id' })]);
    const wrong = await chatkit(alice, { type: 'threads.list', params: { limit: 0, order: 'sideways' } });
    expect(wrong.body.errors.map((e: any) => e.pointer).sort()).toEqual(['/body/params/limit', '/body/params/order']);
    const empty = await chatkit(alice, { type: 'threads.create', params: { input: { content: [], attachments: [] } } });
    expect(empty.body.errors).toEqual([expect.objectContaining({ pointer: '/body/params/input/content' })]);
  });

  it('a NUL character anywhere is a 422 naming the field, and nothing is stored', async () => {
    const before = (await chatkit(alice, { type: 'threads.list', params: { limit: 100 } })).body.data.length;
    const res = await chatkit(alice, { type: 'threads.create', params: { input: text('bad\u0000text') } });
    expect([res.status, res.body.errors]).toEqual([422, [{ pointer: '/body/params/input/content/0/text', message: 'must not contain NUL' }]]);
    const tag = {
      type: 'threads.create',
      params: { input: { ...text('x'), content: [{ type: 'input_tag', id: 't', text: 'tag', data: { note: 'a\u0000b' } }] } },
    };
    expect((await chatkit(alice, tag)).body.errors[0].pointer).toBe('/body/params/input/content/0/data/note');
    expect((await chatkit(alice, { type: 'threads.list', params: { limit: 100 } })).body.data.length).toBe(before);
  });

  it('a body that is not an object, or not JSON, is refused like everywhere else', async () => {
    expect((await chatkit(alice, [])).status).toBe(422);
    const broken = await alice.request('POST', '/chatkit', { rawBody: '{"type":', headers: { 'content-type': 'application/json' } });
    expect([broken.status, broken.body.type]).toEqual([400, 'https://taskflow.dev/problems/malformed-json']);
  });

  it('an unknown attachment or item is a 404 and stores nothing', async () => {
    const threads = await chatkit(alice, { type: 'threads.list', params: { limit: 100 } });
    const count = threads.body.data.length;
    const res = await chatkit(alice, { type: 'threads.create', params: { input: { ...text('with a file'), attachments: ['atc_missing'] } } });
    expect([res.status, res.body.type]).toEqual([404, 'https://taskflow.dev/problems/chat-item-not-found']);
    expect((await chatkit(alice, { type: 'threads.list', params: { limit: 100 } })).body.data.length).toBe(count);
    const threadId = threads.body.data[0].id;
    const retry = await chatkit(alice, { type: 'threads.retry_after_item', params: { thread_id: threadId, item_id: 'msg_missing' } });
    expect([retry.status, retry.body.type]).toEqual([404, 'https://taskflow.dev/problems/chat-item-not-found']);
  });
});

describe('readiness', () => {
  it('reports the conversations database', async () => {
    const res = await t.request('GET', '/health/ready');
    expect(res.body).toEqual({ status: 'ready', database: 'ok', chat_database: 'ok' });
  });
});
