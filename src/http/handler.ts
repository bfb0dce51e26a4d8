import type { Response } from 'express';
import type { Context } from 'openapi-backend';
import type { operations } from '../../generated/api.js';
import type { Db } from '../db/index.js';
import type { Principal } from './principal.js';

/** Typed handlers, derived from the generated contract types: a wrong status or body does not compile. */
/** Operations of the contract's top-level `webhooks`: receivers implement them, this server only sends them. */
type ReceiverOperationId = 'receiveEvent';
export type OperationId = Exclude<keyof operations, ReceiverOperationId>;
type Op<K extends OperationId> = operations[K];
type JsonOf<T> = T extends { content: { 'application/json': infer B } } ? B : never;

export type RequestBody<K extends OperationId> = Op<K> extends { requestBody?: infer R }
  ? JsonOf<NonNullable<R>>
  : never;
export type PathParams<K extends OperationId> = Op<K>['parameters'] extends { path: infer P } ? P : never;
export type QueryParams<K extends OperationId> = NonNullable<Op<K>['parameters']['query']>;
export type HeaderParams<K extends OperationId> = NonNullable<Op<K>['parameters']['header']>;
type Responses<K extends OperationId> = Op<K>['responses'];
/** What a handler may answer: a success, or 304 for a conditional GET whose client copy is current. */
type SuccessStatus<K extends OperationId> = Extract<keyof Responses<K>, 200 | 201 | 202 | 204 | 304>;
type BodyOf<R> = R extends { content: infer C } ? C[keyof C] : undefined;

/** What a handler returns: a documented success. Failures are thrown as ProblemError. */
export type Reply<K extends OperationId> = {
  [S in SuccessStatus<K>]: { status: S; body: BodyOf<Responses<K>[S]>; headers?: Record<string, string> };
}[SuccessStatus<K>];

export interface HandlerContext<K extends OperationId> {
  params: PathParams<K>;
  query: QueryParams<K>;
  headers: Record<string, string | string[] | undefined>;
  body: RequestBody<K>;
  /** The verified caller; present on every operation that requires bearerAuth. */
  principal: Principal;
  /**
   * Where the handler runs its SQL: the pool, or the transaction a step around the handler opened (an
   * Idempotency-Key's, see idempotency/step.ts). `db.transaction(fn)` is then a savepoint inside it, so the
   * change, its audit entry and the stored response commit together. A handler reaches the database only here.
   */
  db: Db;
  /** The raw openapi-backend context, for the rare handler that needs more. */
  raw: Context;
  /**
   * The HTTP response, for streaming operations only (text/event-stream): such a handler writes it itself,
   * after auth and validation ran from the contract like for any other operation. Its reply is then ignored.
   */
  response: Response;
}

export type OpHandler<K extends OperationId> = (c: HandlerContext<K>) => Promise<Reply<K>>;

/**
 * Operations documented in the contract but answered outside the typed handler map, each by its own express
 * route in app.ts: POST /chatkit streams server-sent events and reports failures inside the stream.
 */
export type ProtocolOperationId = 'chatKit';

/** A map with exactly one handler per operationId of the contract: a missing one fails tsc. */
export type Handlers = { [K in Exclude<OperationId, ProtocolOperationId>]: OpHandler<K> };
export type HandlersFor<K extends OperationId> = { [P in K]: OpHandler<P> };
