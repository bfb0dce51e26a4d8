import { MAX_FIELD_ERRORS, ProblemError } from '../../src/http/problem.js';

describe('problem errors', () => {
  it(`keeps the first ${MAX_FIELD_ERRORS} field errors (the contract's maxItems), in request order`, () => {
    const errors = Array.from({ length: 150 }, (_, i) => ({ pointer: `/body/tags/${i}`, message: 'must be a string' }));
    const { problem } = new ProblemError('validation-failed', { errors });
    expect(problem.errors).toHaveLength(MAX_FIELD_ERRORS);
    expect(problem.errors?.[0]?.pointer).toBe('/body/tags/0');
    expect(problem.errors?.at(-1)?.pointer).toBe(`/body/tags/${MAX_FIELD_ERRORS - 1}`);
  });

  it('leaves a short list as it is, and no list out', () => {
    expect(new ProblemError('validation-failed', { errors: [{ pointer: '/body/title', message: 'is required' }] }).problem.errors).toEqual([
      { pointer: '/body/title', message: 'is required' },
    ]);
    expect(new ProblemError('validation-failed', { errors: [] }).problem).not.toHaveProperty('errors');
  });
});
