import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import createClient, { type Client } from 'openapi-fetch';
import type { DatabasePool } from 'slonik';
import type { paths } from '../../generated/api.js';
import { loadConfig, type Config } from '../../src/config.js';
import { composeApp, releaseApp } from '../../src/compose.js';
import { createDatabasePool } from '../../src/db/index.js';
import { startJobQueue } from '../../src/jobs/index.js';
import { createLogger } from '../../src/observability/logger.js';
import { assertMatchesContract } from './contract.js';
import { CHAT_TEMPLATE_DB, createTestDatabase, type TestDatabase } from './pg.js';
import { createChatPool } from '../../src/chat/index.js';
import { startFakeSso, type FakeSso } from './sso.mjs';

export interface UserClaims {
  email?: string | null;
  name?: string | null;
  tenant?: string;
}

export interface RawResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as-is (for malformed JSON and wrong content types). */
  rawBody?: string;
  headers?: Record<string, string>;
  query?: Record<string, string | number | boolean | readonly (string | number)[]>;
}

export interface ApiUser {
  sub: string;
  token: string;
  /** Typed client from generated/; every response is checked against the contract. */
  api: Client<paths>;
  /** Untyped request, also checked against the contract. */
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<RawResponse<T>>;
}

export interface TestApp {
  url: string;
  db: TestDatabase;
  /** A pool on this file's own database, to assert what the API left behind. */
  pool: DatabasePool;
  /** With `chat`: a pool on the conversations database, to assert what /chatkit stored. */
  chatPool?: DatabasePool;
  sso: FakeSso;
  config: Config;
  user(sub: string, claims?: UserClaims): Promise<ApiUser>;
  /** A request with whatever headers are given (none: anonymous), checked against the contract. */
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<RawResponse<T>>;
  close(): Promise<void>;
}

/** Reads the body once and checks the response against the contract before a test sees it. */
async function observe(method: string, url: URL, response: Response): Promise<RawResponse> {
  const text = await response.text();
  const contentType = response.headers.get('content-type');
  let body: unknown = text === '' ? undefined : text;
  if (text && contentType?.includes('json')) body = JSON.parse(text);
  await assertMatchesContract({ method, path: url.pathname, status: response.status, contentType, headers: response.headers, body });
  return { status: response.status, headers: response.headers, body };
}

async function send(base: string, method: string, path: string, options: RequestOptions, auth?: string): Promise<RawResponse> {
  const url = new URL(path, base);
  for (const [key, value] of Object.entries(options.query ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(v));
  }
  const headers: Record<string, string> = { ...(auth ? { authorization: `Bearer ${auth}` } : {}), ...options.headers };
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  return observe(method, url, await fetch(url, { method, headers, body }));
}

/** The environment of a server under test: this database, the fake SSO, rate limits off. */
export function testServerEnv(databaseUrl: string, sso: FakeSso, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', // TEST_LOG_LEVEL=error shows what a 500 was
    DATABASE_URL: databaseUrl,
    AUTH_JWKS_URL: sso.url.href,
    AUTH_ISSUER: sso.issuer,
    AUTH_AUDIENCE: sso.audience,
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: '0',
    ...extra,
  };
}

export interface TestAppOptions {
  env?: Record<string, string>;
  /** Where the server's JSON log lines go (default: the level from TEST_LOG_LEVEL, to stdout). */
  logDestination?: { write(line: string): void };
  /** Serve an existing database (another instance's, or one a fault test starts and stops) instead of a fresh clone; it is not dropped on close. */
  databaseUrl?: string;
  /** Share another instance's SSO, so the same users and tokens work on both; it is not closed on close. */
  sso?: FakeSso;
  /**
   * Serve /chatkit over a conversations database: `true` for a fresh clone of the chat template, or the URL of
   * one a test starts and stops itself (not dropped on close). The model comes from `env` (CHAT_MODEL, …).
   */
  chat?: true | { databaseUrl: string };
}

export interface TestDatabaseOnly {
  db: TestDatabase;
  /** A pool on this file's own database, with the server's type parsers and interceptors. */
  pool: DatabasePool;
  close(): Promise<void>;
}

/** This test file's own migrated database and a pool on it, without a server: for suites that only run SQL. */
export async function startTestDatabase(): Promise<TestDatabaseOnly> {
  const db = await createTestDatabase();
  const unused = 'http://127.0.0.1:9/unused'; // the config needs an SSO; nothing here verifies a token
  const config = loadConfig(testServerEnv(db.url, { url: new URL(unused), issuer: unused, audience: unused } as FakeSso));
  const pool = await createDatabasePool(db.url, config.database);
  return {
    db,
    pool,
    async close() {
      await pool.end();
      await db.drop();
    },
  };
}

/** A real server on port 0 over this test file's own database, with a fake SSO minting real tokens. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const db: TestDatabase = options.databaseUrl
    ? { name: new URL(options.databaseUrl).pathname.slice(1), url: options.databaseUrl, drop: async () => {} }
    : await createTestDatabase();
  const sso = options.sso ?? (await startFakeSso());
  const config = loadConfig(testServerEnv(db.url, sso, options.env));
  const pool = await createDatabasePool(db.url, config.database);
  const chatDb: TestDatabase | undefined = !options.chat
    ? undefined
    : options.chat === true
      ? await createTestDatabase(CHAT_TEMPLATE_DB)
      : { name: new URL(options.chat.databaseUrl).pathname.slice(1), url: options.chat.databaseUrl, drop: async () => {} };
  const chatPool = chatDb ? await createChatPool(chatDb.url, config) : undefined;
  const jobs = await startJobQueue(db.url, { pollIntervalSeconds: config.jobs.pollIntervalSeconds, poolSize: 2 }, createLogger('silent'));
  const app = await composeApp({
    config,
    pool,
    chatPool,
    jobs,
    logger: createLogger(options.logDestination ? 'info' : config.logLevel, options.logDestination),
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const checkPool = await createDatabasePool(db.url, config.database);
  const chatCheckPool = chatDb ? await createDatabasePool(chatDb.url, config.database) : undefined;

  const validatingFetch = async (input: Request): Promise<Response> => {
    const response = await fetch(input);
    const observed = await observe(input.method, new URL(input.url), response.clone());
    void observed;
    return response;
  };

  return {
    url,
    db,
    pool: checkPool,
    chatPool: chatCheckPool,
    sso,
    config,
    async user(sub, claims = {}) {
      const token = await sso.mint({
        sub,
        email: claims.email === undefined ? `${sub}@example.test` : claims.email,
        name: claims.name === undefined ? sub : claims.name,
        ...(claims.tenant ? { tenant_id: claims.tenant } : {}),
      });
      const api = createClient<paths>({ baseUrl: url, fetch: validatingFetch, headers: { authorization: `Bearer ${token}` } });
      return { sub, token, api, request: (method, path, opts = {}) => send(url, method, path, opts, token) };
    },
    request: (method, path, opts = {}) => send(url, method, path, opts),
    async close() {
      await app.stopBackground();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await releaseApp(app);
      await jobs.stop();
      await pool.end();
      await checkPool.end();
      await chatPool?.end();
      await chatCheckPool?.end();
      await chatDb?.drop();
      if (!options.sso) await sso.close();
      await db.drop();
    },
  };
}
