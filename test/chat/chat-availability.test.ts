/**
 * Chat is optional and isolated: without a model or a conversations database /chatkit answers 503
 * chat-unavailable and the task API is unaffected; when the conversations database (a PostgreSQL of its own
 * here) goes down, /chatkit answers 503 while tasks keep working, and it recovers without a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateChat } from '../../src/chat/index.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startFakeOpenAi, type FakeOpenAi } from '../helpers/fake-openai.js';
import { adminQuery } from '../helpers/pg.js';
import { signIn, type SignedIn } from '../helpers/users.js';
import { chatkit, text } from './support.js';

const CHAT_UNAVAILABLE = 'https://taskflow.dev/problems/chat-unavailable';

async function createTask(user: SignedIn, title: string) {
  return user.request('POST', `/api/projects/${user.projectId}/tasks`, { body: { title } });
}

describe('not configured', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('without a model: 503 chat-unavailable naming CHAT_MODEL; tasks work', async () => {
    t = await startTestApp({ chat: true });
    const alice = await signIn(t, 'alice');
    const res = await chatkit(alice, { type: 'threads.list', params: {} });
    expect([res.status, res.body.type, res.body.detail]).toEqual([503, CHAT_UNAVAILABLE, 'No assistant model is configured (CHAT_MODEL)']);
    expect((await createTask(alice, 'Still works')).status).toBe(201);
    expect((await t.request('GET', '/health/ready')).body).toEqual({ status: 'ready', database: 'ok', chat_database: 'ok' });
  });

  it('without a conversations database: 503 chat-unavailable; readiness says not_configured', async () => {
    t = await startTestApp({ env: { CHAT_MODEL: 'fake-model', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' } });
    const alice = await signIn(t, 'alice');
    const res = await chatkit(alice, { type: 'threads.create', params: { input: text('Hello') } });
    expect([res.status, res.body.type]).toEqual([503, CHAT_UNAVAILABLE]);
    expect(res.body.detail).toMatch(/CHAT_DATABASE_URL/);
    expect((await createTask(alice, 'Still works')).status).toBe(201);
    expect((await t.request('GET', '/health/ready')).body).toEqual({ status: 'ready', database: 'ok', chat_database: 'not_configured' });
  });

  it('authenticates before anything else: 401 without a token even when chat is off', async () => {
    t = await startTestApp();
    const res = await t.request('POST', '/chatkit', { body: { type: 'threads.list', params: {} } });
    expect(res.status).toBe(401);
  });
});

describe('conversations database outage', () => {
  let pg: EmbeddedDatabase;
  let dataDir: string;
  let t: TestApp;
  let model: FakeOpenAi;
  let alice: SignedIn;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'taskflow-chat-pg-'));
    pg = await startEmbeddedPostgres({ dataDir, persistent: true, fast: true });
    await adminQuery(pg.url, 'create database chat');
    await migrateChat(pg.urlFor('chat'));
    model = await startFakeOpenAi();
    t = await startTestApp({
      chat: { databaseUrl: pg.urlFor('chat') },
      env: { CHAT_MODEL: 'fake-model', OPENAI_BASE_URL: model.baseUrl, CHAT_DB_CONNECT_TIMEOUT_MS: '500' },
    });
    alice = await signIn(t, 'alice');
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await model?.close();
    await pg?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 503 chat-unavailable while the chat database is down, tasks keep working, and recovers', async () => {
    model.script({ text: 'Hi.' });
    const before = await chatkit(alice, { type: 'threads.create', params: { input: text('Before the outage') } });
    expect(before.status).toBe(200);

    await pg.stop();
    for (const request of [
      { type: 'threads.list', params: {} },
      { type: 'threads.create', params: { input: text('During the outage') } },
    ]) {
      const res = await chatkit(alice, request);
      expect([request.type, res.status, res.body.type]).toEqual([request.type, 503, CHAT_UNAVAILABLE]);
      expect(res.headers.get('retry-after')).toBe('5');
    }
    const task = await createTask(alice, 'Created during the chat outage');
    expect(task.status).toBe(201);
    expect((await alice.request('GET', `/api/tasks/${task.body.id}`)).status).toBe(200);
    expect((await t.request('GET', '/health/ready')).body).toEqual({ status: 'ready', database: 'ok', chat_database: 'unavailable' });

    pg = await startEmbeddedPostgres({ dataDir, persistent: true, fast: true, port: pg.port });
    const after = await chatkit(alice, { type: 'threads.list', params: {} });
    expect(after.status).toBe(200);
    expect(after.body.data.map((x: any) => x.title)).toEqual(['Before the outage']);
    expect((await t.request('GET', '/health/ready')).body.chat_database).toBe('ok');
  }, 120_000);
});
