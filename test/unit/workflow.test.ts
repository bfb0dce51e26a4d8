import { NEXT, assertTransition, effectsOf } from '../../src/tasks/workflow.js';
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

  it('sets started_at only the first time a task starts', () => {
    expect(effectsOf('pending', 'in_progress', false).startedAt).toBe('now');
    expect(effectsOf('blocked', 'in_progress', true).startedAt).toBe('keep');
  });

  it('completing sets completed_at and progress 100; reopening clears completed_at', () => {
    expect(effectsOf('review', 'completed', true)).toMatchObject({ completedAt: 'now', progress: 100 });
    expect(effectsOf('completed', 'review', true)).toMatchObject({ completedAt: 'clear', progress: 'keep' });
  });
});
