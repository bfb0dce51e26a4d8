/** The agent key verifier on its own: key format, the ≤ 5 s verified-key cache, shared lookups, and last_used_at throttling. */
import { createAgentKeyVerifier, generateAgentKey, hashAgentKey, isAgentKey, type ActiveAgentKey } from '../../src/auth/agent-key.js';
import { ProblemError } from '../../src/http/problem.js';

const T0 = 1_800_000_000_000;

function fakeStore(keys: Map<string, ActiveAgentKey>) {
  const calls = { find: 0, touch: [] as number[] };
  return {
    calls,
    store: {
      findActive: async (hash: Buffer) => {
        calls.find += 1;
        return keys.get(hash.toString('hex')) ?? null;
      },
      touch: async (keyId: number) => {
        calls.touch.push(keyId);
      },
    },
  };
}

const active = (secret: string, extra: Partial<ActiveAgentKey> = {}): [string, ActiveAgentKey] => [
  hashAgentKey(secret).toString('hex'),
  { keyId: 7, tenantId: 'acme', agentId: 12, handle: '@claude-1', name: 'Claude', expiresAt: null, lastUsedAt: null, ...extra },
];

describe('agent keys', () => {
  it('are tfa_ + 43 base64url characters (32 bytes), different every time, with a 12-character prefix', () => {
    const a = generateAgentKey();
    const b = generateAgentKey();
    expect(a.secret).toMatch(/^tfa_[A-Za-z0-9_-]{43}$/);
    expect(a.secret).not.toBe(b.secret);
    expect(a.prefix).toBe(a.secret.slice(0, 12));
    expect(a.hash.equals(hashAgentKey(a.secret))).toBe(true);
    expect(isAgentKey(a.secret)).toBe(true);
    expect(isAgentKey('eyJhbGciOiJFZERTQSJ9.e30.sig')).toBe(false);
  });

  it('verifies into the agent principal; an unknown key is a 401 that says nothing about why', async () => {
    const { secret } = generateAgentKey();
    const { store } = fakeStore(new Map([active(secret)]));
    const verifier = createAgentKeyVerifier(store, { now: () => T0 });
    expect(await verifier.verify(secret)).toMatchObject({ actorType: 'agent', workerId: 12, handle: '@claude-1', tenantId: 'acme', userId: 'agent:12', defaultProjectId: null, client: null });
    // Another last character (a fixed 'A' was the same key whenever the random secret already ended in 'A').
    const other = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    const refused = await verifier.verify(other).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ProblemError);
    expect((refused as ProblemError).problem).toMatchObject({ status: 401, detail: 'Invalid API key' });
    expect((refused as ProblemError).headers['WWW-Authenticate']).toContain('error="invalid_token"');
  });

  it('remembers a verified key for at most 5 s (never past its expiry), so revocation applies within 5 s', async () => {
    const { secret } = generateAgentKey();
    const keys = new Map([active(secret, { expiresAt: new Date(T0 + 3_000).toISOString() })]);
    const { store, calls } = fakeStore(keys);
    let now = T0;
    const verifier = createAgentKeyVerifier(store, { ttlMs: 60_000, now: () => now }); // capped at 5 s
    await verifier.verify(secret);
    now = T0 + 2_999;
    await verifier.verify(secret);
    expect(calls.find).toBe(1);
    keys.clear(); // revoked (or expired) in the database
    now = T0 + 3_000; // the key's expiry comes before the 5 s
    await expect(verifier.verify(secret)).rejects.toBeInstanceOf(ProblemError);

    const other = generateAgentKey().secret;
    keys.set(...active(other));
    now = T0 + 10_000;
    await verifier.verify(other);
    keys.clear();
    now = T0 + 14_999;
    await verifier.verify(other); // still remembered
    now = T0 + 15_000;
    await expect(verifier.verify(other)).rejects.toBeInstanceOf(ProblemError);
  });

  it('records use at most once a minute per key', async () => {
    const { secret } = generateAgentKey();
    const { store, calls } = fakeStore(new Map([active(secret)]));
    let now = T0;
    const verifier = createAgentKeyVerifier(store, { now: () => now });
    for (let s = 0; s < 120; s += 6) {
      now = T0 + s * 1_000; // a lookup each time (past the 5 s cache)
      await verifier.verify(secret);
    }
    expect(calls.find).toBe(20);
    expect(calls.touch).toEqual([7, 7]); // at 0 s and 60 s
  });

  it('looks a key up once however many requests present it while the lookup runs, a refused key included', async () => {
    const { secret } = generateAgentKey();
    const keys = new Map([active(secret)]);
    let lookups = 0;
    let answer!: () => void;
    const store = {
      findActive: (hash: Buffer) => {
        lookups += 1;
        return new Promise<ActiveAgentKey | null>((resolve) => {
          answer = () => resolve(keys.get(hash.toString('hex')) ?? null);
        });
      },
      touch: async () => {},
    };
    let now = T0;
    const verifier = createAgentKeyVerifier(store, { now: () => now });
    const burst = Array.from({ length: 50 }, () => verifier.verify(secret));
    expect(lookups).toBe(1);
    answer();
    const principals = await Promise.all(burst);
    expect(principals.every((p) => p.workerId === 12 && p.actorType === 'agent')).toBe(true);

    // Past the 5 s the key was revoked: the next burst shares one lookup again, and every request is refused.
    now = T0 + 5_000;
    keys.clear();
    const refused = Array.from({ length: 50 }, () => verifier.verify(secret).catch((e: unknown) => e));
    expect(lookups).toBe(2);
    answer();
    const outcomes = await Promise.all(refused);
    expect(outcomes.every((e) => e instanceof ProblemError && e.problem.status === 401)).toBe(true);
    // A refusal is not remembered: the next request asks the database again.
    const again = verifier.verify(secret).catch((e: unknown) => e);
    expect(lookups).toBe(3);
    answer();
    expect(await again).toBeInstanceOf(ProblemError);
  });
});
