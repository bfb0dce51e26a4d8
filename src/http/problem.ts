/**
 * The catalog of every RFC 9457 problem type the API can send. Each slug is documented in the contract
 * (components.schemas.Problem / ProblemType); test/contract checks the two lists stay equal.
 */
export const PROBLEM_BASE = 'https://taskflow.dev/problems/';

export const PROBLEMS = {
  'malformed-json': { status: 400, title: 'Malformed JSON body' },
  unauthorized: { status: 401, title: 'Authentication required' },
  forbidden: { status: 403, title: 'Only the project owner may do this' },
  'forbidden-for-agents': { status: 403, title: 'Agents may not do this' },
  'not-agent-manager': { status: 403, title: "Only the agent's creator or an owner of one of its projects may manage its keys" },
  'not-found': { status: 404, title: 'No such route' },
  'project-not-found': { status: 404, title: 'Project not found' },
  'task-not-found': { status: 404, title: 'Task not found' },
  'agent-not-found': { status: 404, title: 'Agent not found' },
  'member-not-found': { status: 404, title: 'Member not found' },
  'thread-not-found': { status: 404, title: 'Conversation not found' },
  'chat-item-not-found': { status: 404, title: 'Conversation item not found' },
  'agent-key-not-found': { status: 404, title: 'API key not found' },
  'webhook-not-found': { status: 404, title: 'Webhook not found' },
  'notification-not-found': { status: 404, title: 'Notification not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'slug-taken': { status: 409, title: 'Slug already used in this tenant' },
  'handle-taken': { status: 409, title: 'Handle already used in this tenant' },
  'already-member': { status: 409, title: 'Already a member of this project' },
  'default-project': { status: 409, title: 'The default project cannot be deleted' },
  'project-has-tasks': { status: 409, title: 'Project still has tasks' },
  'owner-membership': { status: 409, title: 'The owner cannot be removed from the project' },
  'agent-in-use': { status: 409, title: 'Agent is still a member of a project' },
  'invalid-transition': { status: 409, title: 'Status change not allowed' },
  'already-claimed': { status: 409, title: 'Task already claimed' },
  'open-subtasks': { status: 409, title: 'Task has open subtasks' },
  'not-in-progress': { status: 409, title: 'Task is not in progress' },
  'not-in-review': { status: 409, title: 'Task is not in review' },
  'idempotency-in-flight': { status: 409, title: 'A request with this Idempotency-Key is still being processed' },
  'precondition-failed': { status: 412, title: 'Resource changed since it was read' },
  'cursor-expired': { status: 410, title: 'Cursor no longer valid' },
  'payload-too-large': { status: 413, title: 'Request body too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'validation-failed': { status: 422, title: 'Request is not valid' },
  'idempotency-key-reused': { status: 422, title: 'Idempotency-Key reused with a different request' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  'too-many-streams': { status: 429, title: 'Too many open event streams' },
  internal: { status: 500, title: 'Internal server error' },
  unavailable: { status: 503, title: 'Database unavailable' },
  'auth-unavailable': { status: 503, title: 'Identity provider unavailable' },
  'chat-unavailable': { status: 503, title: 'Chat unavailable' },
  overloaded: { status: 503, title: 'Server overloaded' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemType = keyof typeof PROBLEMS;

export interface FieldError {
  /** JSON Pointer (RFC 6901) into the request: `/body/title`, `/query/limit`, `/path/task_id`, `/header/if-match`. */
  pointer: string;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldError[];
  /** Extension members the contract documents on the Problem schema (RFC 9457 §3.2). */
  allowed_transitions?: readonly string[];
  assignee_handle?: string;
}

export type ProblemExtensions = Pick<Problem, 'allowed_transitions' | 'assignee_handle'>;

export interface ProblemOptions {
  detail?: string;
  errors?: FieldError[];
  extensions?: ProblemExtensions;
  /** Extra response headers, e.g. WWW-Authenticate for 401 or Retry-After for 429. */
  headers?: Record<string, string>;
  cause?: unknown;
}

/** `Problem.errors` holds at most this many entries (the contract's maxItems): the first ones, in request order. */
export const MAX_FIELD_ERRORS = 100;

export function problem(type: ProblemType, detail?: string, errors?: FieldError[], extensions?: ProblemExtensions): Problem {
  const { status, title } = PROBLEMS[type];
  return {
    type: PROBLEM_BASE + type,
    title,
    status,
    detail: detail ?? title,
    ...(errors?.length ? { errors: errors.slice(0, MAX_FIELD_ERRORS) } : {}),
    ...extensions,
  };
}

/** Thrown anywhere below a handler; http/errors.ts turns it into the response. */
export class ProblemError extends Error {
  readonly problem: Problem;
  readonly headers: Record<string, string>;
  constructor(type: ProblemType, options: ProblemOptions = {}) {
    super(options.detail ?? PROBLEMS[type].title, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProblemError';
    this.problem = problem(type, options.detail, options.errors, options.extensions);
    this.headers = options.headers ?? {};
  }
  get status(): number {
    return this.problem.status;
  }
}
