import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Properties an error may carry that describe a connection, not the failure: node-postgres and the job queue
 * attach the client an error came from (its connection parameters, socket state, buffers and the backend's
 * cancel key), which pino's error serializer would write out in full — kilobytes a line, on every retry.
 */
const CONNECTION_PROPERTIES = ['client', 'connection', 'socket', 'pool'];

/** pino's error serializer (type, message, stack, code, cause…) without the connection an error came from. */
export function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const serialized = pino.stdSerializers.err(err) as unknown as Record<string, unknown>;
  for (const key of CONNECTION_PROPERTIES) delete serialized[key];
  return serialized;
}

/** One JSON line per event; credentials and connection internals never reach the log. */
export function createLogger(level: string, destination?: { write(line: string): void }): Logger {
  const options = {
    level,
    base: { service: 'taskflow-api' },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: serializeError },
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["idempotency-key"]', 'res.headers["set-cookie"]'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
