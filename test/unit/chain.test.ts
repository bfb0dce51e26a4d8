import express, { type RequestHandler } from 'express';
import { chain } from '../../src/http/chain.js';

/** An app with the chain as its only layer before a final route and an error handler that names the error. */
async function answer(steps: RequestHandler[]): Promise<{ status: number; body: string }> {
  const app = express();
  app.use(chain(steps));
  app.get('/', (_req, res) => void res.send(`done ${String(res.locals.seen ?? '')}`));
  app.use(((err, _req, res, _next) => void res.status(500).send(`error ${(err as Error).message}`)) as express.ErrorRequestHandler);
  const server = app.listen(0);
  await new Promise((r) => server.once('listening', r));
  try {
    const { port } = server.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${port}/`);
    return { status: res.status, body: await res.text() };
  } finally {
    server.close();
  }
}

const mark = (name: string): RequestHandler => (_req, res, next) => {
  res.locals.seen = `${String(res.locals.seen ?? '')}${name}`;
  next();
};

describe('chain: middlewares as one express layer', () => {
  it('runs every step in order, then the routes', async () => {
    expect(await answer([mark('a'), mark('b'), mark('c')])).toEqual({ status: 200, body: 'done abc' });
  });

  it('goes on when a step calls next later', async () => {
    const later: RequestHandler = (_req, _res, next) => void setTimeout(next, 5);
    expect(await answer([mark('a'), later, mark('b')])).toEqual({ status: 200, body: 'done ab' });
  });

  it('skips the rest and reaches the error handler on next(err), a throw, or a rejected promise', async () => {
    const fails: RequestHandler = (_req, _res, next) => next(new Error('passed'));
    const throws: RequestHandler = () => {
      throw new Error('thrown');
    };
    const rejects = (async () => {
      throw new Error('rejected');
    }) as unknown as RequestHandler;
    const never: RequestHandler = () => {
      throw new Error('reached a step after the failure');
    };
    expect(await answer([mark('a'), fails, never])).toEqual({ status: 500, body: 'error passed' });
    expect(await answer([throws, never])).toEqual({ status: 500, body: 'error thrown' });
    expect(await answer([rejects, never])).toEqual({ status: 500, body: 'error rejected' });
  });

  it('a step that answers ends the request: nothing after it runs', async () => {
    const answers: RequestHandler = (_req, res) => void res.status(503).send('refused');
    const never: RequestHandler = () => {
      throw new Error('reached a step after the answer');
    };
    expect(await answer([answers, never])).toEqual({ status: 503, body: 'refused' });
  });
});
