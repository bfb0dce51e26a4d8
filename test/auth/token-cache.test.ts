import { createVerifiedTokenCache } from '../../src/auth/token-cache.js';

const alice = { userId: 'alice', email: null, name: null, tenantId: 'default' };
const T0 = 1_800_000_000_000;
const KEYS = T0 - 5_000; // when the key set in use was fetched

describe('verified token cache', () => {
  it('remembers a token for the TTL, never past its exp', () => {
    const cache = createVerifiedTokenCache(60_000);
    cache.set('long-lived', alice, T0 / 1000 + 3600, KEYS, T0);
    cache.set('expiring', alice, T0 / 1000 + 10, KEYS, T0);
    expect(cache.get('long-lived', KEYS, T0 + 59_999)).toBe(alice);
    expect(cache.get('long-lived', KEYS, T0 + 60_000)).toBeUndefined();
    expect(cache.get('expiring', KEYS, T0 + 9_999)).toBe(alice);
    expect(cache.get('expiring', KEYS, T0 + 10_000)).toBeUndefined();
  });

  it('forgets everything verified against an older key set (rotation, retirement)', () => {
    const cache = createVerifiedTokenCache(60_000);
    cache.set('t', alice, T0 / 1000 + 600, KEYS, T0);
    expect(cache.get('t', KEYS + 1_000, T0 + 1_000)).toBeUndefined();
    expect(cache.get('t', KEYS, T0 + 1_000)).toBeUndefined(); // gone for good
  });

  it('keys on the exact token: any other string misses', () => {
    const cache = createVerifiedTokenCache();
    cache.set('header.payload.signature', alice, T0 / 1000 + 600, KEYS, T0);
    expect(cache.get('header.payload.signaturE', KEYS, T0)).toBeUndefined();
    expect(cache.get('header.payload.signature ', KEYS, T0)).toBeUndefined();
  });

  it('stores nothing already expired, nothing with TTL 0, and stays bounded', () => {
    const off = createVerifiedTokenCache(0);
    off.set('t', alice, T0 / 1000 + 600, KEYS, T0);
    expect(off.get('t', KEYS, T0)).toBeUndefined();
    const cache = createVerifiedTokenCache(60_000, 3);
    cache.set('stale', alice, T0 / 1000 - 1, KEYS, T0);
    expect(cache.get('stale', KEYS, T0)).toBeUndefined();
    for (const t of ['a', 'b', 'c', 'd']) cache.set(t, alice, T0 / 1000 + 600, KEYS, T0);
    expect(['a', 'b', 'c', 'd'].map((t) => cache.get(t, KEYS, T0) !== undefined)).toEqual([false, true, true, true]);
  });
});
