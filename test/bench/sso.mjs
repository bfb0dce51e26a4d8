/**
 * A tiny stand-in for the Better Auth SSO during the benchmark (the ideas of test/helpers/sso.ts, as plain
 * JS): an Ed25519 key, its public JWK served at /api/auth/jwks, and tokens minted for the seeded users with
 * the claims Better Auth sets (sub, email, name, iss, aud, iat, exp). The servers under test fetch the JWKS
 * once and verify every request locally, exactly as in production.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

export const JWKS_PATH = '/api/auth/jwks';
export const AUDIENCE = 'https://api.taskflow.test';

export async function startBenchSso() {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const kid = randomUUID();
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' }] });
  let fetches = 0;
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === JWKS_PATH) {
      fetches += 1;
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' }).end(jwks);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    jwksUrl: `${origin}${JWKS_PATH}`,
    issuer: origin,
    audience: AUDIENCE,
    get fetches() {
      return fetches;
    },
    /** A token for `sub`, valid for `expiresIn` (long enough for the whole run). */
    mint: (sub, claims = {}, expiresIn = '4h') =>
      new SignJWT({ sub, ...claims })
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
        .setIssuer(origin)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(expiresIn)
        .sign(privateKey),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
