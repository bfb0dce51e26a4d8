/** Event cursors and event types (pure). */
import { comparePositions, decodePosition, encodePosition } from '../../src/events/cursor.js';
import { actionsOf, eventTypeOf } from '../../src/events/types.js';
import { ProblemError } from '../../src/http/problem.js';

const problemOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProblemError) return err.problem;
    throw err;
  }
  throw new Error('did not throw');
};

describe('event cursors', () => {
  it('round-trip, with transaction ids beyond 2^53', () => {
    const p = { xid: '18446744073709551000', id: 42 };
    expect(decodePosition(encodePosition(p))).toEqual(p);
  });
  it('order by transaction id first, then audit id', () => {
    expect(comparePositions({ xid: '10', id: 99 }, { xid: '11', id: 1 })).toBeLessThan(0);
    expect(comparePositions({ xid: '9007199254740993', id: 1 }, { xid: '9007199254740992', id: 5 })).toBeGreaterThan(0);
    expect(comparePositions({ xid: '7', id: 3 }, { xid: '7', id: 3 })).toBe(0);
  });
  it('refuse forged cursors with a 422 naming the field, and older formats with a 410', () => {
    for (const forged of ['', 'garbage', Buffer.from('["audit",1]').toString('base64url'), Buffer.from('["events",1,"1x",3]').toString('base64url'), Buffer.from('["events",1,"5",-1]').toString('base64url')]) {
      expect(problemOf(() => decodePosition(forged, '/header/last-event-id'))).toMatchObject({
        status: 422, errors: [{ pointer: '/header/last-event-id', message: 'is not a valid event cursor' }],
      });
    }
    expect(problemOf(() => decodePosition(Buffer.from('["events",0,"5",1]').toString('base64url')))).toMatchObject({ status: 410 });
  });
});

describe('event types', () => {
  it('are <entity>.<change> for every audit action, and map back', () => {
    const pairs: [string, string, string][] = [
      ['task', 'task_created', 'task.created'], ['task', 'status_changed', 'task.status_changed'], ['task', 'assigned', 'task.assigned'],
      ['task', 'recurrence_spawned', 'task.spawned'], ['member', 'member_added', 'member.added'], ['project', 'project_deleted', 'project.deleted'],
      ['agent', 'agent_updated', 'agent.updated'], ['task', 'progress_updated', 'task.progress_updated'],
    ];
    for (const [entity, action, type] of pairs) {
      expect(eventTypeOf(entity, action)).toBe(type);
      expect(actionsOf([type])).toEqual([action]);
    }
  });
});
