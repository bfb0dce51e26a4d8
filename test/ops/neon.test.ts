/**
 * "Ready for Neon": TLS with a certificate we verify, a PgBouncer in transaction mode in front (what Neon's
 * -pooler endpoints are), migrations over the direct URL, and idle connections closed by the server side.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'slonik';
import { z } from 'zod';
import { loadConfig } from '../../src/config.js';
import { createDatabasePool } from '../../src/db/index.js';
import { freePort, startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { createLogger } from '../../src/observability/logger.js';
import { startFakeSso, type FakeSso } from '../helpers/sso.mjs';

const postgresUid = (): { uid: number; gid: number } | undefined => {
  if (process.getuid?.() !== 0) return undefined;
  return { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) };
};

function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  const owner = postgresUid();
  if (owner) {
    chownSync(key, owner.uid, owner.gid);
    chownSync(cert, owner.uid, owner.gid);
  }
  return { cert, key };
}

const SslRow = z.object({ ssl: z.boolean(), version: z.string().nullable() });

describe('Neon-ready database access', () => {
  let dir: string;
  let pg: EmbeddedDatabase;
  let sso: FakeSso;
  let certPath: string;
  let sslUrl: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'taskflow-neon-'));
    const owner = postgresUid();
    if (owner) chownSync(dir, owner.uid, owner.gid);
    const { cert, key } = selfSignedCertificate(dir);
    certPath = cert;
    pg = await startEmbeddedPostgres({
      dataDir: join(dir, 'pg'), persistent: false, fast: true,
      settings: { ssl: 'on', ssl_cert_file: cert, ssl_key_file: key },
    });
    sslUrl = pg.urlFor('postgres').replace(/\/postgres$/, '/taskflow') + `?sslmode=require&sslrootcert=${encodeURIComponent(cert)}`;
    const admin = await createDatabasePool(pg.url, { poolSize: 1, idleTimeoutMs: 1000, maxConnectionAgeMs: 60_000, connectTimeoutMs: 5000, statementTimeoutMs: 0, pooled: false });
    await admin.query(sql.unsafe`create database taskflow`);
    await admin.end();
    sso = await startFakeSso();
  }, 60_000);

  afterAll(async () => {
    await sso?.close();
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const serve = (env: Record<string, string>): Promise<RunningServer> =>
    startServer(
      loadConfig({
        NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent',
        AUTH_JWKS_URL: sso.url.href, AUTH_ISSUER: sso.issuer, AUTH_AUDIENCE: sso.audience,
        ...env,
      }),
      createLogger('silent'),
    );

  it('connects over TLS, verifying the server certificate against sslrootcert', async () => {
    const pool = await createDatabasePool(sslUrl, loadConfig({ AUTH_DEV_MODE: 'true' }).database);
    try {
      const row = await pool.one(sql.type(SslRow)`select ssl, version from pg_stat_ssl where pid = pg_backend_pid()`);
      expect(row.ssl).toBe(true);
      expect(row.version).toMatch(/^TLSv1\.[23]$/);
    } finally {
      await pool.end();
    }
  });

  it('refuses a server certificate it cannot verify', async () => {
    const unverifiable = sslUrl.replace(/&sslrootcert=[^&]+/, '');
    const attempt = createDatabasePool(unverifiable, loadConfig({ AUTH_DEV_MODE: 'true' }).database).then(async (pool) => {
      try {
        return await pool.oneFirst(sql.unsafe`select 1`);
      } finally {
        await pool.end();
      }
    });
    await expect(attempt).rejects.toThrow(/self-signed certificate/);
  });

  it('serves the API over TLS end to end: migrations, provisioning, readiness', async () => {
    const server = await serve({ DATABASE_URL: sslUrl });
    try {
      const ready = await fetch(`${server.url}/health/ready`);
      expect(ready.status).toBe(200);
      const me = await fetch(`${server.url}/api/me`, { headers: { authorization: await sso.authHeader({ sub: 'tls-user' }) } });
      expect(me.status).toBe(200);
    } finally {
      await server.shutdown('test');
    }
  });

  it('recovers transparently when the database closes idle connections (as Neon does)', async () => {
    const server = await serve({ DATABASE_URL: sslUrl, DB_POOL_SIZE: '4' });
    try {
      const auth = await sso.authHeader({ sub: 'idle-user' });
      const get = () => fetch(`${server.url}/api/me`, { headers: { authorization: auth } }).then((r) => r.status);
      expect(await Promise.all([get(), get(), get(), get()])).toEqual([200, 200, 200, 200]);
      const admin = await createDatabasePool(sslUrl, loadConfig({ AUTH_DEV_MODE: 'true' }).database);
      const killed = await admin.oneFirst(sql.type(z.object({ n: z.number() }))`
        select count(*)::int as n from (
          select pg_terminate_backend(pid) from pg_stat_activity
          where datname = 'taskflow' and pid <> pg_backend_pid() and state = 'idle') t`);
      await admin.end();
      expect(killed).toBeGreaterThan(0);
      // Every request after the cut must succeed: dead connections are replaced, not handed out.
      const after = [];
      for (let i = 0; i < 8; i++) after.push(await fetch(`${server.url}/health/ready`).then((r) => r.status));
      expect(after).toEqual(Array(8).fill(200));
      expect(await get()).toBe(200);
    } finally {
      await server.shutdown('test');
    }
  });

  it('retries once when the connection it was handed had been cut by the server', async () => {
    const settings = { ...loadConfig({ AUTH_DEV_MODE: 'true' }).database, poolSize: 1 };
    const pool = await createDatabasePool(sslUrl, settings);
    const admin = await createDatabasePool(sslUrl, settings);
    try {
      const Pid = z.object({ pid: z.number() });
      for (let round = 0; round < 20; round++) {
        const pid = await pool.oneFirst(sql.type(Pid)`select pg_backend_pid() as pid`);
        // Cut the pool's only (idle) connection and query at once: the pool still believes in it.
        await admin.query(sql.unsafe`select pg_terminate_backend(${pid})`);
        const again = await pool.oneFirst(sql.type(Pid)`select pg_backend_pid() as pid`);
        expect(again).not.toBe(pid);
        const inTransaction = await pool.transaction((tx) => tx.oneFirst(sql.type(z.object({ one: z.number() }))`select 1 as one`));
        expect(inTransaction).toBe(1);
      }
    } finally {
      await pool.end();
      await admin.end();
    }
  });

  describe('through PgBouncer in transaction mode (Neon -pooler)', () => {
    let bouncer: ChildProcess | undefined;
    let pooledUrl = '';
    /** `PgBouncer 1.23.1` → [1, 23]; null when it is not installed. */
    const pgbouncerVersion = ((): [number, number] | null => {
      try {
        const m = /(\d+)\.(\d+)/.exec(execFileSync('pgbouncer', ['--version']).toString());
        return m ? [Number(m[1]), Number(m[2])] : null;
      } catch {
        return null;
      }
    })();
    const hasPgbouncer = pgbouncerVersion !== null;
    /** Protocol-level named statements in transaction mode: PgBouncer 1.21 and later (max_prepared_statements). */
    const bouncerPrepares = pgbouncerVersion !== null && (pgbouncerVersion[0] > 1 || pgbouncerVersion[1] >= 21);

    beforeAll(async () => {
      if (!hasPgbouncer) {
        console.warn('pgbouncer is not installed (apt-get install pgbouncer; .ci/run installs it): PgBouncer cases not run');
        return;
      }
      const port = await freePort();
      const ini = join(dir, 'pgbouncer.ini');
      writeFileSync(join(dir, 'users.txt'), '"postgres" "taskflow"\n');
      writeFileSync(ini, [
        '[databases]',
        `taskflow = host=127.0.0.1 port=${pg.port} dbname=taskflow user=postgres password=taskflow`,
        '[pgbouncer]',
        `listen_addr = 127.0.0.1`, `listen_port = ${port}`,
        'auth_type = plain', `auth_file = ${join(dir, 'users.txt')}`,
        'pool_mode = transaction', 'max_client_conn = 100', 'default_pool_size = 5',
        ...(bouncerPrepares ? ['max_prepared_statements = 100'] : []),
        `unix_socket_dir =`, `logfile = ${join(dir, 'pgbouncer.log')}`, `pidfile = ${join(dir, 'pgbouncer.pid')}`,
        '',
      ].join('\n'));
      const owner = postgresUid();
      if (owner) for (const f of ['pgbouncer.ini', 'users.txt']) chownSync(join(dir, f), owner.uid, owner.gid);
      // PgBouncer refuses to run as root.
      bouncer = owner ? spawn('runuser', ['-u', 'postgres', '--', 'pgbouncer', ini], { stdio: 'ignore' }) : spawn('pgbouncer', [ini], { stdio: 'ignore' });
      pooledUrl = `postgres://postgres:taskflow@127.0.0.1:${port}/taskflow`;
      for (let i = 0; i < 50; i++) {
        const up = await fetch(`http://127.0.0.1:${port}`).then(() => true, (err: { cause?: { code?: string } }) => err.cause?.code !== 'ECONNREFUSED');
        if (up) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    });

    afterAll(() => {
      bouncer?.kill('SIGTERM');
    });

    it('a pooled URL sends no startup parameters PgBouncer would refuse', async () => {
      if (!hasPgbouncer) return;
      // With startup-parameter timeouts (what slonik does by default) PgBouncer refuses the connection…
      const naive = createDatabasePool(pooledUrl, { ...loadConfig({ AUTH_DEV_MODE: 'true' }).database, pooled: false }).then(async (pool) => {
        try {
          return await pool.oneFirst(sql.unsafe`select 1`);
        } finally {
          await pool.end();
        }
      });
      await expect(naive).rejects.toThrow(/unsupported startup parameter/);
      // …and the pooled settings (DB_POOLED=true, or a host name with -pooler) connect.
      const pooled = await createDatabasePool(pooledUrl, { ...loadConfig({ AUTH_DEV_MODE: 'true' }).database, pooled: true });
      expect(await pooled.oneFirst(sql.type(z.object({ one: z.number() }))`select 1 as one`)).toBe(1);
      await pooled.end();
    });

    it('named prepared statements through the pooler: on with max_prepared_statements (1.21+), off by default', async () => {
      if (!hasPgbouncer) return;
      const settings = { ...loadConfig({ AUTH_DEV_MODE: 'true' }).database, pooled: true, poolSize: 8 };
      const Row = z.object({ n: z.number() });
      const hammer = async (pool: Awaited<ReturnType<typeof createDatabasePool>>) => {
        // More client connections than the pooler's 5 server connections, each running the same named statements
        // in and out of transactions: every server connection must get them prepared by PgBouncer.
        const results = await Promise.all(Array.from({ length: 40 }, (_, i) =>
          i % 2 ? pool.oneFirst(sql.type(Row)`select ${i}::int + 1 as n`)
            : pool.transaction((tx) => tx.oneFirst(sql.type(Row)`select ${i}::int + 1 as n`))));
        expect(results).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      };
      const byDefault = await createDatabasePool(pooledUrl, settings); // auto: unnamed behind a pooler
      try {
        await hammer(byDefault);
      } finally {
        await byDefault.end();
      }
      if (!bouncerPrepares) {
        console.warn(`PgBouncer ${pgbouncerVersion!.join('.')} predates max_prepared_statements (1.21): DB_PREPARED_STATEMENTS=on not run through it`);
        return;
      }
      const prepared = await createDatabasePool(pooledUrl, { ...settings, preparedStatements: 'on' });
      try {
        await hammer(prepared);
        await hammer(prepared);
      } finally {
        await prepared.end();
      }
    });

    it('serves the API through the pooler, with migrations over DATABASE_URL_DIRECT', async () => {
      if (!hasPgbouncer) return;
      const server = await serve({
        DATABASE_URL: pooledUrl, DB_POOLED: 'true', DATABASE_URL_DIRECT: sslUrl,
        ...(bouncerPrepares ? { DB_PREPARED_STATEMENTS: 'on' } : {}),
      });
      try {
        const auth = await sso.authHeader({ sub: 'pooled-user', email: 'pooled@example.test' });
        const statuses = await Promise.all(
          Array.from({ length: 20 }, () => fetch(`${server.url}/api/me`, { headers: { authorization: auth } }).then((r) => r.status)),
        );
        expect(statuses).toEqual(Array(20).fill(200));
        expect((await fetch(`${server.url}/health/ready`)).status).toBe(200);
      } finally {
        await server.shutdown('test');
      }
    });
  });
});
