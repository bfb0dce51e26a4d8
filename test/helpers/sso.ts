/**
 * A fake Better Auth SSO for tests: a real HTTP server on 127.0.0.1 publishing a JWKS at `/api/auth/jwks`, and
 * real tokens signed with its keys. Any suite that needs a caller (auth, server, contract, bench) mints here.
 *
 *   const sso = await startFakeSso();
 *   const auth = createAuthenticator({ jwksUrl: sso.url, issuer: sso.issuer, audience: sso.audience });
 *   await auth.authenticate(await sso.authHeader({ sub: 'alice', tenant_id: 't1' }));
 *   await sso.close();
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
} from 'jose';

export type SigningAlg = 'EdDSA' | 'RS256';

export const JWKS_PATH = '/api/auth/jwks';
export const DEFAULT_AUDIENCE = 'https://api.taskflow.test';

export interface FakeSsoOptions {
  /** One signing key per algorithm; the first is the default for `mint`. Default `['EdDSA']` (Better Auth's). */
  algs?: SigningAlg[];
  /** `iss` of minted tokens. Default: the server's origin, as Better Auth uses its baseURL. */
  issuer?: string;
  /** `aud` of minted tokens. Default `DEFAULT_AUDIENCE`. */
  audience?: string;
}

export interface MintOptions {
  alg?: SigningAlg;
  /** Override the `kid` header (e.g. a kid the JWKS does not publish). */
  kid?: string;
  /** Sign with this key instead of the published one (e.g. a key the SSO never published). */
  privateKey?: CryptoKey;
  /** `exp`: a jose time span ('5m', '-1h') or epoch seconds. Default '5m'; null omits the claim. */
  expiresIn?: string | number | null;
  /** `nbf`: a jose time span or epoch seconds. Omitted by default. */
  notBefore?: string | number;
  /** Override `iss`; null omits it. */
  issuer?: string | null;
  /** Override `aud`; null omits it. */
  audience?: string | string[] | null;
  /** Extra protected-header parameters. */
  header?: Partial<JWTHeaderParameters>;
}

/** How the JWKS endpoint answers: normally, with a 503, or never (to exercise fetch timeouts). */
export type JwksMode = 'serve' | 'error' | 'hang';

export interface SigningKey {
  kid: string;
  alg: SigningAlg;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public JWK as published. */
  jwk: JWK;
}

export interface FakeSso {
  /** The JWKS URL (what `AUTH_JWKS_URL` would be). */
  readonly url: URL;
  /** The SSO's base URL (what `SSO_URL` would be). */
  readonly baseUrl: URL;
  readonly issuer: string;
  readonly audience: string;
  /** JWKS requests received so far, whatever the mode answered. */
  readonly fetchCount: number;
  mode: JwksMode;
  /** A signed JWT. `sub` defaults to 'user-1'; pass `{ sub: undefined }` to leave it out. */
  mint(claims?: JWTPayload, options?: MintOptions): Promise<string>;
  /** `Bearer <minted token>`, ready for an Authorization header. */
  authHeader(claims?: JWTPayload, options?: MintOptions): Promise<string>;
  /** The key `mint` currently signs with for `alg` (default: the first algorithm). */
  signingKey(alg?: SigningAlg): SigningKey;
  /** The JWKS as currently published. */
  jwks(): JSONWebKeySet;
  /** New key per algorithm; the old ones leave the JWKS unless `keepOld` (Better Auth's grace period). */
  rotate(options?: { keepOld?: boolean }): Promise<void>;
  /** Stop listening and drop open connections: fetches now fail with "connection refused". */
  stop(): Promise<void>;
  /** Listen again on the same port. */
  start(): Promise<void>;
  /** Stop for good (same as `stop`; for afterAll). */
  close(): Promise<void>;
}

export async function startFakeSso(options: FakeSsoOptions = {}): Promise<FakeSso> {
  const algs = options.algs ?? ['EdDSA'];
  if (algs.length === 0) throw new Error('startFakeSso needs at least one algorithm');
  let current = await Promise.all(algs.map(generateSigningKey));
  let published = current.map((key) => key.jwk);
  let fetchCount = 0;
  let mode: JwksMode = 'serve';

  const server: Server = createServer((req, res) => {
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
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published }));
  });

  let port = 0;
  const start = async () => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    port = (server.address() as AddressInfo).port;
  };
  const stop = async () => {
    if (!server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections(); // keep-alive and hanging requests would otherwise hold close() open
    await closed;
  };

  await start();
  const baseUrl = new URL(`http://127.0.0.1:${port}`);
  const issuer = options.issuer ?? baseUrl.origin;
  const audience = options.audience ?? DEFAULT_AUDIENCE;

  const signingKey = (alg: SigningAlg = algs[0]!) => {
    const key = current.find((candidate) => candidate.alg === alg);
    if (!key) throw new Error(`This fake SSO has no ${alg} key; start it with algs: [..., '${alg}']`);
    return key;
  };

  const mint = async (claims: JWTPayload = {}, opts: MintOptions = {}) => {
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
    set mode(next: JwksMode) {
      mode = next;
    },
    mint,
    authHeader: async (claims, opts) => `Bearer ${await mint(claims, opts)}`,
    signingKey,
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

async function generateSigningKey(alg: SigningAlg): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519' } : {});
  const kid = randomUUID();
  return { kid, alg, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}
