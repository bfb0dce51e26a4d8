/**
 * How a failed request is logged: once, on the request's own log line (access-log.ts), and not at all when it is
 * one more of a burst of identical failures. During a database outage every request fails the same way; the
 * first of each kind is logged, the next ones within `windowMs` are only counted, and the count is logged when
 * the window closes ("42 more identical failures"), so the log shows the outage without drowning in it.
 */

export interface FailureSampler {
  /** Counts one failure of kind `key`: true when it should be logged, false when only counted. */
  admit(key: string, describe: () => Record<string, unknown>): boolean;
}

interface Window {
  logged: number;
  suppressed: number;
  timer?: NodeJS.Timeout;
  failure: Record<string, unknown>;
}

/**
 * At most `perWindow` failures of one kind are logged per `windowMs`; the rest are counted and reported
 * through `report` when their window closes. More than `maxKinds` distinct kinds at once: everything is
 * logged (an unusual failure mix is worth seeing in full).
 */
export function createFailureSampler(opts: {
  windowMs: number;
  perWindow?: number;
  maxKinds?: number;
  report: (summary: { failure: Record<string, unknown>; suppressed: number; windowMs: number }) => void;
}): FailureSampler {
  const perWindow = opts.perWindow ?? 1;
  const maxKinds = opts.maxKinds ?? 1000;
  const windows = new Map<string, Window>();

  const close = (key: string) => {
    const w = windows.get(key);
    if (!w) return;
    windows.delete(key);
    if (w.timer) clearTimeout(w.timer);
    if (w.suppressed > 0) opts.report({ failure: w.failure, suppressed: w.suppressed, windowMs: opts.windowMs });
  };

  return {
    admit(key, describe) {
      let w = windows.get(key);
      if (!w) {
        if (windows.size >= maxKinds) return true;
        w = { logged: 0, suppressed: 0, failure: describe() };
        w.timer = setTimeout(() => close(key), opts.windowMs);
        w.timer.unref();
        windows.set(key, w);
      }
      if (w.logged < perWindow) {
        w.logged += 1;
        return true;
      }
      w.suppressed += 1;
      return false;
    },
  };
}

/**
 * What a log line says about a thrown error: the whole error (stack included) when it is a bug, and only
 * class, code and message when it is the database being away, which a stack trace does not explain.
 */
export function describeFailure(err: unknown, expected: boolean): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  if (!expected) return { type: err.constructor.name, message: err.message, stack: err.stack, ...codeOf(err) };
  const cause = (err as { cause?: unknown }).cause;
  return {
    type: err.constructor.name,
    message: err.message,
    ...codeOf(err),
    ...(cause instanceof Error ? { cause: { type: cause.constructor.name, message: cause.message, ...codeOf(cause) } } : {}),
  };
}

const codeOf = (err: Error): { code?: string } => {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? { code } : {};
};

/** Identical failures share a key: same problem type, error class, code and message. */
export function failureKey(problemType: string, err: unknown): string {
  if (!(err instanceof Error)) return `${problemType}\u0000${String(err)}`;
  const cause = (err as { cause?: unknown }).cause;
  const causeText = cause instanceof Error ? `${cause.constructor.name}:${cause.message}` : '';
  return [problemType, err.constructor.name, codeOf(err).code ?? '', err.message, causeText].join('\u0000');
}
