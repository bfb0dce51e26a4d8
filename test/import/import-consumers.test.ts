/**
 * An import writes months of Phase I history into the event log at its original times. The event log's consumers
 * run on every instance, so a running server meets that history right after the import commits: the inbox and
 * the reminders must treat it as history, not as changes happening now. Nobody is notified of a 2025 assignment,
 * and a due date that passed long ago fires no reminder, while an imported open task due next week gets its
 * reminders like any other.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'slonik';
import { z } from 'zod';
import { main } from '../../src/import/main.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { phase1Fixture } from './fixture.js';

const TENANT = 'imported';
let t: TestApp;
let dir: string;

beforeAll(async () => {
  t = await startTestApp();
  dir = mkdtempSync(join(tmpdir(), 'taskflow-import-consumers-'));
}, 120_000);
afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

const Position = z.object({ consumer: z.string(), behind: z.boolean() });
/** Whether a consumer's position is still below an event of the tenant. */
const consumersBehind = () =>
  t.pool.any(sql.type(Position)`
    select c.consumer, exists (select 1 from audit_log a where a.tenant_id = ${TENANT} and (a.xid, a.id) > (c.xid, c.audit_id)) as behind
    from event_consumer_position c where c.consumer in ('reminders', 'notifications')`);

it('notifies nobody of imported history, fires no reminder for a due date long past, schedules the ones still ahead', async () => {
  const file = phase1Fixture({ tasks: 80 });
  // One open, assigned task due in three days: it is a live task now, with both tiers ahead of it.
  const ahead = file.tasks.find((task) => task.status === 'in_progress' && task.assigned_to !== null && task.parent_id === null)!;
  ahead.due_date = new Date(Date.now() + 3 * 86_400_000).toISOString().replace('Z', '');
  const openOverdue = file.tasks.filter((task) => task.status !== 'completed' && task.assigned_to !== null && task.due_date !== null && task !== ahead);
  expect(openOverdue.length).toBeGreaterThan(5); // the fixture's due dates are all in 2025–2026's past
  const path = join(dir, 'data.json');
  writeFileSync(path, JSON.stringify(file));

  let out = '';
  const code = await main([path, '--tenant', TENANT, '--owner', 'importer'], { env: { DATABASE_URL: t.db.url }, out: (s) => (out += s), err: (s) => (out += s) });
  expect([code, out]).toEqual([0, expect.stringContaining('tasks')]);

  // The server's consumers catch up with the import (the poll wakes them: the import ran in another process's pool).
  for (const started = Date.now(); ; await new Promise((r) => setTimeout(r, 200))) {
    const positions = await consumersBehind();
    if (positions.length === 2 && positions.every((p) => !p.behind)) break;
    if (Date.now() - started > 30_000) throw new Error(`consumers still behind: ${JSON.stringify(positions)}`);
  }

  const Count = z.object({ n: z.number() });
  expect(await t.pool.oneFirst(sql.type(Count)`select count(*)::int as n from notification where tenant_id = ${TENANT}`)).toBe(0);
  const reminders = await t.pool.any(sql.type(z.object({ title: z.string(), tier: z.number(), fired: z.boolean() }))`
    select t.title, r.tier_seconds as tier, r.fired_at is not null as fired
    from reminder r join task t on t.id = r.task_id where t.tenant_id = ${TENANT} order by r.tier_seconds desc`);
  expect(reminders).toEqual([
    { title: ahead.title, tier: 86_400, fired: false },
    { title: ahead.title, tier: 3_600, fired: false },
  ]);
  expect(await t.pool.oneFirst(sql.type(Count)`
    select count(*)::int as n from audit_log where tenant_id = ${TENANT} and action = 'reminder_due'`)).toBe(0);
}, 90_000);
