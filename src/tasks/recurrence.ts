import type { RecurrencePattern } from '../db/index.js';

export interface Recurrence {
  pattern: RecurrencePattern;
  max_occurrences: number | null;
}

const HOUR = 3_600_000;

/** The same day of the next month, or its last day when the month is shorter (31 Jan → 28/29 Feb). */
function addMonth(date: Date): Date {
  const next = new Date(date);
  const day = date.getUTCDate();
  next.setUTCDate(1);
  next.setUTCMonth(next.getUTCMonth() + 1);
  const lastDay = new Date(Date.UTC(next.getUTCFullYear(), next.getUTCMonth() + 1, 0)).getUTCDate();
  next.setUTCDate(Math.min(day, lastDay));
  return next;
}

/** Due date of the next occurrence: the previous due date (or the completion time) plus one interval. */
export function nextDueDate(pattern: RecurrencePattern, previousDue: string | null, completedAt: string): string {
  const from = new Date(previousDue ?? completedAt);
  switch (pattern) {
    case 'hourly':
      return new Date(from.getTime() + HOUR).toISOString();
    case 'daily':
      return new Date(from.getTime() + 24 * HOUR).toISOString();
    case 'weekly':
      return new Date(from.getTime() + 7 * 24 * HOUR).toISOString();
    case 'monthly':
      return addMonth(from).toISOString();
  }
}

/**
 * Whether the series may grow: `max_occurrences` counts every occurrence, the first included, and the series
 * has `1 + spawned` occurrences so far.
 */
export const maySpawn = (recurrence: Recurrence, spawnedSoFar: number): boolean =>
  recurrence.max_occurrences === null || 1 + spawnedSoFar < recurrence.max_occurrences;
