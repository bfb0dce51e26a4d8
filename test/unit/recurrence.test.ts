import { maySpawn, nextDueDate } from '../../src/tasks/recurrence.js';

describe('recurrence', () => {
  it('adds one interval to the previous due date', () => {
    expect(nextDueDate('hourly', '2026-01-31T09:00:00.000Z', '2026-02-10T00:00:00.000Z')).toBe('2026-01-31T10:00:00.000Z');
    expect(nextDueDate('daily', '2026-01-31T09:00:00.000Z', '2026-02-10T00:00:00.000Z')).toBe('2026-02-01T09:00:00.000Z');
    expect(nextDueDate('weekly', '2026-12-29T09:00:00.000Z', '2026-02-10T00:00:00.000Z')).toBe('2027-01-05T09:00:00.000Z');
  });

  it('falls back to the completion time when there was no due date', () => {
    expect(nextDueDate('daily', null, '2026-03-01T12:30:00.000Z')).toBe('2026-03-02T12:30:00.000Z');
  });

  it('monthly keeps the day, clamped to the end of shorter months', () => {
    expect(nextDueDate('monthly', '2026-01-15T09:00:00.000Z', 'x')).toBe('2026-02-15T09:00:00.000Z');
    expect(nextDueDate('monthly', '2026-01-31T09:00:00.000Z', 'x')).toBe('2026-02-28T09:00:00.000Z');
    expect(nextDueDate('monthly', '2028-01-31T09:00:00.000Z', 'x')).toBe('2028-02-29T09:00:00.000Z');
    expect(nextDueDate('monthly', '2026-12-31T23:00:00.000Z', 'x')).toBe('2027-01-31T23:00:00.000Z');
  });

  it('max_occurrences counts the first occurrence too', () => {
    expect(maySpawn({ pattern: 'daily', max_occurrences: 1 }, 0)).toBe(false);
    expect(maySpawn({ pattern: 'daily', max_occurrences: 3 }, 1)).toBe(true);
    expect(maySpawn({ pattern: 'daily', max_occurrences: 3 }, 2)).toBe(false);
    expect(maySpawn({ pattern: 'daily', max_occurrences: null }, 500)).toBe(true);
  });
});
