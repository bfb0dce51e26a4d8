export { purgeExpiredKeys } from './idempotency.sql.js';
export { requestHash, runIdempotent, type ReplyLike } from './run.js';
export { idempotencyStep } from './step.js';
