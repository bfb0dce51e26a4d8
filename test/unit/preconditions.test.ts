import { assertIfMatch, etagOf, ifMatchVersions, isNotModified, notModifiedReply } from '../../src/http/preconditions.js';

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
  ])('%j against "3" → %s', (header, expected) => {
    expect(isNotModified(header, '"3"')).toBe(expected);
  });

  it.each<[string, boolean]>([
    ['"3.ab12"', true],
    ['W/"3.ab12"', true],
    ['"3"', false], // the version alone: the subtasks the copy holds may have changed since
    ['"3.ab13"', false],
    ['"4.ab12"', false],
  ])('%j against a task with subtasks, "3.ab12" → %s', (header, expected) => {
    expect(isNotModified(header, etagOf(3, 'ab12'))).toBe(expected);
  });

  it('a current copy gets 304 with the ETag and no body; a stale one nothing (the handler answers 200)', () => {
    expect(notModifiedReply('"3"', '"3"')).toEqual({ status: 304, body: undefined, headers: { ETag: '"3"' } });
    expect(notModifiedReply('"3.ab12"', '"3.ab12"')).toEqual({ status: 304, body: undefined, headers: { ETag: '"3.ab12"' } });
    expect(notModifiedReply('"2"', '"3"')).toBeUndefined();
  });
});

describe('If-Match', () => {
  it.each<[string | string[] | undefined, 'any' | number[]]>([
    [undefined, 'any'],
    ['*', 'any'],
    ['"3"', [3]],
    ['"3.ab12"', [3]], // a task's tag with its subtasks' digest: the write is conditional on the task's version
    ['"1", "3.ab12"', [1, 3]],
    [['"1"', '"2"'], [1, 2]],
    ['W/"3"', []], // weak tags never match for If-Match (strong comparison)
    ['"3.AB12"', []],
    ['"3."', []],
    ['3', []],
    ['"x"', []],
  ])('%j accepts %j', (header, expected) => {
    expect(ifMatchVersions(header)).toEqual(expected);
  });

  it('assertIfMatch passes the current version, with or without a digest, and refuses any other with a 412', () => {
    expect(() => assertIfMatch(undefined, 3)).not.toThrow();
    expect(() => assertIfMatch('"3"', 3)).not.toThrow();
    expect(() => assertIfMatch('"3.ab12"', 3)).not.toThrow();
    expect(() => assertIfMatch('*', 3)).not.toThrow();
    expect(() => assertIfMatch('"2.ab12"', 3)).toThrow(expect.objectContaining({ status: 412 }));
    expect(() => assertIfMatch('W/"3"', 3)).toThrow(expect.objectContaining({ status: 412 }));
  });
});
