/** Dev mode: local work without an SSO, and the guard that keeps it out of production. */
import { assertDevModeAllowed, createAuthenticator, DEV_MODE_WARNING } from '../../src/auth/index.js';
import { INVALID_TOKEN } from '../../src/auth/problems.js';
import { startFakeSso } from '../helpers/sso.mjs';
import { expectInvalidToken } from './support.js';

describe('dev mode', () => {
  it('accepts any request as the dev user when no JWKS is configured', async () => {
    const auth = createAuthenticator({ devMode: true, devUserId: 'dana' });
    const dana = { userId: 'dana', email: 'dana@localhost', name: 'Developer', tenantId: 'default' };
    await expect(auth.authenticate(undefined)).resolves.toEqual(dana);
    await expect(auth.authenticate('Bearer anything.at.all')).resolves.toEqual(dana);
    expect(auth.state()).toMatchObject({ lastSuccessAt: null, refreshFailures: 0, stale: false, keyCount: 0 });
  });

  it('defaults the dev user to dev-user', async () => {
    await expect(createAuthenticator({ devMode: true }).authenticate(undefined)).resolves.toMatchObject({
      userId: 'dev-user',
      email: 'dev-user@localhost',
    });
  });

  it('with a JWKS configured, still verifies a bearer token that is sent', async () => {
    const sso = await startFakeSso();
    try {
      const auth = createAuthenticator({ devMode: true, jwksUrl: sso.url, issuer: sso.issuer, audience: sso.audience });
      await expect(auth.authenticate(undefined)).resolves.toMatchObject({ userId: 'dev-user' });
      await expect(auth.authenticate('Basic dXNlcjpwYXNz')).resolves.toMatchObject({ userId: 'dev-user' });
      await expect(auth.authenticate(await sso.authHeader({ sub: 'erin' }))).resolves.toMatchObject({ userId: 'erin' });
      const expired = await sso.authHeader({}, { expiresIn: Math.floor(Date.now() / 1000) - 120 });
      await expectInvalidToken(auth.authenticate(expired), INVALID_TOKEN.expired);
    } finally {
      await sso.close();
    }
  });
});

describe('assertDevModeAllowed', () => {
  it('refuses dev mode in production', () => {
    expect(() => assertDevModeAllowed('production', true)).toThrow(/NODE_ENV=production/);
    expect(() => assertDevModeAllowed(' Production ', true)).toThrow(/NODE_ENV=production/);
  });

  it.each([
    ['production', false],
    ['development', true],
    ['test', true],
    [undefined, true],
  ] as const)('allows NODE_ENV=%s with devMode=%s', (nodeEnv, devMode) => {
    expect(() => assertDevModeAllowed(nodeEnv, devMode)).not.toThrow();
  });

  it('has a loud warning for the server to log', () => {
    expect(DEV_MODE_WARNING).toMatch(/DEV MODE/);
    expect(DEV_MODE_WARNING).toMatch(/production/);
  });
});
