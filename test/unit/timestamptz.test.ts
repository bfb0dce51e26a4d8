import { timestamptzToIso } from '../../src/db/pool.js';

describe('timestamptz wire format', () => {
  it.each([
    ['2026-01-31 09:00:00+00', '2026-01-31T09:00:00.000Z'],
    ['2026-01-31 09:00:00.123456+00', '2026-01-31T09:00:00.123Z'],
    ['2026-01-31 11:30:00+02:30', '2026-01-31T09:00:00.000Z'],
    ['2026-01-31 04:00:00-05', '2026-01-31T09:00:00.000Z'],
    ['0001-01-01 00:00:00+00', '0001-01-01T00:00:00.000Z'],
    ['0099-12-31 23:59:59+00', '0099-12-31T23:59:59.000Z'],
    ['9999-12-31 23:59:59+00', '9999-12-31T23:59:59.000Z'],
  ])('%s → %s', (text, iso) => {
    expect(timestamptzToIso(text)).toBe(iso);
  });
});

describe('timestamptz fast path', () => {
  it.each(['2026-01-31 09:00:00+00', '2026-01-31 09:00:00.1+00', '2026-01-31 09:00:00.12+00', '2026-01-31 09:00:00.999999+00'])(
    '%s agrees with the general parser',
    (text) => {
      expect(timestamptzToIso(text)).toBe(new Date(text.replace(' ', 'T').replace('+00', 'Z')).toISOString());
    },
  );
});
