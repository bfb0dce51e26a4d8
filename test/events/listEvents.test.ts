/** listEvents: what the feed shows to whom, its cursors, and that resuming never skips or repeats an event. */
import pg from 'pg';
import { sql } from 'slonik';
import type { components } from '../../generated/api.js';
import { keyedAgent } from '../helpers/agents.js';
import type { TestApp } from '../helpers/app.js';
import { setupTestApp, createTask, expectProblem, setStatus, type SignedIn } from '../helpers/factories.js';

// Events appear once every older transaction of the PostgreSQL cluster has finished: while other suites run
// long transactions on the shared test server (an import holds one for a minute), they wait. Never skip.
const LONG = 240_000;

type EventList = components['schemas']['EventList'];
type Event = components['schemas']['Event'];
type Task = components['schemas']['Task'];

let t: TestApp;
let alice: SignedIn;
let bob: SignedIn; // member of alice's project
let carol: SignedIn; // same tenant, member of nothing of alice's
let project: number;

beforeAll(async () => {
  ({ t, alice, bob, carol, project } = await setupTestApp());
}, 120_000);
afterAll(() => t.close());

/** Reads the feed until `enough` holds for what was read (or 3 minutes pass). */
async function drainUntil(user: SignedIn, cursor: string | undefined, query: Record<string, string | number | string[]>, enough: (items: Event[]) => boolean) {
  const items: Event[] = [];
  for (const deadline = Date.now() + 180_000; ; await new Promise((r) => setTimeout(r, 100))) {
    const page = await drain(user, cursor, query);
    items.push(...page.items);
    cursor = page.cursor;
    if (enough(items) || Date.now() > deadline) return { items, cursor };
  }
}

/** Reads the whole feed from a cursor to the end, page by page. */
async function drain(user: SignedIn, cursor: string | undefined, query: Record<string, string | number | string[]> = {}) {
  const items: Event[] = [];
  for (;;) {
    const res = await user.request<EventList>('GET', '/api/events', { query: { ...query, limit: 7, ...(cursor ? { cursor } : {}) } });
    expect(res.status).toBe(200);
    items.push(...res.body.items);
    cursor = res.body.next_cursor;
    if (!res.body.has_more) return { items, cursor };
  }
}

describe('listEvents', () => {
  it('shows task events with the change and the task as the API shows it, to members only', async () => {
    const start = (await drain(alice, undefined, { project_id: project })).cursor;
    const task = await createTask(alice, project, { title: 'Write the release notes' });
    expect((await setStatus(alice, task.id, 'in_progress')).status).toBe(200);

    const { items } = await drainUntil(bob, start, { project_id: project }, (i) => i.length >= 2);
    expect(items.map((e) => e.type)).toEqual(['task.created', 'task.status_changed']);
    const changed = items[1]!;
    expect(changed).toMatchObject({
      project_id: project,
      entity: { type: 'task', id: task.id },
      actor: { id: alice.workerId, handle: alice.me.worker.handle, type: 'human' },
      data: { changes: { status: { before: 'pending', after: 'in_progress' } } },
    });
    const current = await alice.request('GET', `/api/tasks/${task.id}`);
    expect(changed.data.task).toEqual(current.body);

    const carolSees = await drain(carol, start); // read after bob saw both: nothing of the project is visible to her
    expect(carolSees.items.filter((e) => e.project_id === project)).toEqual([]);
    expectProblem(await carol.request('GET', '/api/events', { query: { project_id: project } }), 404, 'project-not-found');
  }, LONG);

  it('data.task is the task as getTask shows it: bounded subtasks with their total, version and the review fields', async () => {
    const start = (await drain(alice, undefined, { project_id: project })).cursor;
    const task = await createTask(alice, project, { title: 'Review the pricing page' });
    await t.pool.query(sql.unsafe`
      insert into task (tenant_id, project_id, parent_task_id, title, created_by_id, created_at)
      select tenant_id, project_id, id, 'Sub ' || lpad(g::text, 2, '0'), created_by_id, now() - (60 - g) * interval '1 second'
      from task, generate_series(1, 55) g where id = ${task.id}`);
    await setStatus(alice, task.id, 'in_progress');
    expect((await alice.request('PATCH', `/api/tasks/${task.id}/progress`, { body: { progress_percent: 40, note: 'Copy drafted' } })).status).toBe(200);
    await setStatus(alice, task.id, 'review');
    expect((await alice.request('POST', `/api/tasks/${task.id}/reject`, { body: { reason: 'Prices are out of date.' } })).status).toBe(200);

    const { items } = await drainUntil(alice, start, { project_id: project }, (i) => i.some((e) => e.type === 'task.rejected'));
    const rejected = items.find((e) => e.type === 'task.rejected')!;
    const current = await alice.request<Task>('GET', `/api/tasks/${task.id}`);
    expect(rejected.data.task).toEqual(current.body);
    expect(rejected.data.task).toMatchObject({
      subtask_count: 55,
      version: current.body.version,
      last_rejection: { reason: 'Prices are out of date.', rejected_by_id: alice.workerId },
      last_progress_note: { note: 'Copy drafted' },
    });
    expect(rejected.data.task!.subtasks.map((s) => s.title)).toEqual(Array.from({ length: 50 }, (_, i) => `Sub ${String(i + 1).padStart(2, '0')}`));
  }, LONG);

  it("the actor is the audit entry's: an agent acting with its API key is `agent`, with no client", async () => {
    const start = (await drain(alice, undefined, { project_id: project })).cursor;
    const agent = await keyedAgent(t, alice, [project]);
    const created = await agent.request('POST', `/api/projects/${project}/tasks`, { body: { title: 'Filed by an agent' } });
    expect(created.status).toBe(201);
    const { items } = await drainUntil(alice, start, { project_id: project }, (i) => i.some((e) => e.type === 'task.created'));
    const event = items.find((e) => e.type === 'task.created' && e.entity.id === created.body.id)!;
    expect(event.actor).toEqual({ id: agent.id, handle: agent.handle, type: 'agent', client: null });
    const audit = (await t.pool.one(sql.unsafe`
      select actor_type, client from audit_log where entity_type = 'task' and entity_id = ${created.body.id} and action = 'task_created'`)) as { actor_type: string; client: string | null };
    expect([event.actor.type, event.actor.client]).toEqual([audit.actor_type, audit.client]);
  }, LONG);

  it('filters by type', async () => {
    const start = (await drain(alice, undefined)).cursor;
    const task = await createTask(alice, project);
    await setStatus(alice, task.id, 'in_progress');
    const { items } = await drainUntil(alice, start, { types: ['task.status_changed'] }, (i) => i.length >= 1);
    expect(items.map((e) => [e.type, e.entity.id])).toEqual([['task.status_changed', task.id]]);
    const both = await drainUntil(alice, start, { types: ['task.created', 'task.status_changed'] }, (i) => i.length >= 2);
    expect(both.items.map((e) => e.type)).toEqual(['task.created', 'task.status_changed']);
    expectProblem(await alice.request('GET', '/api/events', { query: { types: 'task.exploded' } }), 422, 'validation-failed');
  }, LONG);

  it('refuses a forged cursor with 422 and a cursor from another event log with 410', async () => {
    const forged = await alice.request('GET', '/api/events', { query: { cursor: 'not-a-cursor' } });
    expectProblem(forged, 422, 'validation-failed');
    expect(forged.body.errors).toEqual([{ pointer: '/query/cursor', message: 'is not a valid event cursor' }]);
    const future = Buffer.from(JSON.stringify(['events', 1, '999999999999', 1])).toString('base64url');
    const expired = await alice.request('GET', '/api/events', { query: { cursor: future } });
    expectProblem(expired, 410, 'cursor-expired');
    expect(expired.body.detail).toMatch(/start again without a cursor/);
    const oldVersion = Buffer.from(JSON.stringify(['events', 0, '1', 1])).toString('base64url');
    expectProblem(await alice.request('GET', '/api/events', { query: { cursor: oldVersion } }), 410, 'cursor-expired');
    expectProblem(await alice.request('GET', '/api/events', { query: { limit: 501 } }), 422, 'validation-failed');
  }, LONG);

  it('a reader resuming from its cursor sees every event exactly once while transactions commit out of order', async () => {
    const { cursor: start } = await drain(alice, undefined, { project_id: project });
    // One writing transaction takes its audit id first and stays open while 20 others commit.
    const held = new pg.Client({ connectionString: t.db.url });
    await held.connect();
    await held.query('begin');
    const heldTask = await held.query(
      `insert into task (tenant_id, project_id, title, created_by_id) values ($1, $2, 'Held open', $3) returning id`,
      [alice.tenant, project, alice.workerId],
    );
    const heldAudit = await held.query(
      `insert into audit_log (tenant_id, project_id, entity_type, entity_id, action, actor_id, actor_handle, actor_type)
       values ($1, $2, 'task', $3, 'task_created', $4, $5, 'human') returning id`,
      [alice.tenant, project, heldTask.rows[0].id, alice.workerId, alice.me.worker.handle],
    );
    const heldId = Number(heldAudit.rows[0].id);

    const seen: number[] = [];
    let cursor = start;
    let polling = true;
    const reader = (async () => {
      while (polling) {
        const page = await drain(bob, cursor, { project_id: project });
        seen.push(...page.items.map((e) => e.id));
        cursor = page.cursor;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();

    const created = await Promise.all(Array.from({ length: 20 }, (_, i) => createTask(alice, project, { title: `Concurrent ${i}` })));
    await new Promise((r) => setTimeout(r, 200)); // the reader polls while the held transaction is still open
    await held.query('commit');
    await held.end();

    const committed = await t.pool.anyFirst(
      // every audit entry of the project since the start, by any writer
      (await import('slonik')).sql.type((await import('zod')).z.object({ id: (await import('zod')).z.number() }))`
        select id from audit_log where project_id = ${project} and id >= ${heldId} order by id`,
    );
    for (const deadline = Date.now() + 180_000; Date.now() < deadline && !committed.every((id) => seen.includes(id)); ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    polling = false;
    await reader;

    expect(created).toHaveLength(20);
    expect(committed).toHaveLength(21);
    expect(Math.min(...committed)).toBe(heldId); // the held transaction took the smallest id and committed last
    expect([...seen].sort((a, b) => a - b)).toEqual(committed); // every one, and each exactly once
  }, LONG);
});
