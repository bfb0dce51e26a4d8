import { MOVES, NEXT, allowedTransitions, assertTransition, decideClaim, effectsOf } from '../../src/tasks/workflow.js';
import { ProblemError } from '../../src/http/problem.js';

const ALL = ['pending', 'in_progress', 'review', 'completed', 'blocked'] as const;

describe('workflow', () => {
  it.each(ALL.flatMap((from) => ALL.map((to) => [from, to] as const)))('%s → %s follows the transition table', (from, to) => {
    if (NEXT[from].includes(to)) expect(() => assertTransition(from, to)).not.toThrow();
    else {
      let thrown: unknown;
      try {
        assertTransition(from, to);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ProblemError);
      expect((thrown as ProblemError).problem).toMatchObject({ status: 409 });
      expect((thrown as ProblemError).problem.detail).toContain(NEXT[from].join(', '));
    }
  });

  it('approve, reject and claim are named edges of the same table', () => {
    const named = Object.values(MOVES).filter((m) => m.from !== null);
    expect(named).toHaveLength(3);
    for (const { from, to } of named) expect(NEXT[from!]).toContain(to);
  });

  it('sets started_at only the first time a task starts', () => {
    expect(effectsOf('pending', 'in_progress', false).startedAt).toBe('now');
    expect(effectsOf('blocked', 'in_progress', true).startedAt).toBe('keep');
  });

  it('completing sets completed_at and progress 100; reopening clears completed_at', () => {
    expect(effectsOf('review', 'completed', true)).toMatchObject({ completedAt: 'now', progress: 100 });
    expect(effectsOf('completed', 'review', true)).toMatchObject({ completedAt: 'clear', progress: 'keep' });
  });

  it('allowed transitions leave out completed while a subtask is open', () => {
    for (const from of ALL) {
      expect(allowedTransitions(from, false)).toEqual(NEXT[from]);
      expect(allowedTransitions(from, true)).toEqual(NEXT[from].filter((s) => s !== 'completed'));
    }
  });

  it('an invalid transition carries allowed_transitions as an extension member', () => {
    try {
      assertTransition('pending', 'review', true);
      throw new Error('no throw');
    } catch (err) {
      expect((err as ProblemError).problem).toMatchObject({ type: 'https://taskflow.dev/problems/invalid-transition', allowed_transitions: ['in_progress', 'blocked'] });
    }
  });

  describe('decideClaim', () => {
    const task = { id: 44, status: 'pending' as const, assigneeId: null, assigneeHandle: null, hasOpenSubtasks: false };
    const problemOf = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return (err as ProblemError).problem;
      }
      throw new Error('no throw');
    };
    it('claims a pending task that is free or already the caller’s', () => {
      expect(decideClaim(task, 5)).toEqual({ kind: 'claim' });
      expect(decideClaim({ ...task, assigneeId: 5, assigneeHandle: '@alice' }, 5)).toEqual({ kind: 'claim' });
    });
    it('is a no-op for the caller’s own task in progress', () => {
      expect(decideClaim({ ...task, status: 'in_progress', assigneeId: 5, assigneeHandle: '@alice' }, 5)).toEqual({ kind: 'noop' });
    });
    it('refuses someone else’s task naming them, and a task that is not pending with where it may go', () => {
      expect(problemOf(() => decideClaim({ ...task, assigneeId: 6, assigneeHandle: '@bob' }, 5))).toMatchObject({ status: 409, assignee_handle: '@bob' });
      expect(problemOf(() => decideClaim({ ...task, status: 'review' }, 5))).toMatchObject({ status: 409, allowed_transitions: ['in_progress', 'completed'] });
      expect(problemOf(() => decideClaim({ ...task, status: 'completed', assigneeId: 5, assigneeHandle: '@alice' }, 5))).toMatchObject({ allowed_transitions: ['review'] });
    });
  });
});
