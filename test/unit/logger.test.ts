/** The log's error serializer: what an error says, never the connection it came from. */
import { createLogger } from '../../src/observability/logger.js';

const lines: Record<string, unknown>[] = [];
const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });

beforeEach(() => void lines.splice(0));

it('keeps type, message, stack and the database error fields; drops the client an error carries', () => {
  const err = Object.assign(new Error('terminating connection due to administrator command'), {
    code: '57P01',
    severity: 'FATAL',
    routine: 'ProcessInterrupts',
    client: { connectionParameters: { user: 'taskflow', host: 'db.internal', port: 5432 }, secretKey: 1483715090, _queryQueue: [] },
  });
  logger.warn({ err }, 'job queue error');
  const logged = lines[0]!.err as Record<string, unknown>;
  expect(logged).toMatchObject({ type: 'Error', message: 'terminating connection due to administrator command', code: '57P01', severity: 'FATAL', routine: 'ProcessInterrupts' });
  expect(logged.stack).toEqual(expect.stringContaining('terminating connection'));
  expect(logged).not.toHaveProperty('client');
  expect(JSON.stringify(lines[0])).not.toMatch(/secretKey|db\.internal|connectionParameters/);
});

it('keeps a cause, and passes non-errors through as they are', () => {
  logger.error({ err: new Error('outer', { cause: new Error('inner') }) }, 'failed');
  expect(lines[0]!.err).toMatchObject({ message: expect.stringContaining('outer'), stack: expect.stringContaining('inner') });
  logger.warn({ err: 'a plain string' }, 'odd');
  expect(lines[1]!.err).toBe('a plain string');
});

it('still redacts credentials in request headers', () => {
  logger.info({ req: { headers: { authorization: 'Bearer secret-token', cookie: 'sid=1' } } }, 'request');
  expect(JSON.stringify(lines[0])).not.toMatch(/secret-token|sid=1/);
});
