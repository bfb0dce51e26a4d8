/**
 * The key cache against a real JWKS server that rotates keys, goes down and comes back. Durations are small
 * (hundreds of ms) and every wait is longer than the window it waits out, so a slow machine only makes the
 * waits more than enough; nothing asserts how long anything took.
 */
import { createAuthenticator, type AuthOptions, type JwksHooks } from '../../src/auth/index.js';
import { INVALID_TOKEN } from '../../src/auth/problems.js';
import { startFakeSso, type FakeSso } from '../helpers/sso.mjs';
import { expectAuthUnavailable, expectInvalidToken, sleep } from './support.js';

const started: FakeSso[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((sso) => sso.close()));
});

async function setup(options: Partial<AuthOptions> = {}, hooks: JwksHooks = {}) {
  const sso = await startFakeSso({ algs: ['EdDSA', 'RS256'] });
  started.push(sso);
  const auth = createAuthenticator({ jwksUrl: sso.url, issuer: sso.issuer, audience: sso.audience, ...options }, hooks);
  return { sso, auth };
}

/** Records hook calls in order. */
function recordingHooks() {
  const calls: { refresh: number[]; failure: unknown[]; stale: number[] } = { refresh: [], failure: [], stale: [] };
  const hooks: JwksHooks = {
    onRefresh: (keyCount) => calls.refresh.push(keyCount),
    onRefreshFailure: (err) => calls.failure.push(err),
    onStale: (ageMs) => calls.stale.push(ageMs),
  };
  return { calls, hooks };
}

describe('caching', () => {
  it('fetches the JWKS once and verifies every later token locally', async () => {
    const { calls, hooks } = recordingHooks();
    const { sso, auth } = await setup({}, hooks);
    for (let i = 0; i < 20; i++) await auth.authenticate(await sso.authHeader({ sub: `user-${i}` }));
    expect(sso.fetchCount).toBe(1);
    expect(calls.refresh).toEqual([2]);
    expect(auth.state()).toEqual({
      lastSuccessAt: expect.any(Number),
      lastFailureAt: null,
      refreshFailures: 0,
      stale: false,
      keyCount: 2,
    });
  });

  it('refetches once the cache is older than cacheMaxAge', async () => {
    const { sso, auth } = await setup({ cacheMaxAgeMs: 200 });
    await auth.authenticate(await sso.authHeader());
    await sleep(300);
    await auth.authenticate(await sso.authHeader());
    expect(sso.fetchCount).toBe(2);
  });

  it('a hook that throws does not break authentication', async () => {
    const boom = () => {
      throw new Error('logger down');
    };
    const { sso, auth } = await setup({}, { onRefresh: boom, onRefreshFailure: boom, onStale: boom });
    await expect(auth.authenticate(await sso.authHeader())).resolves.toMatchObject({ userId: 'user-1' });
  });
});

describe('key rotation', () => {
  it('accepts a token signed with a newly published key (same authenticator) and drops the retired key', async () => {
    const { sso, auth } = await setup({ cooldownMs: 100 });
    const before = await sso.authHeader({ sub: 'before' });
    await expect(auth.authenticate(before)).resolves.toMatchObject({ userId: 'before' });

    await sso.rotate(); // publishes a new key per algorithm and retires the old ones
    await sleep(200); // past the unknown-kid cooldown
    for (const alg of ['EdDSA', 'RS256'] as const) {
      await expect(auth.authenticate(await sso.authHeader({ sub: 'after' }, { alg }))).resolves.toMatchObject({
        userId: 'after',
      });
    }
    await expectInvalidToken(auth.authenticate(before), INVALID_TOKEN.unknownKey);
    expect(sso.fetchCount).toBe(2); // the one refetch covered both new keys
  });

  it('keeps accepting old tokens while the SSO still publishes the old key (grace period)', async () => {
    const { sso, auth } = await setup({ cooldownMs: 100 });
    const before = await sso.authHeader();
    await auth.authenticate(before);
    await sso.rotate({ keepOld: true });
    await sleep(200);
    await expect(auth.authenticate(await sso.authHeader({ sub: 'new' }))).resolves.toMatchObject({ userId: 'new' });
    await expect(auth.authenticate(before)).resolves.toMatchObject({ userId: 'user-1' });
  });
});

describe('unknown kids cannot hammer the SSO', () => {
  const garbageKids = (sso: FakeSso, n: number) =>
    Promise.all(Array.from({ length: n }, (_, i) => sso.authHeader({}, { kid: `garbage-${i}` })));

  it('200 parallel requests with unknown kids on a cold cache cause one fetch', async () => {
    const { calls, hooks } = recordingHooks();
    const { sso, auth } = await setup({}, hooks);
    const headers = await garbageKids(sso, 200);
    const results = await Promise.allSettled(headers.map((header) => auth.authenticate(header)));
    expect(results.every((result) => result.status === 'rejected')).toBe(true);
    await expectInvalidToken(Promise.reject((results[0] as PromiseRejectedResult).reason), INVALID_TOKEN.unknownKey);
    expect(sso.fetchCount).toBe(1);
    expect(calls.refresh).toEqual([2]);
  });

  it('after the cooldown, 200 parallel unknown kids share one refetch; valid tokens in the burst pass', async () => {
    const cooldownMs = 500;
    const { sso, auth } = await setup({ cooldownMs });
    await auth.authenticate(await sso.authHeader());
    await sleep(cooldownMs + 200);

    const burst = async () => {
      const garbage = await garbageKids(sso, 200);
      const valid = await Promise.all(Array.from({ length: 20 }, (_, i) => sso.authHeader({ sub: `u${i}` })));
      const [bad, good] = await Promise.all([
        Promise.allSettled(garbage.map((header) => auth.authenticate(header))),
        Promise.all(valid.map((header) => auth.authenticate(header))),
      ]);
      expect(bad.every((result) => result.status === 'rejected')).toBe(true);
      expect(good.map((identity) => identity.userId)).toEqual(valid.map((_, i) => `u${i}`));
    };

    const startedAt = Date.now();
    await burst();
    expect(sso.fetchCount).toBe(2);
    await burst();
    await burst();
    // At most one refetch per cooldown window, however long the bursts took on this machine.
    const windows = 1 + Math.floor((Date.now() - startedAt) / cooldownMs);
    expect(sso.fetchCount - 1).toBeLessThanOrEqual(windows);
  });
});

describe('SSO outage with cached keys', () => {
  it('serves cached keys past cacheMaxAge, reports stale, then picks up the restarted SSO with new keys', async () => {
    const { calls, hooks } = recordingHooks();
    const { sso, auth } = await setup({ cacheMaxAgeMs: 200, cooldownMs: 100, failureBackoffMs: 600 }, hooks);
    const before = await sso.authHeader({ sub: 'before' });
    await auth.authenticate(before);

    await sso.stop();
    await sleep(300); // cache expired
    await expect(auth.authenticate(before)).resolves.toMatchObject({ userId: 'before' });
    const stale = auth.state();
    expect(stale).toMatchObject({ stale: true, refreshFailures: 1, keyCount: 2, lastFailureAt: expect.any(Number) });
    expect(calls.failure).toHaveLength(1);
    expect(calls.stale).toHaveLength(1);
    expect(calls.stale[0]).toBeGreaterThanOrEqual(200);
    for (let i = 0; i < 20; i++) await expect(auth.authenticate(before)).resolves.toBeDefined();

    await sso.rotate();
    await sso.start();
    await sleep(800); // past the failure backoff
    await expect(auth.authenticate(await sso.authHeader({ sub: 'after' }))).resolves.toMatchObject({ userId: 'after' });
    expect(auth.state()).toMatchObject({ stale: false, refreshFailures: 0, keyCount: 2 });
    expect(auth.state().lastSuccessAt).toBeGreaterThan(stale.lastFailureAt!);
    await expectInvalidToken(auth.authenticate(before), INVALID_TOKEN.unknownKey);
  });

  it('makes no fetch attempt while backing off after a failure, so the outage adds no latency', async () => {
    const { sso, auth } = await setup({ cacheMaxAgeMs: 200, failureBackoffMs: 60_000 });
    const header = await sso.authHeader();
    await auth.authenticate(header);
    sso.mode = 'error';
    await sleep(300);
    await auth.authenticate(header); // the one refresh attempt of this backoff window
    expect(sso.fetchCount).toBe(2);

    await Promise.all(Array.from({ length: 100 }, () => auth.authenticate(header)));
    for (let i = 0; i < 20; i++) await auth.authenticate(header);
    // Even a rotation-looking unknown kid waits for the backoff to end.
    await expectInvalidToken(auth.authenticate(await sso.authHeader({}, { kid: 'new-kid' })), INVALID_TOKEN.unknownKey);
    expect(sso.fetchCount).toBe(2);
    expect(auth.state()).toMatchObject({ refreshFailures: 1, stale: true });
  });

  it('answers 503 once the cached keys are older than staleMaxAge', async () => {
    const { sso, auth } = await setup({ cacheMaxAgeMs: 100, staleMaxAgeMs: 300, failureBackoffMs: 0 });
    const header = await sso.authHeader();
    await auth.authenticate(header);
    await sso.stop();
    await sleep(400);
    await expectAuthUnavailable(auth.authenticate(header));
    expect(auth.state()).toMatchObject({ stale: true, keyCount: 2 });
  });

  it('survives an SSO that answers 5xx or hangs past the timeout', async () => {
    const { sso, auth } = await setup({ cacheMaxAgeMs: 100, timeoutMs: 200, failureBackoffMs: 0 });
    const header = await sso.authHeader();
    await auth.authenticate(header);
    for (const mode of ['error', 'hang'] as const) {
      sso.mode = mode;
      await sleep(200);
      await expect(auth.authenticate(header)).resolves.toMatchObject({ userId: 'user-1' });
    }
    expect(auth.state()).toMatchObject({ stale: true, refreshFailures: 2 });
  });
});

describe('SSO outage without cached keys', () => {
  it('cold start with the SSO down: 503 auth-unavailable, then recovery once it is up', async () => {
    const { calls, hooks } = recordingHooks();
    const { sso, auth } = await setup({ failureBackoffMs: 200 }, hooks);
    const header = await sso.authHeader();
    await sso.stop();

    await expectAuthUnavailable(auth.authenticate(header));
    expect(auth.state()).toMatchObject({ lastSuccessAt: null, refreshFailures: 1, stale: false, keyCount: 0 });
    expect(calls.failure).toHaveLength(1);
    expect(calls.stale).toHaveLength(0);

    await sso.start();
    await sleep(400); // past the failure backoff
    await expect(auth.authenticate(header)).resolves.toMatchObject({ userId: 'user-1' });
    expect(auth.state()).toMatchObject({ refreshFailures: 0, keyCount: 2 });
  });

  it('cold start against a hanging SSO: 503 after the fetch timeout', async () => {
    const { sso, auth } = await setup({ timeoutMs: 200 });
    sso.mode = 'hang';
    await expectAuthUnavailable(auth.authenticate(await sso.authHeader()));
  });

  it('parallel callers share one failed fetch; during the backoff, requests get 503 with no fetch attempt', async () => {
    const { calls, hooks } = recordingHooks();
    const { sso, auth } = await setup({ failureBackoffMs: 60_000 }, hooks);
    sso.mode = 'error';
    const header = await sso.authHeader();
    await Promise.all(Array.from({ length: 50 }, () => expectAuthUnavailable(auth.authenticate(header))));
    for (let i = 0; i < 10; i++) await expectAuthUnavailable(auth.authenticate(header));
    expect(sso.fetchCount).toBe(1);
    expect(calls.failure).toHaveLength(1);
    expect(auth.state()).toMatchObject({ refreshFailures: 1, lastSuccessAt: null });
  });
});
