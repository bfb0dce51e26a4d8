import { isNotModified, notModifiedReply } from '../../src/http/preconditions.js';

describe('If-None-Match', () => {
  it.each<[string | string[] | undefined, boolean]>([
    [undefined, false],
    ['"3"', true],
    ['W/"3"', true], // weak comparison (RFC 9110 §13.1.2)
    ['"1", "3"', true],
    [['"1"', '"3"'], true],
    ['*', true],
    ['"2"', false],
    ['3', false], // not an entity tag
    ['"33"', false],
  ])('%j against version 3 → %s', (header, expected) => {
    expect(isNotModified(header, 3)).toBe(expected);
  });

  it('a current copy gets 304 with the ETag and no body; a stale one nothing (the handler answers 200)', () => {
    expect(notModifiedReply('"3"', 3)).toEqual({ status: 304, body: undefined, headers: { ETag: '"3"' } });
    expect(notModifiedReply('"2"', 3)).toBeUndefined();
  });
});
