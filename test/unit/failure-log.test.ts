/** observability/failure-log.ts: one line per kind of failure per window, the rest counted. */
import { jest } from '@jest/globals';
import { ConnectionError } from 'slonik';
import { createFailureSampler, describeFailure, failureKey } from '../../src/observability/failure-log.js';

describe('createFailureSampler', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('admits the first failure of a kind, counts the rest of its window, and reports the count when it closes', () => {
    const reports: unknown[] = [];
    const sampler = createFailureSampler({ windowMs: 1_000, report: (r) => reports.push(r) });
    const admitted = Array.from({ length: 50 }, () => sampler.admit('db down', () => ({ message: 'connect ECONNREFUSED' })));
    expect(admitted.filter(Boolean)).toHaveLength(1);
    expect(admitted[0]).toBe(true);
    expect(reports).toEqual([]);
    jest.advanceTimersByTime(1_000);
    expect(reports).toEqual([{ failure: { message: 'connect ECONNREFUSED' }, suppressed: 49, windowMs: 1_000 }]);
    // The next window starts with a logged failure again.
    expect(sampler.admit('db down', () => ({}))).toBe(true);
  });

  it('keeps kinds apart, and reports nothing for a window without repeats', () => {
    const reports: Array<{ suppressed: number }> = [];
    const sampler = createFailureSampler({ windowMs: 1_000, report: (r) => reports.push(r) });
    expect(sampler.admit('a', () => ({}))).toBe(true);
    expect(sampler.admit('b', () => ({}))).toBe(true);
    expect(sampler.admit('a', () => ({}))).toBe(false);
    jest.advanceTimersByTime(1_000);
    expect(reports.map((r) => r.suppressed)).toEqual([1]);
  });

  it('logs everything once more kinds than maxKinds are open', () => {
    const sampler = createFailureSampler({ windowMs: 1_000, maxKinds: 2, report: () => {} });
    sampler.admit('a', () => ({}));
    sampler.admit('b', () => ({}));
    expect([sampler.admit('c', () => ({})), sampler.admit('c', () => ({}))]).toEqual([true, true]);
  });
});

describe('describeFailure and failureKey', () => {
  it('describes a database outage without a stack, with its cause', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const err = new ConnectionError('Connection failed.', { cause });
    const described = describeFailure(err, true);
    expect(described).not.toHaveProperty('stack');
    expect(described).toMatchObject({ type: 'ConnectionError', cause: { type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:1', code: 'ECONNREFUSED' } });
  });

  it('keeps the stack of an unexpected error (a bug)', () => {
    expect(describeFailure(new TypeError('x is undefined'), false)).toMatchObject({ type: 'TypeError', message: 'x is undefined', stack: expect.stringContaining('TypeError') });
  });

  it('gives identical failures one key and different ones different keys', () => {
    const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(failureKey('unavailable', refused())).toBe(failureKey('unavailable', refused()));
    expect(failureKey('unavailable', refused())).not.toBe(failureKey('internal', refused()));
    expect(failureKey('unavailable', refused())).not.toBe(failureKey('unavailable', new Error('Connection terminated')));
  });
});
