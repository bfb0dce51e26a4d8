#!/usr/bin/env node
/**
 * The deterministic benchmark data set (issue 6), the same ids on every machine:
 *
 *   workers   1..10   human `user-N` (JWT sub), handle `@user-N`, tenant `default`; worker id = N
 *   projects  1..50   slug `project-<p>`; members user-(((p-1+k) % 10) + 1) for k = 0,1,2 (k = 0 owner)
 *            51..60   the personal default project of user-1..user-10 (as the server provisions it)
 *   tasks     1..100000: task i is in project ((i-1) % 50) + 1, created 2026-01-01T00:00:00Z + i minutes;
 *                    every tenth task above 50 is a subtask of task i-50 (same project); status, priority,
 *                    tags, assignee (a member), due date and recurrence vary with i (see TASKS_SQL).
 *
 * Usage: DATABASE_URL=postgres://… node test/bench/seed.mjs [--force] [--migrate]
 *   --force    truncate worker, project, member and task first (audit_log is append-only and left alone)
 *   --migrate  apply the migrations first (needs `make build`: dist/src/db/migrate.js)
 * Also imported by run.mjs: `await seed(url, { force })`.
 */
import { pathToFileURL } from 'node:url';
import pg from 'pg';

export const TENANT = 'default';
export const USERS = 10;
export const PROJECTS = 50;
export const TASKS = 100_000;
export const MEMBERS_PER_PROJECT = 3;
export const SEED_EPOCH = '2026-01-01T00:00:00Z';

/** Worker id of user-N is N (asserted by the seed). */
export const userId = (n) => `user-${n}`;
/** The members of bench project p: [owner, member, member] as user numbers. */
export const projectMembers = (p) => [0, 1, 2].map((k) => ((p - 1 + k) % USERS) + 1);
export const projectOfTask = (i) => ((i - 1) % PROJECTS) + 1;
/** The personal default project of user n. */
export const defaultProjectOf = (n) => PROJECTS + n;
export const userEmail = (n) => `user-${n}@bench.taskflow.test`;
export const userName = (n) => `User ${n}`;

/**
 * Seeded status of task i, mirrored by TASKS_SQL (run.mjs picks W4 targets with it, and the seed asserts the
 * two agree). k = i*37 mod 100 visits every residue: 30 % pending, 25 % in_progress, 10 % review,
 * 25 % completed, 10 % blocked. A task with subtasks (i % 10 == 0) is never completed: a parent cannot be
 * completed while a subtask is open, so those become review instead.
 */
export function seededStatus(i) {
  const k = (i * 37) % 100;
  const s = k < 30 ? 'pending' : k < 55 ? 'in_progress' : k < 65 ? 'review' : k < 90 ? 'completed' : 'blocked';
  return s === 'completed' && i % 10 === 0 ? 'review' : s;
}

const STATUS_SQL = `
  case when s0 = 'completed' and i % 10 = 0 then 'review' else s0 end`;

const TASKS_SQL = `
insert into task (id, tenant_id, project_id, parent_task_id, title, description, status, priority, progress_percent,
                  tags, assignee_id, due_date, recurrence_pattern, recurrence_max, created_by_id, started_at,
                  completed_at, version, created_at, updated_at)
overriding system value
select i, $1, p,
       case when i > 50 and i % 10 = 0 then i - 50 end,
       'Task ' || i || ': ' || (array['Write', 'Review', 'Fix', 'Design', 'Test', 'Document', 'Deploy', 'Refactor'])[1 + i % 8]
         || ' ' || (array['login flow', 'billing page', 'search API', 'audit export', 'mobile layout', 'onboarding email',
                         'rate limiter', 'report generator', 'import job', 'settings screen'])[1 + (i / 8) % 10],
       case when i % 4 = 0 then null
            else 'Description of task ' || i || '. ' || repeat('Details and acceptance criteria. ', 1 + i % 5) end,
       st,
       case when m < 5 then 'low' when m < 13 then 'medium' when m < 18 then 'high' else 'critical' end,
       case st when 'pending' then 0 when 'in_progress' then (i * 17) % 100 when 'review' then 90 + i % 10
               when 'completed' then 100 else (i * 17) % 60 end,
       case i % 5 when 0 then '{}'::text[]
                  when 1 then array[tag[1 + i % 8]]
                  when 2 then array[tag[1 + i % 8], tag[1 + (i + 3) % 8]]
                  else array[tag[1 + i % 8], tag[1 + (i + 3) % 8], tag[1 + (i + 5) % 8]] end,
       case when i % 7 = 0 then null else ((p - 1 + i % 3) % 10) + 1 end,
       case when i % 3 = 0 then null else created + (1 + (i * 11) % 60) * interval '1 day' end,
       case when i % 100 = 7 then 'weekly' end,
       case when i % 200 = 7 then 10 end,
       ((p - 1 + (i / 7) % 3) % 10) + 1,
       case when st in ('in_progress', 'review', 'completed') or (st = 'blocked' and i % 2 = 0)
            then created + interval '2 hours' end,
       case when st = 'completed' then created + interval '3 days' end,
       1, created,
       case when st = 'completed' then created + interval '3 days'
            when st = 'pending' then created else created + interval '2 hours' end
from generate_series(1, $2::int) as i
cross join lateral (select ((i - 1) % 50) + 1 as p,
                           timestamptz '${SEED_EPOCH}' + i * interval '1 minute' as created,
                           (i * 53) % 20 as m,
                           case when (i * 37) % 100 < 30 then 'pending' when (i * 37) % 100 < 55 then 'in_progress'
                                when (i * 37) % 100 < 65 then 'review' when (i * 37) % 100 < 90 then 'completed'
                                else 'blocked' end as s0) as d
cross join lateral (select ${STATUS_SQL} as st) as s
cross join (select array['backend', 'frontend', 'bug', 'feature', 'docs', 'ops', 'urgent', 'research'] as tag) as v
order by i`;

const SEEDED_TABLES = ['worker', 'project', 'member', 'task'];

/** Seeds `url`. Refuses a database with rows in the seeded tables unless `force` (then truncates them). */
export async function seed(url, { force = false, tasks = TASKS, log = console.log } = {}) {
  const started = performance.now();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: schema } = await client.query(`select count(*)::int as n from pg_tables where schemaname = current_schema() and tablename = any($1)`, [SEEDED_TABLES]);
    if (schema[0].n !== SEEDED_TABLES.length) {
      throw new Error('The schema is missing: apply the migrations first (seed.mjs --migrate, or start the server once)');
    }
    const { rows: counts } = await client.query(
      `select ${SEEDED_TABLES.map((t) => `(select count(*) from ${t})::int as ${t}`).join(', ')}`,
    );
    const existing = Object.entries(counts[0]).filter(([, n]) => n > 0);
    if (existing.length && !force) {
      throw new Error(`Refusing to seed a non-empty database (${existing.map(([t, n]) => `${t}: ${n}`).join(', ')}); pass --force to truncate ${SEEDED_TABLES.join(', ')}`);
    }
    // A commit flushed before it returns: VACUUM below may mark a page all-visible only once the inserting
    // transaction's commit is on disk, and the bench's PostgreSQL runs with synchronous_commit off.
    await client.query('set synchronous_commit = on');
    await client.query('begin');
    if (existing.length) await client.query(`truncate ${SEEDED_TABLES.join(', ')} restart identity cascade`);

    await client.query(
      `insert into worker (id, tenant_id, type, user_id, handle, name, email, created_at, updated_at)
       overriding system value
       select n, $1, 'human', 'user-' || n, '@user-' || n, 'User ' || n, 'user-' || n || '@bench.taskflow.test',
              timestamptz '2025-12-31T00:00:00Z', timestamptz '2025-12-31T00:00:00Z'
       from generate_series(1, $2::int) as n order by n`,
      [TENANT, USERS],
    );
    // The 50 bench projects first (ids 1..50), then each user's personal default project (51..60), the way
    // src/identity/identity.sql.ts provisions it: slug personal-<handle base>, name Personal, owner membership.
    await client.query(
      `insert into project (id, tenant_id, slug, name, description, owner_id, is_default, created_at, updated_at)
       overriding system value
       select p, $1, 'project-' || p, 'Project ' || p, 'Benchmark project ' || p, ((p - 1) % 10) + 1, false,
              timestamptz '2025-12-31T12:00:00Z' + p * interval '1 minute', timestamptz '2025-12-31T12:00:00Z' + p * interval '1 minute'
       from generate_series(1, $2::int) as p
       union all
       select $2 + n, $1, 'personal-user-' || n, 'Personal', 'Personal default project of @user-' || n, n, true,
              timestamptz '2025-12-31T00:00:00Z', timestamptz '2025-12-31T00:00:00Z'
       from generate_series(1, $3::int) as n
       order by 1`,
      [TENANT, PROJECTS, USERS],
    );
    await client.query(
      `insert into member (id, project_id, worker_id, role, joined_at)
       overriding system value
       select (p - 1) * 3 + k + 1, p, ((p - 1 + k) % 10) + 1, case when k = 0 then 'owner' else 'member' end,
              timestamptz '2025-12-31T12:00:00Z' + p * interval '1 minute'
       from generate_series(1, $1::int) as p, generate_series(0, 2) as k
       union all
       select $1 * 3 + n, $1 + n, n, 'owner', timestamptz '2025-12-31T00:00:00Z'
       from generate_series(1, $2::int) as n
       order by 1`,
      [PROJECTS, USERS],
    );
    await client.query(TASKS_SQL, [TENANT, tasks]);
    for (const table of SEEDED_TABLES) {
      await client.query(`select setval(pg_get_serial_sequence('${table}', 'id'), (select max(id) from ${table}))`);
    }
    await verify(client, tasks);
    await client.query('commit');
    // The state autovacuum leaves a table in: statistics, and a visibility map so that counts (a project's
    // task_count) are index-only scans. Without it autovacuum's first visit would land in a measured window, and
    // until then `GET /api/projects` re-read every task's heap page to count them (44 ms against 3.6 ms after).
    await client.query(`vacuum (analyze) ${SEEDED_TABLES.join(', ')}`);
    const ms = Math.round(performance.now() - started);
    log(`seeded ${USERS} users, ${PROJECTS} + ${USERS} projects, ${PROJECTS * MEMBERS_PER_PROJECT + USERS} members, ${tasks} tasks in ${ms} ms`);
    return { ms };
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    await client.end();
  }
}

/** Cheap checks that the ids and the JS mirror of the data agree with what was inserted. */
async function verify(client, tasks) {
  const one = async (text, values) => (await client.query(text, values)).rows[0];
  const w = await one(`select count(*)::int as n, min(id)::int as lo, max(id)::int as hi,
                              bool_and(user_id = 'user-' || id) as ok from worker`);
  assert(w.n === USERS && w.lo === 1 && w.hi === USERS && w.ok, `workers: ${JSON.stringify(w)}`);
  const p = await one(`select count(*)::int as n, bool_and(slug = 'project-' || id or (is_default and id > $1)) as ok from project`, [PROJECTS]);
  assert(p.n === PROJECTS + USERS && p.ok, `projects: ${JSON.stringify(p)}`);
  for (const probe of [1, 17, 50]) {
    const { rows } = await client.query(`select worker_id::int as w, role from member where project_id = $1 order by id`, [probe]);
    const expected = projectMembers(probe);
    assert(rows.length === 3 && rows.every((r, k) => r.w === expected[k] && r.role === (k === 0 ? 'owner' : 'member')), `members of ${probe}: ${JSON.stringify(rows)}`);
  }
  const probes = [1, 2, 10, 50, 60, 110, 777, 12_345, 99_990, tasks].filter((i) => i <= tasks);
  const { rows } = await client.query(
    `select id::int as id, project_id::int as p, parent_task_id::int as parent, status, created_at from task where id = any($1) order by id`,
    [probes],
  );
  for (const r of rows) {
    const created = new Date(Date.parse(SEED_EPOCH) + r.id * 60_000).toISOString();
    assert(r.p === projectOfTask(r.id), `task ${r.id} project ${r.p}`);
    assert(r.parent === (r.id > 50 && r.id % 10 === 0 ? r.id - 50 : null), `task ${r.id} parent ${r.parent}`);
    assert(r.status === seededStatus(r.id), `task ${r.id} status ${r.status} vs ${seededStatus(r.id)}`);
    assert(r.created_at.toISOString() === created, `task ${r.id} created_at ${r.created_at.toISOString()}`);
  }
}

function assert(ok, message) {
  if (!ok) throw new Error(`seed verification failed: ${message}`);
}

async function main() {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => !['--force', '--migrate'].includes(a));
  if (unknown.length) {
    console.error(`unknown argument(s): ${unknown.join(' ')}\nusage: DATABASE_URL=… node test/bench/seed.mjs [--force] [--migrate]`);
    process.exit(64);
  }
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('DATABASE_URL is not set (the database to seed, after migrations)');
    process.exit(64);
  }
  if (args.includes('--migrate')) {
    const { migrate } = await import(new URL('../../dist/src/db/migrate.js', import.meta.url).href);
    const applied = await migrate(url);
    console.log(applied.length ? `migrations applied: ${applied.join(', ')}` : 'migrations: up to date');
  }
  await seed(url, { force: args.includes('--force') });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err.message ?? err);
    process.exit(1);
  });
}
