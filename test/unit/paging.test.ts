import { z } from 'zod';
import { decodeCursor, encodeCursor, toPage } from '../../src/http/paging.js';
import { assertIfMatch, etagOf } from '../../src/http/preconditions.js';
import { ProblemError } from '../../src/http/problem.js';
import { changedFields } from '../../src/audit/changes.js';

const Key = z.tuple([z.string(), z.number().int()]);

describe('cursor', () => {
  it('round-trips the key of the last row', () => {
    const cursor = encodeCursor('-created_at', ['2026-01-01T00:00:00.000Z', 42]);
    expect(decodeCursor(cursor, '-created_at', Key)).toEqual(['2026-01-01T00:00:00.000Z', 42]);
  });

  it.each([
    ['garbage', 'not base64 json'],
    ['another sort', encodeCursor('title', ['a', 1])],
    ['a forged key', encodeCursor('-created_at', ['x', 'drop table task'])],
  ])('rejects %s with a 422 naming the cursor', (_name, cursor) => {
    try {
      decodeCursor(cursor, '-created_at', Key);
      throw new Error('expected a problem');
    } catch (err) {
      expect(err).toBeInstanceOf(ProblemError);
      expect((err as ProblemError).problem).toMatchObject({ status: 422, errors: [{ pointer: '/query/cursor' }] });
    }
  });

  it('toPage hands out a cursor only when a row beyond the page exists', () => {
    const rows = [{ id: 1 }, { id: 2 }, { id: 3 }];
    expect(toPage(rows, 3, 's', (r) => [r.id], (r) => r.id)).toEqual({ items: [1, 2, 3], next_cursor: null });
    const page = toPage(rows, 2, 's', (r) => [r.id], (r) => r.id);
    expect(page.items).toEqual([1, 2]);
    expect(decodeCursor(page.next_cursor!, 's', z.tuple([z.number()]))).toEqual([2]);
  });
});

describe('If-Match', () => {
  it('passes without the header, with *, and with the current ETag among several', () => {
    expect(() => assertIfMatch(undefined, 3)).not.toThrow();
    expect(() => assertIfMatch('*', 3)).not.toThrow();
    expect(() => assertIfMatch(`"1", ${etagOf(3)}`, 3)).not.toThrow();
  });

  it('fails with 412 on a stale or weak ETag', () => {
    expect(() => assertIfMatch('"2"', 3)).toThrow(ProblemError);
    expect(() => assertIfMatch('W/"3"', 3)).toThrow(/does not match/);
  });
});

describe('changedFields', () => {
  it('lists only what changed, as before/after', () => {
    expect(changedFields({ a: 1, b: ['x'], c: null }, { a: 1, b: ['y'], c: 'z' }, ['a', 'b', 'c'])).toEqual({
      b: { before: ['x'], after: ['y'] },
      c: { before: null, after: 'z' },
    });
  });
});
