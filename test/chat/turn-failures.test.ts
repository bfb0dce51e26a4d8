/**
 * A turn that fails — the model errs, is too slow, breaks off mid-stream or never stops calling tools — ends in
 * an `error` event, and the thread stays consistent: the user message is stored, a half-written answer is not,
 * and threads.retry_after_item runs the turn again. Both model modes: streamed and whole completions.
 */
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startFakeOpenAi, type FakeOpenAi } from '../helpers/fake-openai.js';
import { signIn, type SignedIn } from '../helpers/users.js';
import { assistantText, chatkit, storedItems, text, type ChatEvent } from './support.js';

const TIMEOUT_MS = 400;

for (const stream of [true, false]) {
  describe(stream ? 'streamed model' : 'non-streaming model', () => {
    let t: TestApp;
    let model: FakeOpenAi;
    let alice: SignedIn;

    beforeAll(async () => {
      model = await startFakeOpenAi();
      t = await startTestApp({
        chat: true,
        env: { CHAT_MODEL: 'fake-model', OPENAI_BASE_URL: model.baseUrl, CHAT_MODEL_STREAM: String(stream), CHAT_MODEL_TIMEOUT_MS: String(TIMEOUT_MS), CHAT_MAX_STEPS: '3' },
      });
      alice = await signIn(t, 'alice');
    });
    afterAll(async () => {
      await t.close();
      await model.close();
    });

    const threadOf = (events: ChatEvent[]) => events.find((e) => e.type === 'thread.created')!.thread.id as string;

    it(`asks the model with stream=${stream} and answers with the assistant message events`, async () => {
      model.script({ text: 'Hello Alice.' });
      const res = await chatkit(alice, { type: 'threads.create', params: { input: text('Hello') } });
      expect(model.requests.at(-1)!.stream).toBe(stream);
      const types = res.events.map((e) => (e.type === 'thread.item.updated' ? e.update.type : e.type));
      const answer = stream
        ? ['thread.item.added', 'assistant_message.content_part.added', ...Array(3).fill('assistant_message.content_part.text_delta'), 'assistant_message.content_part.done']
        : ['thread.item.added', 'assistant_message.content_part.done'];
      expect(types).toEqual(['thread.created', 'thread.item.done', 'stream_options', ...answer, 'thread.item.done', 'thread.updated']);
      expect(assistantText(res.events)).toEqual(['Hello Alice.']);
    });

    it('a model error becomes an error event; the user message is kept and a retry answers', async () => {
      model.script({ error: 500 });
      const res = await chatkit(alice, { type: 'threads.create', params: { input: text('Plan my week') } });
      expect(res.status).toBe(200);
      expect(res.events.at(-2)).toEqual({ type: 'error', code: 'custom', message: 'The assistant is unavailable right now.', allow_retry: true });
      expect(res.events.at(-1)).toMatchObject({ type: 'thread.updated', thread: { title: 'Plan my week' } });
      const threadId = threadOf(res.events);
      const stored = await storedItems(t, threadId);
      expect(stored.map((i) => i.type)).toEqual(['user_message']);

      model.script({ text: 'Here is your week.' });
      const retry = await chatkit(alice, { type: 'threads.retry_after_item', params: { thread_id: threadId, item_id: stored[0]!.id } });
      expect(retry.events[0]).toEqual({ type: 'stream_options', stream_options: { allow_cancel: true } });
      expect(assistantText(retry.events)).toEqual(['Here is your week.']);
      expect((await storedItems(t, threadId)).map((i) => i.type)).toEqual(['user_message', 'assistant_message']);
      expect(model.requests.at(-1)!.messages.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['Plan my week']);
    });

    it('a model slower than CHAT_MODEL_TIMEOUT_MS becomes an error event naming the limit', async () => {
      model.script({ text: 'too late', delayMs: TIMEOUT_MS * 4 });
      const res = await chatkit(alice, { type: 'threads.create', params: { input: text('Quick question') } });
      expect(res.events.find((e) => e.type === 'error')).toEqual({
        type: 'error',
        code: 'custom',
        message: `The assistant did not answer within ${TIMEOUT_MS / 1000} s.`,
        allow_retry: true,
      });
      expect((await storedItems(t, threadOf(res.events))).map((i) => i.type)).toEqual(['user_message']);
    });

    it('a model that keeps calling tools is stopped after CHAT_MAX_STEPS with an error event', async () => {
      const list = { toolCalls: [{ name: 'listMyTasks', arguments: {} }] };
      model.script(list, list, list, list);
      const res = await chatkit(alice, { type: 'threads.create', params: { input: text('Loop forever') } });
      expect(res.events.filter((e) => e.type === 'progress_update')).toHaveLength(3);
      expect(res.events.find((e) => e.type === 'error')).toEqual({
        type: 'error',
        code: 'custom',
        message: 'The assistant stopped after 3 steps without an answer.',
        allow_retry: false,
      });
      expect(model.pending()).toBe(1);
      const stored = await storedItems(t, threadOf(res.events));
      expect(stored.map((i) => i.type)).toEqual(['user_message', ...Array(6).fill('hidden_context_item')]);
    });

    it('retrying a message removes what followed it, and only a user message can be retried', async () => {
      model.script({ text: 'First answer.' });
      const res = await chatkit(alice, { type: 'threads.create', params: { input: text('Retry me') } });
      const threadId = threadOf(res.events);
      const [question, answer] = await storedItems(t, threadId);
      const refused = await chatkit(alice, { type: 'threads.retry_after_item', params: { thread_id: threadId, item_id: answer!.id } });
      expect([refused.status, refused.body.errors?.[0]?.pointer]).toEqual([422, '/body/params/item_id']);

      model.script({ text: 'Second answer.' });
      await chatkit(alice, { type: 'threads.retry_after_item', params: { thread_id: threadId, item_id: question!.id } });
      const items = await chatkit(alice, { type: 'items.list', params: { thread_id: threadId, order: 'asc' } });
      expect(items.body.data.map((i: any) => i.content[0].text)).toEqual(['Retry me', 'Second answer.']);
    });
  });
}

describe('the client goes away mid-turn', () => {
  let t: TestApp;
  let model: FakeOpenAi;
  let alice: SignedIn;

  beforeAll(async () => {
    model = await startFakeOpenAi();
    t = await startTestApp({ chat: true, env: { CHAT_MODEL: 'fake-model', OPENAI_BASE_URL: model.baseUrl } });
    alice = await signIn(t, 'alice');
  });
  afterAll(async () => {
    await t.close();
    await model.close();
  });

  it('stops the turn, stores no half answer, and the thread goes on', async () => {
    model.script({ text: 'A slow answer that nobody reads.', delayMs: 1_500 });
    const abort = new AbortController();
    const res = await fetch(`${t.url}/chatkit`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'threads.create', params: { input: text('Cancel me') } }),
      signal: abort.signal,
    });
    const reader = res.body!.getReader();
    let seen = '';
    while (!seen.includes('"stream_options"')) seen += new TextDecoder().decode((await reader.read()).value);
    const threadId = /"thread":\{"id":"(thr_[0-9a-f]+)"/.exec(seen)![1]!;
    abort.abort();

    // The server finishes the cancelled turn by titling the thread; then it holds only the user message.
    for (let i = 0; i < 100; i++) {
      const thread = await chatkit(alice, { type: 'threads.get_by_id', params: { thread_id: threadId } });
      if (thread.body.title) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await storedItems(t, threadId)).map((i) => i.type)).toEqual(['user_message']);

    model.script({ text: 'Here now.' });
    const next = await chatkit(alice, { type: 'threads.add_user_message', params: { thread_id: threadId, input: text('Still there?') } });
    expect(assistantText(next.events)).toEqual(['Here now.']);
  });
});
