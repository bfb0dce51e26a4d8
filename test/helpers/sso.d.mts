/** Types of sso.mjs, the one fake SSO (plain JavaScript so the Dredd runner and the benchmark import it too). */
import type { CryptoKey, JSONWebKeySet, JWK, JWTHeaderParameters, JWTPayload } from 'jose';

export type SigningAlg = 'EdDSA' | 'RS256';

export declare const JWKS_PATH: '/api/auth/jwks';
export declare const DEFAULT_AUDIENCE: string;

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

/** What another process needs to mint tokens this SSO's JWKS verifies. */
export interface ExportedSigningKey {
  privateJwk: JWK;
  kid: string;
  alg: SigningAlg;
  issuer: string;
  audience: string;
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
  /** The current signing key as a private JWK with its kid, issuer and audience (for a process that mints too). */
  exportSigningKey(alg?: SigningAlg): Promise<ExportedSigningKey>;
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

export declare function startFakeSso(options?: FakeSsoOptions): Promise<FakeSso>;
