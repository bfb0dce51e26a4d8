import type { Db } from '../db/index.js';
import { ProblemError } from '../http/problem.js';
import { comparePositions, encodePosition, type Position } from './cursor.js';
import { listVisibleEvents, readHorizon, type EventRow, type EventScope } from './events.sql.js';
import { positionOf } from './to-event.js';

export const START: Position = { xid: '0', id: 0 };

export interface FeedPage {
  rows: EventRow[];
  /** Where the next read starts: after the last row, or at the horizon when the reader is up to date. */
  next: Position;
  hasMore: boolean;
}

/**
 * One page of the feed after `after`. Only events below the horizon are read, and an up-to-date reader is
 * moved to the horizon itself: every event that can still appear lies after it, so nothing is skipped, and
 * nothing before it is read twice.
 */
export async function readFeedPage(db: Db, scope: EventScope, after: Position, limit: number): Promise<FeedPage> {
  const { horizon, next } = await readHorizon(db);
  if (BigInt(after.xid) > BigInt(next)) {
    throw new ProblemError('cursor-expired', {
      detail: 'This cursor points past the end of this event log (a restored database or another environment); start again without a cursor',
    });
  }
  const rows = await listVisibleEvents(db, scope, after, horizon, limit);
  const page = rows.slice(0, limit);
  const hasMore = rows.length > limit;
  const last = page[page.length - 1];
  const atHorizon: Position = { xid: horizon, id: 0 };
  const nextPosition = hasMore && last ? positionOf(last) : comparePositions(after, atHorizon) > 0 ? after : atHorizon;
  return { rows: page, next: nextPosition, hasMore };
}

export const encodeNext = (page: FeedPage) => encodePosition(page.next);
