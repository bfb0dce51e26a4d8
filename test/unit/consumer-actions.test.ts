/**
 * The event log's consumers read only the actions they declare (REMINDER_ACTIONS, NOTIFYING_ACTIONS): an action
 * missing from a list is an event the consumer never sees. So each list must hold exactly the actions its consumer
 * can act on: every other action, with details that would make any listed action count, does nothing.
 */
import { AUDIT_ACTIONS } from '../../src/db/index.js';
import type { EventRow } from '../../src/events/index.js';
import { NOTIFYING_ACTIONS, notificationsFor, type TaskParties } from '../../src/notifications/produce.js';
import { changesReminders, REMINDER_ACTIONS } from '../../src/reminders/schedule.js';

const event = (action: string, details: Record<string, unknown>): EventRow => ({
  id: 1, xid: '1000', tenantId: 'default', projectId: 1, entityType: 'task', entityId: 10, action,
  actorId: 1, actorHandle: 'alice', actorType: 'human', client: null, details, createdAt: '2026-12-03T08:00:00.000Z',
});
/** Details under which each listed action counts for its consumer. */
const ALL_DETAILS = [
  { assignee_id: 2, due_date: '2027-01-01T17:00:00Z', created_by_id: 3, title: 'T', reason: 'no', tier: '1h' },
  { assignee_id: { before: null, after: 2 }, due_date: { before: null, after: '2027-01-01T17:00:00Z' } },
  { status: { before: 'in_progress', after: 'review' } },
  { status: { before: 'review', after: 'completed' } },
  { status: { before: 'completed', after: 'in_progress' } },
];
const parties: TaskParties = { id: 10, title: 'T', createdById: 3, assigneeId: 2 };

describe.each([
  ['reminders', REMINDER_ACTIONS as readonly string[], (row: EventRow) => changesReminders(row)],
  ['notifications', NOTIFYING_ACTIONS as readonly string[], (row: EventRow) => notificationsFor(row, parties).length > 0],
])('the %s consumer', (_name, listed, acts) => {
  it('acts on every action it reads, for some details', () => {
    for (const action of listed) expect([action, ALL_DETAILS.some((d) => acts(event(action, d)))]).toEqual([action, true]);
  });

  it('ignores every action it does not read, whatever the details', () => {
    const unread = AUDIT_ACTIONS.filter((a) => !listed.includes(a));
    expect(unread.length).toBeGreaterThan(0);
    for (const action of unread) expect([action, ALL_DETAILS.some((d) => acts(event(action, d)))]).toEqual([action, false]);
  });
});
