/** coalescing(): one load per key at a time, its outcome shared, nothing remembered after it settles. */
import { coalescing } from '../../src/auth/coalesce.js';

/** A load that settles when the test says so, counting how often it started. */
function controlledLoad<V>() {
  let starts = 0;
  let settle!: { resolve: (v: V) => void; reject: (e: unknown) => void };
  const load = () => {
    starts += 1;
    return new Promise<V>((resolve, reject) => {
      settle = { resolve, reject };
    });
  };
  return { load, starts: () => starts, settle: () => settle };
}

describe('coalescing', () => {
  it('gives every caller of a key whose load is running that load’s value, and loads again once it settled', async () => {
    const run = coalescing<{ n: number }>();
    const a = controlledLoad<{ n: number }>();
    const waiting = Array.from({ length: 20 }, () => run('k', a.load));
    expect(a.starts()).toBe(1);
    a.settle().resolve({ n: 1 });
    const values = await Promise.all(waiting);
    expect(new Set(values).size).toBe(1); // the very same object
    expect(values[0]).toEqual({ n: 1 });

    const b = controlledLoad<{ n: number }>();
    const later = run('k', b.load);
    expect(b.starts()).toBe(1); // a new load: the first one settled
    b.settle().resolve({ n: 2 });
    expect(await later).toEqual({ n: 2 });
  });

  it('keeps keys apart', async () => {
    const run = coalescing<string>();
    const a = controlledLoad<string>();
    const b = controlledLoad<string>();
    const pa = run('a', a.load);
    const pb = run('b', b.load);
    expect([a.starts(), b.starts()]).toEqual([1, 1]);
    b.settle().resolve('B');
    a.settle().resolve('A');
    expect(await Promise.all([pa, pb])).toEqual(['A', 'B']);
  });

  it('hands a failure to every caller that shared the load, and does not remember it', async () => {
    const run = coalescing<string>();
    const a = controlledLoad<string>();
    const waiting = Array.from({ length: 5 }, () => run('k', a.load).catch((e: unknown) => e));
    const failure = new Error('database away');
    a.settle().reject(failure);
    expect(await Promise.all(waiting)).toEqual(Array(5).fill(failure));

    const b = controlledLoad<string>();
    const retried = run('k', b.load);
    expect(b.starts()).toBe(1);
    b.settle().resolve('back');
    expect(await retried).toBe('back');
  });
});
