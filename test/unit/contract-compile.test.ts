/**
 * The server compiles an operation's request validators on its first request (quick start-up, src/app/openapi.ts).
 * This compiles all of them, as an eager start-up would: a request schema that ajv cannot compile fails here,
 * not on a user's first call.
 */
import type { Callers } from '../../src/app/caller.js';
import { createOpenApi } from '../../src/app/openapi.js';

describe('request validators', () => {
  it('compile for every operation of the contract', async () => {
    const api = createOpenApi({ authenticateCaller: async () => undefined } as unknown as Callers);
    await api.init();
    const operations = api.getOperations();
    expect(operations.length).toBeGreaterThanOrEqual(50);
    for (const operation of operations) {
      const validators = api.validator.getRequestValidatorsForOperation(operation.operationId!);
      expect(validators.length).toBeGreaterThan(0);
      for (const validate of validators) expect(typeof validate).toBe('function');
    }
  });
});
