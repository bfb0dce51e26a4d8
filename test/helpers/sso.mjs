/**
 * The one fake Better Auth SSO: a real HTTP server on 127.0.0.1 publishing a JWKS at `/api/auth/jwks`, and
 * real tokens signed with its keys. Plain JavaScript (types in sso.d.mts), so the jest suites, the Dredd runner
 * (test/contract/run.mjs) and the benchmark (test/bench/) all start the same one.
 *
 *   const sso = await startFakeSso();
 *   const auth = createAuthenticator({ jwksUrl: sso.url, issuer: sso.issuer, audience: sso.audience });
 *   await auth.authenticate(await sso.authHeader({ sub: 'alice', tenant_id: 't1' }));
 *   await sso.close();
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

export const JWKS_PATH = '/api/auth/jwks';
export const DEFAULT_AUDIENCE = 'https://api.taskflow.test';

/** @param {import('./sso.d.mts').FakeSsoOptions} [options] @returns {Promise<import('./sso.d.mts').FakeSso>} */
export async function startFakeSso(options = {}) {
  const algs = options.algs ?? ['EdDSA'];
  if (algs.length === 0) throw new Error('startFakeSso needs at least one algorithm');
  let current = await Promise.all(algs.map(generateSigningKey));
  let published = current.map((key) => key.jwk);
  let fetchCount = 0;
  let mode = 'serve';

  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== JWKS_PATH) {
      res.writeHead(404).end();
      return;
    }
    fetchCount += 1;
    if (mode === 'hang') return; // answered never; stop() drops the socket
    if (mode === 'error') {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('unavailable');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' }).end(JSON.stringify({ keys: published }));
  });

  let port = 0;
  const start = async () => {
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    port = server.address().port;
  };
  const stop = async () => {
    if (!server.listening) return;
    const closed = new Promise((resolve) => server.close(() => resolve()));
    server.closeAllConnections(); // keep-alive and hanging requests would otherwise hold close() open
    await closed;
  };

  await start();
  const baseUrl = new URL(`http://127.0.0.1:${port}`);
  const issuer = options.issuer ?? baseUrl.origin;
  const audience = options.audience ?? DEFAULT_AUDIENCE;

  const signingKey = (alg = algs[0]) => {
    const key = current.find((candidate) => candidate.alg === alg);
    if (!key) throw new Error(`This fake SSO has no ${alg} key; start it with algs: [..., '${alg}']`);
    return key;
  };

  const mint = async (claims = {}, opts = {}) => {
    const key = signingKey(opts.alg);
    const jwt = new SignJWT({ sub: 'user-1', ...claims })
      .setProtectedHeader({ alg: key.alg, kid: opts.kid ?? key.kid, typ: 'JWT', ...opts.header })
      .setIssuedAt();
    const iss = opts.issuer === undefined ? issuer : opts.issuer;
    const aud = opts.audience === undefined ? audience : opts.audience;
    const exp = opts.expiresIn === undefined ? '5m' : opts.expiresIn;
    if (iss !== null) jwt.setIssuer(iss);
    if (aud !== null) jwt.setAudience(aud);
    if (exp !== null) jwt.setExpirationTime(exp);
    if (opts.notBefore !== undefined) jwt.setNotBefore(opts.notBefore);
    return jwt.sign(opts.privateKey ?? key.privateKey);
  };

  return {
    url: new URL(JWKS_PATH, baseUrl),
    baseUrl,
    issuer,
    audience,
    get fetchCount() {
      return fetchCount;
    },
    get mode() {
      return mode;
    },
    set mode(next) {
      mode = next;
    },
    mint,
    authHeader: async (claims, opts) => `Bearer ${await mint(claims, opts)}`,
    signingKey,
    async exportSigningKey(alg) {
      const key = signingKey(alg);
      return { privateJwk: await exportJWK(key.privateKey), kid: key.kid, alg: key.alg, issuer, audience };
    },
    jwks: () => ({ keys: structuredClone(published) }),
    async rotate({ keepOld = false } = {}) {
      const next = await Promise.all(algs.map(generateSigningKey));
      published = [...next.map((key) => key.jwk), ...(keepOld ? published : [])];
      current = next;
    },
    stop,
    start,
    close: stop,
  };
}

/** A key pair per algorithm; extractable, so exportSigningKey can hand it to another process (the Dredd hooks). */
async function generateSigningKey(alg) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}), extractable: true });
  const kid = randomUUID();
  return { kid, alg, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}
