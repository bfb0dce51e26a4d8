import type { Response } from 'express';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { createFailureSampler } from '../observability/failure-log.js';

/** Records a request's failure for its log line; identical failures in a burst are counted, not logged one by one. */
export type NoteFailure = (res: Response, key: string, failure: Record<string, unknown>) => void;

/** A failed request is logged once, on its access-log line (see observability/access-log.ts); bursts become one counted line. */
export function failureNotes(config: Config, logger: Logger): NoteFailure {
  const failures = createFailureSampler({
    windowMs: config.logFailureWindowMs,
    report: ({ failure, suppressed, windowMs }) =>
      logger.error({ failure, suppressed, windowMs }, `${suppressed} more identical failure(s) within ${windowMs / 1000} s, not logged one by one`),
  });
  return (res, key, failure) => {
    res.locals.failure = failure;
    res.locals.failureLogged = failures.admit(key, () => failure);
  };
}
