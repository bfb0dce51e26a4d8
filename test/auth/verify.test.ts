/** Token verification against a real JWKS server: what gets in, and why everything else gets a 401. */
import { generateKeyPair, exportSPKI, SignJWT, UnsecuredJWT } from 'jose';
import { createAuthenticator, type Authenticator } from '../../src/auth/index.js';
import { INVALID_TOKEN } from '../../src/auth/problems.js';
import { startFakeSso, type FakeSso } from '../helpers/sso.mjs';
import { expectCredentialsRequired, expectInvalidToken } from './support.js';

let sso: FakeSso;
let auth: Authenticator;

beforeAll(async () => {
  sso = await startFakeSso({ algs: ['EdDSA', 'RS256'] });
  auth = createAuthenticator({ jwksUrl: sso.url, issuer: sso.issuer, audience: sso.audience });
});
afterAll(() => sso.close());

const bearer = (token: string) => `Bearer ${token}`;
const base64url = (text: string) => Buffer.from(text).toString('base64url');
const base64urlJson = (value: unknown) => base64url(JSON.stringify(value));

describe('valid tokens', () => {
  it.each(['EdDSA', 'RS256'] as const)('accepts a %s token and returns the identity from its claims', async (alg) => {
    const token = await sso.mint({ sub: 'alice', email: 'alice@example.test', name: 'Alice' }, { alg });
    await expect(auth.authenticate(bearer(token))).resolves.toEqual({
      userId: 'alice',
      email: 'alice@example.test',
      name: 'Alice',
      tenantId: 'default',
    });
  });

  it.each([
    ['tenant_id', { tenant_id: 't-1', organization_id: 'org-1', organization_ids: ['org-2'] }, 't-1'],
    ['organization_id', { organization_id: 'org-1', organization_ids: ['org-2'] }, 'org-1'],
    ['the first of organization_ids', { organization_ids: ['org-2', 'org-3'] }, 'org-2'],
    ['the default without a tenant claim', {}, 'default'],
    ['the next claim when one is not a string', { tenant_id: 42, organization_id: 'org-1' }, 'org-1'],
    ['the default when all are junk', { tenant_id: {}, organization_id: '', organization_ids: [7, 'org-x'] }, 'default'],
    ['the default when organization_ids is not a list', { organization_ids: 'org-1' }, 'default'],
  ])('takes the tenant from %s', async (_case, claims, tenantId) => {
    const identity = await auth.authenticate(await sso.authHeader({ sub: 'bob', ...claims }));
    expect(identity.tenantId).toBe(tenantId);
  });

  it('reads email and name only when they are strings', async () => {
    const identity = await auth.authenticate(await sso.authHeader({ sub: 'carol', email: 12, name: ['x'] }));
    expect(identity).toEqual({ userId: 'carol', email: null, name: null, tenantId: 'default' });
  });

  it('accepts any case of the scheme and an expiry within the 30 s leeway', async () => {
    const token = await sso.mint({}, { expiresIn: Math.floor(Date.now() / 1000) - 10 });
    await expect(auth.authenticate(`bearer  ${token}`)).resolves.toMatchObject({ userId: 'user-1' });
  });

  it('accepts a sub and a tenant of exactly 255 characters', async () => {
    const long = 'x'.repeat(255);
    await expect(auth.authenticate(await sso.authHeader({ sub: long, tenant_id: long }))).resolves.toMatchObject({
      userId: long,
      tenantId: long,
    });
  });

  it('checks neither iss nor aud when they are not configured', async () => {
    const lenient = createAuthenticator({ jwksUrl: sso.url });
    const token = await sso.mint({}, { issuer: null, audience: 'someone-else' });
    await expect(lenient.authenticate(bearer(token))).resolves.toMatchObject({ userId: 'user-1' });
  });
});

describe('rejected tokens get 401 invalid_token with the reason and without the token', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: [string, () => Promise<string>, string][] = [
    ['expired', () => sso.mint({}, { expiresIn: now() - 120 }), INVALID_TOKEN.expired],
    ['not yet valid', () => sso.mint({}, { notBefore: now() + 300 }), INVALID_TOKEN.notYetValid],
    ['from another issuer', () => sso.mint({}, { issuer: 'https://evil.example' }), INVALID_TOKEN.wrongIssuer],
    ['without an issuer', () => sso.mint({}, { issuer: null }), 'Missing iss claim'],
    ['for another audience', () => sso.mint({}, { audience: 'https://other-api.example' }), INVALID_TOKEN.wrongAudience],
    ['without an expiry', () => sso.mint({}, { expiresIn: null }), 'Missing exp claim'],
    ['without sub', () => sso.mint({ sub: undefined }), INVALID_TOKEN.missingSub],
    ['with a non-string sub', () => sso.mint({ sub: 42 as unknown as string }), INVALID_TOKEN.invalidSub],
    ['with a sub over 255 characters', () => sso.mint({ sub: 'x'.repeat(256) }), INVALID_TOKEN.subjectTooLong],
    ['with a tenant over 255 characters', () => sso.mint({ tenant_id: 't'.repeat(256) }), INVALID_TOKEN.tenantTooLong],
    ['with an unknown kid', () => sso.mint({}, { kid: 'no-such-key' }), INVALID_TOKEN.unknownKey],
    [
      'with a tampered payload',
      async () => {
        const [header, , signature] = (await sso.mint({ sub: 'mallory' })).split('.');
        const forged = { sub: 'admin', iss: sso.issuer, aud: sso.audience, exp: now() + 300 };
        return `${header}.${base64urlJson(forged)}.${signature}`;
      },
      INVALID_TOKEN.badSignature,
    ],
    [
      'with a tampered signature',
      async () => {
        const [header, payload, signature = ''] = (await sso.mint()).split('.');
        const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
        return `${header}.${payload}.${flipped}`;
      },
      INVALID_TOKEN.badSignature,
    ],
    [
      'signed by a key the SSO never published, under a published kid',
      async () => {
        const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
        return sso.mint({}, { privateKey });
      },
      INVALID_TOKEN.badSignature,
    ],
    [
      'with alg none',
      async () =>
        new UnsecuredJWT({ sub: 'admin' }).setIssuer(sso.issuer).setAudience(sso.audience).setExpirationTime('5m').encode(),
      INVALID_TOKEN.algorithmNotAllowed,
    ],
    [
      'HS256 signed with the public RSA key (key confusion)',
      async () => {
        const { kid, publicKey } = sso.signingKey('RS256');
        const secret = new TextEncoder().encode(await exportSPKI(publicKey));
        return hs256Token(kid, secret);
      },
      INVALID_TOKEN.algorithmNotAllowed,
    ],
    [
      'HS256 signed with the public Ed25519 JWK',
      async () => {
        const { kid, jwk } = sso.signingKey('EdDSA');
        return hs256Token(kid, new TextEncoder().encode(JSON.stringify(jwk)));
      },
      INVALID_TOKEN.algorithmNotAllowed,
    ],
    [
      'ES256, a real signature outside the allow-list',
      async () => {
        const { privateKey } = await generateKeyPair('ES256');
        return sso.mint({}, { privateKey, header: { alg: 'ES256' } });
      },
      INVALID_TOKEN.algorithmNotAllowed,
    ],
    [
      'RS256 claiming the kid of the Ed25519 key (algorithm/key type mismatch)',
      async () => sso.mint({}, { alg: 'RS256', kid: sso.signingKey('EdDSA').kid }),
      INVALID_TOKEN.unknownKey,
    ],
    ['that is not a JWT', async () => 'not-a-jwt', INVALID_TOKEN.malformed],
    ['whose segments are not base64url JSON', async () => 'abc.def.ghi', INVALID_TOKEN.malformed],
    ['whose header is not JSON', async () => `${base64url('not json')}.e30.c2ln`, INVALID_TOKEN.malformed],
  ];

  it.each(cases)('rejects a token %s', async (_case, makeToken, reason) => {
    const token = await makeToken();
    await expectInvalidToken(auth.authenticate(bearer(token)), reason, token);
  });

  async function hs256Token(kid: string, secret: Uint8Array): Promise<string> {
    return new SignJWT({ sub: 'admin' })
      .setProtectedHeader({ alg: 'HS256', kid })
      .setIssuer(sso.issuer)
      .setAudience(sso.audience)
      .setExpirationTime('5m')
      .sign(secret);
  }
});

describe('the Authorization header', () => {
  it('missing: 401 with a bare Bearer challenge', async () => {
    await expectCredentialsRequired(auth.authenticate(undefined), 'Missing Authorization header');
    await expectCredentialsRequired(auth.authenticate('  '), 'Missing Authorization header');
  });

  it('another scheme: 401 with a bare Bearer challenge', async () => {
    await expectCredentialsRequired(auth.authenticate('Basic dXNlcjpwYXNz'), 'Authorization scheme must be Bearer');
    await expectCredentialsRequired(auth.authenticate(await sso.mint()), 'Authorization scheme must be Bearer');
  });

  it.each([
    ['no token', 'Bearer'],
    ['an empty token', 'Bearer   '],
    ['two tokens', 'Bearer abc.def.ghi jkl.mno.pqr'],
    ['characters outside b64token', 'Bearer abc.def.ghi"'],
    ['a comma list', 'Bearer a.b.c, Basic x'],
  ])('malformed (%s): 401 invalid_token', async (_case, header) => {
    await expectInvalidToken(auth.authenticate(header), INVALID_TOKEN.malformed);
  });
});

describe('configuration', () => {
  it.each([[['HS256']], [['none']], [['EdDSA', 'HS512']], [[]], [['RS257']]])('refuses algorithms %j', (algorithms) => {
    expect(() => createAuthenticator({ jwksUrl: sso.url, algorithms })).toThrow(/asymmetric JWS algorithms/);
  });

  it('accepts only the configured algorithms', async () => {
    const edOnly = createAuthenticator({ jwksUrl: sso.url, algorithms: ['EdDSA'] });
    await expect(edOnly.authenticate(await sso.authHeader({}, { alg: 'EdDSA' }))).resolves.toBeDefined();
    const rs256 = await sso.authHeader({}, { alg: 'RS256' });
    await expectInvalidToken(edOnly.authenticate(rs256), INVALID_TOKEN.algorithmNotAllowed);
  });

  it('needs a JWKS URL unless in dev mode', () => {
    expect(() => createAuthenticator({})).toThrow(/JWKS URL/);
  });

  it('caps the fetch timeout at 3 s and rejects nonsense durations', () => {
    expect(() => createAuthenticator({ jwksUrl: sso.url, timeoutMs: 5_000 })).toThrow(RangeError);
    expect(() => createAuthenticator({ jwksUrl: sso.url, cooldownMs: -1 })).toThrow(RangeError);
    const staleShorterThanFresh = { jwksUrl: sso.url, cacheMaxAgeMs: 10_000, staleMaxAgeMs: 1_000 };
    expect(() => createAuthenticator(staleShorterThanFresh)).toThrow(RangeError);
  });
});
