import type { EventRow } from '../../src/events/index.js';
import { tasksToSchedule } from '../../src/reminders/schedule.js';

let nextId = 1;
const event = (entityId: number, action: string, createdAt: string, details: Record<string, unknown> = {}): EventRow => ({
  id: nextId++,
  xid: '1000',
  tenantId: 'default',
  projectId: 1,
  entityType: 'task',
  entityId,
  action,
  actorId: 1,
  actorHandle: 'alice',
  actorType: 'human',
  client: null,
  details,
  createdAt,
});
const dated = { assignee_id: 2, due_date: '2027-01-01T17:00:00Z' };

describe('tasksToSchedule', () => {
  it('marks the tasks whose creation is in the batch (they have no reminders to delete yet)', () => {
    const rows = [
      event(10, 'task_created', '2026-12-03T08:00:00.000Z', dated),
      event(11, 'task_updated', '2026-12-03T08:00:00.100Z', { due_date: { before: null, after: '2027-01-02T17:00:00Z' } }),
      event(12, 'task_created', '2026-12-03T08:00:00.200Z', { assignee_id: 2 }), // no due date: nothing to schedule
    ];
    expect(tasksToSchedule(rows)).toEqual([
      { taskId: 10, changedAt: '2026-12-03T08:00:00.000Z', created: true },
      { taskId: 11, changedAt: '2026-12-03T08:00:00.100Z', created: false },
    ]);
  });

  it('a task created and changed in one batch is still new, with its latest change', () => {
    const rows = [
      event(20, 'task_created', '2026-12-03T08:00:00.000Z', dated),
      event(20, 'task_updated', '2026-12-03T08:00:00.300Z', { due_date: { before: dated.due_date, after: '2027-02-01T17:00:00Z' } }),
      event(20, 'assigned', '2026-12-03T08:00:00.200Z', { assignee_id: { before: 2, after: 3 } }),
    ];
    expect(tasksToSchedule(rows)).toEqual([{ taskId: 20, changedAt: '2026-12-03T08:00:00.300Z', created: true }]);
  });

  it('a task changed in the batch but created before it is not new', () => {
    const rows = [
      event(30, 'assigned', '2026-12-03T08:00:00.000Z', { assignee_id: { before: null, after: 3 } }),
      event(30, 'status_changed', '2026-12-03T08:00:00.100Z', { status: { before: 'in_progress', after: 'completed' } }),
    ];
    expect(tasksToSchedule(rows)).toEqual([{ taskId: 30, changedAt: '2026-12-03T08:00:00.100Z', created: false }]);
  });

  it('imported history is scheduled from the task as it is now, timed when it is scheduled (changedAt null)', () => {
    const imported = (details: Record<string, unknown>) => ({ ...details, phase1_id: 17 });
    const rows = [
      // Phase I logged the creation without assignee or due date: any of the task's history schedules it.
      event(40, 'task_created', '2025-09-01T08:00:00.000Z', imported({ title: 'Old' })),
      event(41, 'status_changed', '2025-09-02T08:00:00.000Z', imported({ status: { before: 'pending', after: 'in_progress' } })),
      event(42, 'progress_updated', '2025-09-03T08:00:00.000Z', imported({ progress_percent: { before: 0, after: 50 } })),
      // A live change of an imported task in the same batch: the import's "now" is still the later one.
      event(40, 'assigned', '2026-12-03T08:00:00.000Z', { assignee_id: { before: null, after: 3 } }),
    ];
    expect(tasksToSchedule(rows)).toEqual([
      { taskId: 40, changedAt: null, created: true },
      { taskId: 41, changedAt: null, created: false },
    ]);
  });
});
