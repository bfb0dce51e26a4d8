import {
  CheckIntegrityConstraintViolationError,
  ConnectionError,
  BackendTerminatedError,
  ForeignKeyIntegrityConstraintViolationError,
  StatementTimeoutError,
  UniqueIntegrityConstraintViolationError,
} from 'slonik';
import { problem, ProblemError, type Problem, type ProblemType } from './problem.js';

/** Constraint names from sql/ that the API reports as a specific problem rather than a generic one. */
const BY_CONSTRAINT: Record<string, ProblemType> = {
  project_tenant_slug_key: 'slug-taken',
  worker_tenant_handle_key: 'handle-taken',
  member_project_worker_key: 'already-member',
};

export interface ProblemResponse {
  problem: Problem;
  headers: Record<string, string>;
  /** Something unexpected: log it with its cause. */
  unexpected: boolean;
}

const isConnectionFailure = (err: unknown): boolean => {
  if (err instanceof ConnectionError || err instanceof BackendTerminatedError || err instanceof StatementTimeoutError) return true;
  const code = (err as { code?: unknown })?.code;
  // Raw socket/pg errors that slonik passes through when the server goes away mid-flight.
  return (
    typeof code === 'string' &&
    (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '57P03', '08006', '08001', '08003', '53300'].includes(code))
  ) || /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect/i.test(String((err as Error)?.message));
};

/** The one place where something thrown becomes a status. Driver text never reaches the client. */
export function toProblem(err: unknown): ProblemResponse {
  if (err instanceof ProblemError) return { problem: err.problem, headers: err.headers, unexpected: false };
  if (err instanceof UniqueIntegrityConstraintViolationError) {
    const type = BY_CONSTRAINT[err.constraint ?? ''];
    if (type) return { problem: problem(type), headers: {}, unexpected: false };
  }
  if (err instanceof ForeignKeyIntegrityConstraintViolationError || err instanceof CheckIntegrityConstraintViolationError) {
    // The contract's validation should have caught it; a 422 without internals is still the honest answer.
    return { problem: problem('validation-failed', 'The request conflicts with a data rule'), headers: {}, unexpected: true };
  }
  if (isConnectionFailure(err) || isConnectionFailure((err as { cause?: unknown })?.cause)) {
    return {
      problem: problem('unavailable', 'The database is unreachable or too slow right now; try again shortly'),
      headers: { 'Retry-After': '2' },
      unexpected: true,
    };
  }
  return { problem: problem('internal', 'Something went wrong on our side'), headers: {}, unexpected: true };
}
