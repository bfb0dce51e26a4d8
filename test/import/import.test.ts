import { jest } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { createDatabasePool } from '../../src/db/index.js';
import { main } from '../../src/import/main.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { phase1Fixture, type P1File, type P1Task } from './fixture.js';

/**
 * The Phase I import end to end: the CLI's main() on a file written to disk, into a database of its own.
 * Tenants keep the scenarios apart inside that database; "writes nothing" is checked on every table.
 */


const fixture = phase1Fixture();
const OWNER = 'owner-123';

let db: TestDatabase;
let pool: DatabasePool;
let dir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = await createDatabasePool(db.url, {
    poolSize: 2, idleTimeoutMs: 5_000, maxConnectionAgeMs: 60_000, connectTimeoutMs: 5_000, statementTimeoutMs: 0, pooled: false,
  });
  dir = mkdtempSync(join(tmpdir(), 'taskflow-import-'));
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const writeFile = (name: string, data: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(data, null, 2));
  return path;
};

async function cli(argv: string[], env: NodeJS.ProcessEnv = { DATABASE_URL: db.url }) {
  let out = '';
  let err = '';
  const started = performance.now();
  const code = await main(argv, { env, out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err, ms: performance.now() - started };
}

/** `tasks    1200    0` → { created: 1200, present: 0 } from the printed report. */
function reported(out: string, label: string) {
  const m = new RegExp(`^\\s+${label}\\s+(\\d+)\\s+(\\d+)$`, 'm').exec(out);
  if (!m) throw new Error(`no "${label}" row in:\n${out}`);
  return { created: Number(m[1]), present: Number(m[2]) };
}

const Counts = z.object({ workers: z.number(), projects: z.number(), members: z.number(), tasks: z.number(), audit: z.number() });

/** Rows per table, in one tenant or (tenant undefined) in the whole database. */
const counts = (tenant?: string) => {
  const where = (column: string) => (tenant === undefined ? sql.fragment`true` : sql.fragment`${sql.identifier([column])} = ${tenant}`);
  return pool.one(sql.type(Counts)`
    select (select count(*) from worker where ${where('tenant_id')}) as workers,
           (select count(*) from project where ${where('tenant_id')}) as projects,
           (select count(*) from member m join project on project.id = m.project_id where ${where('tenant_id')}) as members,
           (select count(*) from task where ${where('tenant_id')}) as tasks,
           (select count(*) from audit_log where ${where('tenant_id')}) as audit`);
};

/** What a Phase I timestamp means, as the API's type parser prints it (milliseconds, UTC). */
const utc = (ts: string) => new Date(/(Z|[+-]\d\d:\d\d)$/.test(ts) ? ts : `${ts.replace(' ', 'T')}Z`).toISOString();

const expectedMembers = (file: P1File) =>
  file.projects.reduce((sum, p) => {
    const handles = new Set(file.tasks.filter((t) => t.project_slug === p.slug).flatMap((t) => [t.created_by, t.assigned_to ?? []].flat()));
    return sum + handles.size + 1; // + the owner
  }, 0);

describe('Phase I import', () => {
  const TENANT = 'acme';
  let fixturePath: string;
  let firstRun: Awaited<ReturnType<typeof cli>>;

  beforeAll(() => {
    fixturePath = writeFile('data.json', fixture);
  });

  it('has a realistic fixture: ≥ 1,000 tasks, every status, deep subtasks, recurrence, children listed before parents', () => {
    const byId = new Map(fixture.tasks.map((t) => [t.id, t]));
    const depth = (t: P1Task): number => (t.parent_id === null ? 0 : 1 + depth(byId.get(t.parent_id)!));
    expect(fixture.tasks.length).toBeGreaterThanOrEqual(1000);
    expect(new Set(fixture.tasks.map((t) => t.status))).toEqual(new Set(['pending', 'in_progress', 'review', 'completed', 'blocked']));
    expect(Math.max(...fixture.tasks.map(depth))).toBeGreaterThanOrEqual(5);
    expect(fixture.tasks.filter((t) => t.parent_id !== null).length).toBeGreaterThan(400);
    expect(fixture.tasks.some((t) => t.parent_id !== null && t.parent_id > t.id)).toBe(true);
    expect(fixture.tasks.filter((t) => t.recurrence !== null).length).toBeGreaterThan(50);
    expect(new Set(fixture.workers.map((w) => w.type))).toEqual(new Set(['human', 'agent']));
    expect(fixture.audit_logs.length).toBeGreaterThan(3 * fixture.tasks.length);
    expect(JSON.stringify(phase1Fixture())).toBe(JSON.stringify(fixture)); // deterministic
  });

  it('--dry-run checks everything, reports what it would write, and writes nothing (not even the owner)', async () => {
    const before = await counts();
    const run = await cli([fixturePath, '--tenant', TENANT, '--owner', OWNER, '--dry-run']);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toContain('Dry run');
    expect(reported(run.out, 'tasks')).toEqual({ created: fixture.tasks.length, present: 0 });
    expect(reported(run.out, 'audit entries')).toEqual({ created: fixture.audit_logs.length, present: 0 });
    expect(reported(run.out, 'owner')).toEqual({ created: 1, present: 0 });
    expect(await counts()).toEqual(before);
  });

  it('imports the whole file in one run (CLI end to end)', async () => {
    firstRun = await cli([fixturePath, '--tenant', TENANT, '--owner', OWNER]);
    expect(firstRun.err).toBe('');
    expect(firstRun.code).toBe(0);
    const humans = fixture.workers.filter((w) => w.type === 'human').length;
    expect(reported(firstRun.out, 'owner')).toEqual({ created: 1, present: 0 });
    expect(reported(firstRun.out, 'projects')).toEqual({ created: fixture.projects.length, present: 0 });
    expect(reported(firstRun.out, 'humans')).toEqual({ created: humans, present: 0 });
    expect(reported(firstRun.out, 'agents')).toEqual({ created: fixture.workers.length - humans, present: 0 });
    expect(reported(firstRun.out, 'memberships')).toEqual({ created: expectedMembers(fixture), present: 0 });
    expect(reported(firstRun.out, 'tasks')).toEqual({ created: fixture.tasks.length, present: 0 });
    expect(reported(firstRun.out, 'audit entries')).toEqual({ created: fixture.audit_logs.length, present: 0 });
    expect(firstRun.out).toContain('audit entries are about tasks deleted in Phase I');
    console.log(`Phase I import: ${fixture.tasks.length} tasks, ${fixture.audit_logs.length} audit entries in ${(firstRun.ms / 1000).toFixed(1)} s\n${firstRun.out}`);
  });

  it('leaves the expected rows: workers, projects, memberships, tasks, audit entries', async () => {
    expect(await counts(TENANT)).toEqual({
      workers: fixture.workers.length + 1, // + the owner
      projects: fixture.projects.length + 1, // + the owner's personal project
      members: expectedMembers(fixture) + 1,
      tasks: fixture.tasks.length,
      // + the owner's personal project_created + one project_created per imported project
      audit: fixture.audit_logs.length + 1 + fixture.projects.length,
    });
    const humans = await pool.any(sql.type(z.object({ handle: z.string(), userId: z.string() }))`
      select handle, user_id as "userId" from worker where tenant_id = ${TENANT} and type = 'human' and user_id like 'phase1:%' order by handle`);
    expect(humans).toEqual(fixture.workers.filter((w) => w.type === 'human').map((w) => ({ handle: w.id, userId: `phase1:${w.id}` })).sort((a, b) => a.handle.localeCompare(b.handle)));
    const owners = await pool.anyFirst(sql.type(z.object({ handle: z.string() }))`
      select distinct w.handle from project p join worker w on w.id = p.owner_id where p.tenant_id = ${TENANT}`);
    expect(owners).toEqual(['@owner-123']);
  });

  it('remaps every parent to the new id of the same Phase I task, in the same project', async () => {
    const rows = await pool.any(sql.type(z.object({ key: z.string(), parentKey: z.string().nullable(), project: z.string() }))`
      select t.import_key as key, p.import_key as "parentKey", pr.slug as project
      from task t left join task p on p.id = t.parent_task_id join project pr on pr.id = t.project_id
      where t.tenant_id = ${TENANT}`);
    const actual = new Map(rows.map((r) => [r.key, r]));
    for (const t of fixture.tasks) {
      expect(actual.get(`phase1:${t.id}`)).toEqual({ key: `phase1:${t.id}`, parentKey: t.parent_id === null ? null : `phase1:${t.parent_id}`, project: t.project_slug });
    }
    const crossProject = await pool.oneFirst(sql.type(z.object({ n: z.number() }))`
      select count(*) as n from task c join task p on p.id = c.parent_task_id
      where c.tenant_id = ${TENANT} and p.project_id <> c.project_id`);
    expect(crossProject).toBe(0);
    // The deliberately deep chain: task 8 has seven ancestors, ending at task 1.
    const chain = await pool.anyFirst(sql.type(z.object({ key: z.string() }))`
      with recursive up(id, parent_task_id, import_key) as (
        select id, parent_task_id, import_key from task where tenant_id = ${TENANT} and import_key = 'phase1:8'
        union all
        select t.id, t.parent_task_id, t.import_key from task t join up on t.id = up.parent_task_id)
      select import_key as key from up`);
    expect(chain).toEqual([8, 7, 6, 5, 4, 3, 2, 1].map((n) => `phase1:${n}`));
  });

  it('assigns only members, and the same workers as Phase I', async () => {
    const notMembers = await pool.oneFirst(sql.type(z.object({ n: z.number() }))`
      select count(*) as n from task t
      where t.tenant_id = ${TENANT} and t.assignee_id is not null
        and not exists (select 1 from member m where m.project_id = t.project_id and m.worker_id = t.assignee_id)`);
    expect(notMembers).toBe(0);
    const rows = await pool.any(sql.type(z.object({ key: z.string(), assignee: z.string().nullable(), creator: z.string() }))`
      select t.import_key as key, a.handle as assignee, c.handle as creator
      from task t left join worker a on a.id = t.assignee_id join worker c on c.id = t.created_by_id
      where t.tenant_id = ${TENANT}`);
    const actual = new Map(rows.map((r) => [r.key, r]));
    for (const t of fixture.tasks) {
      expect(actual.get(`phase1:${t.id}`)).toEqual({ key: `phase1:${t.id}`, assignee: t.assigned_to, creator: t.created_by });
    }
  });

  it('keeps task fields and times: created/updated as given, started/completed recovered from the history', async () => {
    const Row = z.object({
      key: z.string(), status: z.string(), priority: z.string(), progress: z.number(), tags: z.array(z.string()),
      dueDate: z.string().nullable(), pattern: z.string().nullable(), max: z.number().nullable(),
      createdAt: z.string(), updatedAt: z.string(), startedAt: z.string().nullable(), completedAt: z.string().nullable(),
    });
    const rows = await pool.any(sql.type(Row)`
      select import_key as key, status, priority, progress_percent as progress, tags, due_date as "dueDate",
             recurrence_pattern as pattern, recurrence_max as max, created_at as "createdAt", updated_at as "updatedAt",
             started_at as "startedAt", completed_at as "completedAt"
      from task where tenant_id = ${TENANT}`);
    const actual = new Map(rows.map((r) => [r.key, r]));
    const logs = (id: number) => fixture.audit_logs.filter((a) => a.task_id === id);
    for (const t of fixture.tasks) {
      const started = logs(t.id).find((a) => a.context.status === 'in_progress');
      const completion = logs(t.id).filter((a) => a.context.status === 'completed').at(-1);
      const recurrence = typeof t.recurrence === 'string' ? { pattern: t.recurrence.toLowerCase(), max: null }
        : t.recurrence ? { pattern: t.recurrence.pattern, max: t.recurrence.max_occurrences } : { pattern: null, max: null };
      expect(actual.get(`phase1:${t.id}`)).toEqual({
        key: `phase1:${t.id}`,
        status: t.status,
        priority: t.priority,
        progress: t.progress_percent,
        tags: [...new Set(t.tags.map((tag) => tag.trim()))],
        dueDate: t.due_date === null ? null : t.due_date.length === 10 ? `${t.due_date}T00:00:00.000Z` : utc(t.due_date),
        ...recurrence,
        createdAt: utc(t.created_at),
        updatedAt: utc(t.updated_at),
        startedAt: started ? utc(started.timestamp) : null,
        completedAt: t.status === 'completed' ? utc(completion!.timestamp) : null,
      });
    }
  });

  it('preserves the audit history: every entry at its original time, in time order, on the right task', async () => {
    const Row = z.object({
      id: z.number(), phase1Id: z.number(), action: z.string(), entityType: z.string(), taskKey: z.string().nullable(),
      actor: z.string(), actorType: z.string(), createdAt: z.string(), details: z.record(z.string(), z.unknown()),
    });
    const rows = await pool.any(sql.type(Row)`
      select a.id, (a.details->>'phase1_id')::int as "phase1Id", a.action, a.entity_type as "entityType",
             t.import_key as "taskKey", a.actor_handle as actor, a.actor_type as "actorType", a.created_at as "createdAt", a.details
      from audit_log a left join task t on a.entity_type = 'task' and t.id = a.entity_id
      where a.tenant_id = ${TENANT} and a.details ? 'phase1_id'
      order by a.id`);
    expect(rows).toHaveLength(fixture.audit_logs.length);
    const taskIds = new Set(fixture.tasks.map((t) => t.id));
    const byPhase1 = new Map(rows.map((r) => [r.phase1Id, r]));
    for (const log of fixture.audit_logs) {
      const row = byPhase1.get(log.id)!;
      expect(row.createdAt).toBe(utc(log.timestamp));
      expect(row.actor).toBe(log.actor_id);
      expect(row.actorType).toBe(log.actor_type);
      if (log.task_id !== null && taskIds.has(log.task_id)) expect(row).toMatchObject({ entityType: 'task', taskKey: `phase1:${log.task_id}` });
      else expect(row).toMatchObject({ entityType: 'project', taskKey: null });
    }
    // Ids follow time, so the API's newest-first listing is the Phase I order.
    const times = rows.map((r) => Date.parse(r.createdAt));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // Verbs: ours when TaskFlow has one, the Phase I word kept beside it.
    const started = rows.find((r) => r.details.phase1_action === 'started')!;
    expect(started).toMatchObject({ action: 'status_changed', details: { status: { before: 'pending', after: 'in_progress' } } });
    expect(rows.find((r) => r.details.phase1_action === 'progressed')).toMatchObject({ action: 'progress_updated' });
    expect(rows.find((r) => r.action === 'approved')?.details.phase1_action).toBeUndefined();
    const ghost = rows.find((r) => r.details.phase1_task_id === fixture.tasks.length + 1 && r.details.phase1_action === 'deleted');
    expect(ghost).toMatchObject({ action: 'task_deleted', entityType: 'project' });
    const imported = await pool.anyFirst(sql.type(z.object({ slug: z.string() }))`
      select details->>'slug' as slug from audit_log
      where tenant_id = ${TENANT} and action = 'project_created' and details->>'source' = 'phase1' order by id`);
    expect([...imported].sort()).toEqual(fixture.projects.map((p) => p.slug).sort());
  });

  it('imports nothing the second time', async () => {
    const before = await counts();
    const again = await cli([fixturePath, '--tenant', TENANT, '--owner', OWNER]);
    expect(again.code).toBe(0);
    for (const [label, total] of [
      ['owner', 1], ['projects', fixture.projects.length], ['tasks', fixture.tasks.length],
      ['audit entries', fixture.audit_logs.length], ['memberships', expectedMembers(fixture)],
    ] as const) {
      expect(reported(again.out, label)).toEqual({ created: 0, present: total });
    }
    expect(await counts()).toEqual(before);
    console.log(`Second run (nothing to do): ${(again.ms / 1000).toFixed(1)} s`);
  });

  it('on a later file, imports only what is new: a new subtask of an imported task, new history', async () => {
    const later = structuredClone(fixture);
    const next = fixture.tasks.length + 100;
    const parent = later.tasks.find((t) => t.parent_id === null && t.project_slug === 'infra')!;
    later.tasks.push({ ...parent, id: next, parent_id: parent.id, title: 'Follow-up from the import', created_at: '2026-01-05T10:00:00' });
    later.audit_logs.push({
      id: later.audit_logs.length + 1, task_id: next, project_slug: 'infra', actor_id: '@sarah', actor_type: 'human',
      action: 'subtask_created', context: { title: 'Follow-up from the import', parent_id: parent.id }, timestamp: '2026-01-05T10:00:00',
    });
    const before = await counts(TENANT);
    const run = await cli([writeFile('later.json', later), '--tenant', TENANT, '--owner', OWNER]);
    expect(run.code).toBe(0);
    expect(reported(run.out, 'tasks')).toEqual({ created: 1, present: fixture.tasks.length });
    expect(reported(run.out, 'audit entries')).toEqual({ created: 1, present: fixture.audit_logs.length });
    expect(reported(run.out, 'projects')).toEqual({ created: 0, present: fixture.projects.length });
    expect(await counts(TENANT)).toEqual({ ...before, tasks: before.tasks + 1, audit: before.audit + 1 });
    const linked = await pool.oneFirst(sql.type(z.object({ parentKey: z.string() }))`
      select p.import_key as "parentKey" from task t join task p on p.id = t.parent_task_id
      where t.tenant_id = ${TENANT} and t.import_key = ${`phase1:${next}`}`);
    expect(linked).toBe(`phase1:${parent.id}`);
  });

  it('reports every invalid record with its position and writes nothing', async () => {
    const bad = phase1Fixture({ tasks: 80, seed: 7 });
    const hasChildren = new Set(bad.tasks.map((t) => t.parent_id));
    const tops = bad.tasks.filter((t) => t.parent_id === null && t.id > 8);
    const [c, d] = [tops[0]!, tops.find((t) => t !== tops[0] && t.project_slug === tops[0]!.project_slug)!];
    const leaf = tops.find((t) => t !== c && t !== d && !hasChildren.has(t.id))!;
    const others = bad.tasks.filter((t) => ![c, d, leaf].includes(t));
    const [wrongStatus, unknownAssignee] = [others[3]!, others[7]!];
    wrongStatus.status = 'done';
    unknownAssignee.assigned_to = '@nobody';
    c.parent_id = d.id;
    d.parent_id = c.id;
    leaf.project_slug = 'ghost-project';
    for (const a of bad.audit_logs) if (a.task_id === leaf.id) a.project_slug = null;
    bad.audit_logs[4]!.actor_id = '@ghost';
    const at = (t: P1Task) => `tasks[${bad.tasks.indexOf(t)}]`;

    const before = await counts();
    const run = await cli([writeFile('bad.json', bad), '--tenant', 'bad-tenant', '--owner', OWNER]);
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
    const lines = run.err.trim().split('\n').slice(1).map((l) => l.trim());
    expect(lines.sort()).toEqual([
      `${at(wrongStatus)}.status: must be one of pending, in_progress, review, completed, blocked (got "done")`,
      `${at(unknownAssignee)}.assigned_to: no worker "@nobody" in workers`,
      `${at(c)}.parent_id: task ${c.id} is its own ancestor (${c.id} → ${d.id} → ${c.id})`,
      `${at(d)}.parent_id: task ${d.id} is its own ancestor (${c.id} → ${d.id} → ${c.id})`,
      `${at(leaf)}.project_slug: no project "ghost-project" in projects`,
      `audit_logs[4].actor_id: no worker "@ghost" in workers`,
    ].sort());
    expect(run.err).toMatch(/^\S+bad\.json: 6 invalid record\(s\); nothing was written\./);
    expect(await counts()).toEqual(before);
  });

  it('refuses to pour tasks into a project the tenant made itself with the same slug', async () => {
    const other = 'other-tenant';
    const setup = await cli([writeFile('one.json', { projects: [{ slug: 'scratch', name: 'Scratch', description: null }] }), '--tenant', other, '--owner', 'u1']);
    expect(setup.code).toBe(0);
    const ownerId = await pool.oneFirst(sql.type(z.object({ id: z.number() }))`select id from worker where tenant_id = ${other} and user_id = 'u1'`);
    await pool.query(sql.unsafe`insert into project (tenant_id, slug, name, owner_id) values (${other}, 'taskflow', 'Made in the API', ${ownerId})`);
    const before = await counts();
    const run = await cli([fixturePath, '--tenant', other, '--owner', 'u1']);
    expect(run.code).toBe(1);
    expect(run.err).toContain(`projects[0].slug: "taskflow" is already a project of tenant "${other}" that was not imported from Phase I`);
    expect(await counts()).toEqual(before);
  });

  it('answers usage errors with exit code 2 and the usage text', async () => {
    for (const argv of [
      [fixturePath, '--owner', OWNER],
      [fixturePath, '--tenant', TENANT],
      ['--tenant', TENANT, '--owner', OWNER],
      [fixturePath, '--tenant', TENANT, '--owner', OWNER, '--force'],
      [join(dir, 'missing.json'), '--tenant', TENANT, '--owner', OWNER],
    ]) {
      const run = await cli(argv);
      expect({ argv, code: run.code }).toEqual({ argv, code: 2 });
    }
    const noUrl = await cli([fixturePath, '--tenant', TENANT, '--owner', OWNER], {});
    expect(noUrl.code).toBe(2);
    expect(noUrl.err).toContain('DATABASE_URL');
    expect((await cli([fixturePath, '--tenant', TENANT], {})).err).toContain('Usage: npm run import');
  });

  it('answers malformed JSON with exit code 1', async () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{"projects": [');
    const run = await cli([path, '--tenant', TENANT, '--owner', OWNER]);
    expect(run.code).toBe(1);
    expect(run.err).toContain('(file): not valid JSON');
  });
});
