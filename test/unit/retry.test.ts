import { BackendTerminatedError, type DatabasePool } from 'slonik';
import { retryDroppedConnections } from '../../src/db/retry.js';

const dropped = () => new BackendTerminatedError(new Error('terminating connection due to administrator command'));

function fakePool(transaction: (body: (tx: unknown) => Promise<unknown>) => Promise<unknown>, query: () => Promise<unknown>) {
  return retryDroppedConnections({ transaction, query } as unknown as DatabasePool);
}

describe('retryDroppedConnections', () => {
  it('retries a query once on a dropped connection, and only once', async () => {
    let calls = 0;
    const pool = fakePool(async () => undefined, async () => (++calls === 1 ? Promise.reject(dropped()) : 'ok'));
    await expect(pool.query({} as never)).resolves.toBe('ok');
    expect(calls).toBe(2);
    let always = 0;
    const broken = fakePool(async () => undefined, async () => (++always, Promise.reject(dropped())));
    await expect(broken.query({} as never)).rejects.toBeInstanceOf(BackendTerminatedError);
    expect(always).toBe(2);
  });

  it('retries a transaction that died before its body ran (at BEGIN)', async () => {
    let attempts = 0;
    let bodies = 0;
    const pool = fakePool(async (body) => (++attempts === 1 ? Promise.reject(dropped()) : body({})), async () => undefined);
    await pool.transaction(async () => void bodies++);
    expect({ attempts, bodies }).toEqual({ attempts: 2, bodies: 1 });
  });

  it('never re-runs a transaction whose body ran: the cut may have hit COMMIT', async () => {
    let bodies = 0;
    const pool = fakePool(async (body) => (await body({}), Promise.reject(dropped())), async () => undefined);
    await expect(pool.transaction(async () => void bodies++)).rejects.toBeInstanceOf(BackendTerminatedError);
    expect(bodies).toBe(1);
  });

  it('leaves other errors alone', async () => {
    let calls = 0;
    const pool = fakePool(async () => undefined, async () => (++calls, Promise.reject(new Error('syntax error'))));
    await expect(pool.query({} as never)).rejects.toThrow('syntax error');
    expect(calls).toBe(1);
  });
});

describe('retryDroppedConnections and stale prepared statements', () => {
  const stale = () => Object.assign(new Error('cached plan must not change result type'), { code: '0A000' });

  it('re-runs a transaction whose body hit a stale plan (it was rolled back), once', async () => {
    let bodies = 0;
    const pool = fakePool(async (body) => (await body({}), bodies === 1 ? Promise.reject(stale()) : 'ok'), async () => undefined);
    await expect(pool.transaction(async () => void bodies++)).resolves.toBe('ok');
    expect(bodies).toBe(2);
    let always = 0;
    const broken = fakePool(async (body) => (await body({}), Promise.reject(stale())), async () => undefined);
    await expect(broken.transaction(async () => void always++)).rejects.toThrow('cached plan');
    expect(always).toBe(2);
  });
});
