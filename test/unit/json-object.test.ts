import { JsonObject } from '../../src/db/scalars.js';

describe('JsonObject (jsonb object columns in row schemas)', () => {
  it('passes an object through as it is, without copying it', () => {
    const details = { status: { before: 'pending', after: 'in_progress' }, tags: ['a'] };
    const parsed = JsonObject.safeParse(details);
    expect(parsed.success).toBe(true);
    expect(parsed.data).toBe(details);
  });

  it('accepts an empty object', () => {
    expect(JsonObject.safeParse({}).success).toBe(true);
  });

  it.each([
    ['an array', [1, 2]],
    ['null', null],
    ['a string', '{"a":1}'],
    ['a number', 3],
    ['undefined', undefined],
  ])('refuses %s', (_what, value) => {
    const parsed = JsonObject.safeParse(value);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toBe('Expected a JSON object');
  });
});
