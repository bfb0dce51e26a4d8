/**
 * A consumer of the event log that declares the actions it handles (the reminder scheduler, the inbox producer)
 * is sent only those: the others stay in the database, and its position still moves past them. The filtered read
 * stays a range of audit_log_position_idx in feed order, on the plan for the values and on the generic plan the
 * server's prepared statement ends up with.
 */
import { createPool, sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { followEventLog, listAllEvents, readHorizon, type EventRow } from '../../src/events/index.js';
import { createLogger } from '../../src/observability/logger.js';
import { REMINDER_ACTIONS } from '../../src/reminders/schedule.js';
import { startTestDatabase, type TestDatabaseOnly } from '../helpers/app.js';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}
const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)];

let t: TestDatabaseOnly;
const START = { xid: '0', id: 0 };

/** `count` audit rows of `action` (each its own row; all in this statement's transaction). */
const record = (action: string, count: number, entityId = 1) =>
  t.pool.anyFirst(sql.type(z.object({ id: z.number() }))`
    insert into audit_log (tenant_id, project_id, entity_type, entity_id, action, actor_id, actor_handle, actor_type, details)
    select 'default', 1, 'task', ${entityId} + g, ${action}, null, 'system', 'system', jsonb_build_object('n', g)
    from generate_series(1, ${count}) g
    returning id`);

beforeAll(async () => {
  t = await startTestDatabase();
}, 120_000);
afterAll(async () => {
  await t.close();
});

describe('the filtered read', () => {
  let explain: DatabasePool;
  let generic: DatabasePool;
  beforeAll(async () => {
    // An agent fleet's log: mostly progress reports, which neither consumer reads, in many transactions.
    for (let i = 0; i < 40; i++) {
      await record('progress_updated', 400);
      await record(i % 2 ? 'status_changed' : 'task_created', 100);
    }
    await t.pool.query(sql.unsafe`analyze audit_log`);
    const prefix = (options: string) => ({
      interceptors: [{ name: 'explain', transformQuery: (_ctx: unknown, query: { sql: string }) => ({ ...query, sql: `explain (${options}) ${query.sql}` }) }],
    });
    explain = await createPool(t.db.url, prefix('format json') as never);
    generic = await createPool(t.db.url, prefix('generic_plan, format json') as never);
  });
  afterAll(async () => {
    await explain?.end();
    await generic?.end();
  });

  it('returns only the listed actions, in feed order, up to the limit', async () => {
    const { horizon } = await readHorizon(t.pool);
    const rows = await listAllEvents(t.pool, START, horizon, 500, REMINDER_ACTIONS);
    expect(rows).toHaveLength(500);
    expect(new Set(rows.map((r) => r.action))).toEqual(new Set(['task_created', 'status_changed']));
    const positions = rows.map((r) => [BigInt(r.xid), r.id] as const);
    for (let i = 1; i < positions.length; i++) {
      const [x0, i0] = positions[i - 1]!;
      const [x1, i1] = positions[i]!;
      expect(x1 > x0 || (x1 === x0 && i1 > i0)).toBe(true);
    }
    const all = await listAllEvents(t.pool, START, horizon, 500);
    expect(all.filter((r) => r.action === 'progress_updated').length).toBeGreaterThan(0);
  });

  it.each([
    ['the plan for the values', () => explain],
    ['the generic plan', () => generic],
  ])('%s: a range of audit_log_position_idx, no sort, no sequential scan', async (_name, pool) => {
    const { horizon } = await readHorizon(t.pool);
    const result = (await listAllEvents(pool(), { xid: '1', id: 0 }, horizon, 500, REMINDER_ACTIONS)) as unknown as { 'QUERY PLAN': [{ Plan: PlanNode }] }[];
    const nodes = nodesOf(result[0]!['QUERY PLAN'][0].Plan);
    expect(nodes.map((n) => n['Node Type'])).not.toContain('Sort');
    expect(nodes.filter((n) => n['Node Type'] === 'Seq Scan')).toEqual([]);
    expect(nodes.find((n) => n['Relation Name'] === 'audit_log')).toMatchObject({ 'Index Name': 'audit_log_position_idx' });
  });
});

describe('a follower with a selection', () => {
  const consumer = 'selection-test';
  const handled: EventRow[] = [];
  let follower: ReturnType<typeof followEventLog>;
  const position = () =>
    t.pool.one(sql.type(z.object({ xid: z.string(), id: z.number() }))`
      select xid::text as xid, audit_id as id from event_consumer_position where consumer = ${consumer}`);
  const lastEvent = () => t.pool.one(sql.type(z.object({ xid: z.string(), id: z.number() }))`
    select xid::text as xid, id from audit_log order by xid desc, id desc limit 1`);
  const settled = async (count: number) => {
    for (const started = Date.now(); Date.now() - started < 10_000; await new Promise((r) => setTimeout(r, 50))) {
      follower.wake();
      const at = await position();
      const last = await lastEvent();
      if (handled.length >= count && BigInt(at.xid) > BigInt(last.xid)) return;
    }
    throw new Error(`not settled: ${handled.length} of ${count} handled`);
  };

  beforeAll(async () => {
    await t.pool.query(sql.unsafe`
      insert into event_consumer_position (consumer, xid, audit_id) values (${consumer}, pg_current_xact_id(), 0)`);
    follower = followEventLog(t.pool, consumer, async (_tx, rows) => void handled.push(...rows), createLogger('silent'), ['task_created', 'reminder_due']);
  });
  afterAll(() => follower.stop());

  it('is handed each listed event once, in order, and moves past the others', async () => {
    const created = await record('task_created', 3, 100);
    await record('progress_updated', 50, 200);
    const due = await record('reminder_due', 2, 300);
    await record('progress_updated', 700, 400); // more than a batch of events it never reads
    await settled(5);
    expect(handled.map((r) => r.id)).toEqual([...created, ...due]);

    // Only unlisted events since: nothing handed over, and the position still moves past them.
    await record('status_changed', 20, 500);
    await settled(5);
    expect(handled).toHaveLength(5);

    const more = await record('task_created', 2, 600);
    await settled(7);
    expect(handled.map((r) => r.id)).toEqual([...created, ...due, ...more]);
  });
});
