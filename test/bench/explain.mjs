/**
 * "Each list query is an index scan" (issue 6), checked two ways on the seeded data:
 *
 * 1. `checkQueryPlans(url)` — EXPLAIN (FORMAT JSON) of the list query shapes below (every sort order, first
 *    and next page, the common filters, the cross-project "my work" list) for a seeded project and caller.
 *    Usable from jest: `expect((await checkQueryPlans(url)).failures).toEqual([])`.
 * 2. `captureServerPlans(adminUrl, database, fn)` — turns on auto_explain for new sessions of `database`,
 *    runs `fn` (which drives the real server through its list endpoints), and returns the plans PostgreSQL
 *    logged for the SQL the server actually sent; `planIssues(plans)` then flags the same problems. This one
 *    needs the PostgreSQL log: pass `logSink.push` as startEmbeddedPostgres's `log`.
 *
 * A problem is a `Seq Scan` on the task table — a failure — or a `Sort` over a whole
 * project's tasks to produce one page (the index does not deliver the order) — a warning.
 */
import pg from 'pg';

export const BIG_TABLES = ['task'];

// The shapes of src/tasks/tasks.sql.ts and tasks-list.sql.ts (SUMMARY_COLUMNS, selectPage, SORTS): keep in step.
const SUMMARY = `t.id, t.project_id, t.title, t.status, t.priority, t.progress_percent, t.tags, t.assignee_id,
  a.handle as assignee_handle, t.due_date, t.parent_task_id,
  (select count(*) from task c where c.parent_task_id = t.id) as subtask_count,
  t.recurrence_pattern is not null as is_recurring, t.created_at, t.updated_at, t.version,
  (extract(epoch from t.created_at) * 1000000)::int8 as created_at_us,
  (extract(epoch from t.due_date) * 1000000)::int8 as due_date_us, t.priority_rank`;
const FROM = `from task t left join worker a on a.id = t.assignee_id`;
const AT = (n) => `(timestamptz 'epoch' + $${n}::int8 * interval '1 microsecond')`;
const US = (iso) => Date.parse(iso) * 1000;

// Sort orders of GET /api/projects/{id}/tasks with their keyset predicate for the next page ($4, $5).
const SORTS = {
  '-created_at': { order: 't.created_at desc, t.id desc', after: `(t.created_at, t.id) < (${AT(4)}, $5)`, key: [US('2026-02-01T00:00:00Z'), 40_000] },
  created_at: { order: 't.created_at, t.id', after: `(t.created_at, t.id) > (${AT(4)}, $5)`, key: [US('2026-02-01T00:00:00Z'), 40_000] },
  due_date: { order: 't.due_date is null, t.due_date, t.id', after: `(t.due_date is null, t.due_date, t.id) > (false, ${AT(4)}, $5)`, key: [US('2026-03-01T00:00:00Z'), 40_000] },
  '-due_date': { order: 't.due_date is not null desc, t.due_date desc, t.id desc', after: `(t.due_date is not null, t.due_date, t.id) < (true, ${AT(4)}, $5)`, key: [US('2026-03-01T00:00:00Z'), 40_000] },
  priority: { order: 't.priority_rank, t.id', after: '(t.priority_rank, t.id) > ($4, $5)', key: [2, 40_000] },
  '-priority': { order: 't.priority_rank desc, t.id desc', after: '(t.priority_rank, t.id) < ($4, $5)', key: [3, 40_000] },
  title: { order: 't.title, t.id', after: '(t.title, t.id) > ($4, $5)', key: ['Task 5', 40_000] },
  '-title': { order: 't.title desc, t.id desc', after: '(t.title, t.id) < ($4, $5)', key: ['Task 5', 40_000] },
};

// Filters of the same list, each with the default sort.
const FILTERS = {
  status: [`t.status = any($4::text[])`, [['in_progress']]],
  priority: [`t.priority = any($4::text[])`, [['high']]],
  assignee_id: [`t.assignee_id = $4`, [2]],
  tag: [`t.tags @> $4::text[]`, [['bug']]],
  q: [`(t.title ilike $4 or t.description ilike $4)`, ['%login%']],
  due_before: [`t.due_date is not null and t.due_date < $4::timestamptz`, ['2026-02-01T00:00:00Z']],
  due_after: [`t.due_date is not null and t.due_date >= $4::timestamptz`, ['2026-03-01T00:00:00Z']],
  has_due_date: [`t.due_date is not null`, []],
  'parent_task_id=none': [`t.parent_task_id is null`, []],
};

/** The list query shapes, for project `projectId` seen by `workerId` (a member). */
export function listQueries({ projectId = 1, workerId = 1, tenantId = 'default', limit = 20 } = {}) {
  const base = `${FROM} where t.project_id = $1 and t.tenant_id = $2`;
  const queries = [
    {
      name: 'membership check',
      text: `select p.id, m.role from project p join member m on m.project_id = p.id and m.worker_id = $2 where p.id = $1 and p.tenant_id = $3`,
      values: [projectId, workerId, tenantId],
    },
  ];
  for (const [sort, s] of Object.entries(SORTS)) {
    queries.push({ name: `list sort=${sort}`, text: `select ${SUMMARY} ${base} order by ${s.order} limit $3`, values: [projectId, tenantId, limit + 1] });
    queries.push({ name: `list sort=${sort} next page`, text: `select ${SUMMARY} ${base} and ${s.after} order by ${s.order} limit $3`, values: [projectId, tenantId, limit + 1, ...s.key] });
  }
  for (const [filter, [where, values]] of Object.entries(FILTERS)) {
    queries.push({ name: `list ${filter}`, text: `select ${SUMMARY} ${base} and ${where} order by ${SORTS['-created_at'].order} limit $3`, values: [projectId, tenantId, limit + 1, ...values] });
  }
  queries.push(
    {
      name: 'task detail',
      text: `select ${SUMMARY} from task t join member m on m.project_id = t.project_id and m.worker_id = $2
             left join worker a on a.id = t.assignee_id where t.id = $1 and t.tenant_id = $3`,
      values: [4_242, workerId, tenantId],
    },
    {
      // getTask embeds the first 50 subtasks in the same statement (tasks.sql.ts embeddedSubtasks)
      name: 'task detail with its embedded subtasks',
      text: `select t.id, st.subtasks from task t
             left join lateral (select coalesce(json_agg(s order by s.created_at, s.id), '[]'::json) as subtasks
               from (select ${SUMMARY} ${FROM} where t.parent_task_id = $1 order by t.created_at, t.id limit 50) s) st on true
             where t.id = $1`,
      values: [4_240],
    },
    {
      name: 'sync: updated_since, sort=updated_at',
      text: `select ${SUMMARY} ${FROM} where t.project_id = $1 and t.tenant_id = $2 and t.updated_at >= $4 order by t.updated_at, t.id limit $3`,
      values: [projectId, tenantId, limit + 1, '2026-01-15T00:00:00Z'],
    },
    {
      name: 'my work (all my projects)',
      text: `select ${SUMMARY} ${FROM} where t.tenant_id = $2 and t.project_id in (select m.project_id from member m where m.worker_id = $1) order by t.created_at desc, t.id desc limit $3`,
      values: [workerId, tenantId, limit + 1],
    },
    {
      name: 'my work assignee_id=me',
      text: `select ${SUMMARY} ${FROM} where t.tenant_id = $2 and t.project_id in (select m.project_id from member m where m.worker_id = $1) and t.assignee_id = $1 order by t.created_at desc, t.id desc limit $3`,
      values: [workerId, tenantId, limit + 1],
    },
    {
      // listMemberTasksPage in an order without an index across projects: each project's first page, merged.
      name: 'my work sort=due_date (per-project pages, merged)',
      text: `select ${SUMMARY} from (select t.* from member m cross join lateral (
               select t.* from task t
               where t.project_id = m.project_id and t.tenant_id = $2 order by ${SORTS.due_date.order} limit $3) t
             where m.worker_id = $1 order by ${SORTS.due_date.order} limit $3) t
             left join worker a on a.id = t.assignee_id order by ${SORTS.due_date.order}`,
      values: [workerId, tenantId, limit + 1],
    },
    {
      name: 'project task_count',
      text: `select p.id, (select count(*) from task t where t.project_id = p.id) as task_count from project p join member m on m.project_id = p.id and m.worker_id = $1 order by p.id limit 51`,
      values: [workerId],
    },
  );
  return queries;
}

/** Scans of a big table whose rows reach `node` with no Limit in between (a subplan's rows do not reach it). */
const unlimitedScans = (node, bigTables) =>
  node['Node Type'] === 'Limit'
    ? 0
    : (bigTables.includes(node['Relation Name']) ? 1 : 0) +
      (node.Plans ?? [])
        .filter((child) => child['Parent Relationship'] !== 'SubPlan' && child['Parent Relationship'] !== 'InitPlan')
        .reduce((n, child) => n + unlimitedScans(child, bigTables), 0);

/**
 * Walks an EXPLAIN (FORMAT JSON) plan: failures (seq scans on big tables) and warnings (whole-set sorts). A sort
 * of pages — every big-table row it gets has passed a Limit, as in "my work" merging each project's first page —
 * is what the query asks for, not a whole set, and no warning.
 */
export function planIssues(plan, { bigTables = BIG_TABLES, sortRowsWarn = 500 } = {}) {
  const failures = [];
  const warnings = [];
  const visit = (node, parents) => {
    const type = node['Node Type'];
    if (type === 'Seq Scan' && bigTables.includes(node['Relation Name'])) {
      failures.push(`Seq Scan on ${node['Relation Name']}${node.Filter ? ` (filter ${node.Filter})` : ''}`);
    }
    if ((type === 'Sort' || type === 'Incremental Sort') && (node['Plan Rows'] ?? 0) >= sortRowsWarn && unlimitedScans(node, bigTables) > 0) {
      warnings.push(`${type} of ~${node['Plan Rows']} rows by ${(node['Sort Key'] ?? []).join(', ')} (the index does not give this order)`);
    }
    for (const child of node.Plans ?? []) visit(child, [...parents, type]);
  };
  visit(plan.Plan ?? plan, []);
  return { failures, warnings };
}

const nodeSummary = (node) => {
  const parts = [];
  const visit = (n) => {
    parts.push(`${n['Node Type']}${n['Index Name'] ? ` using ${n['Index Name']}` : n['Relation Name'] ? ` on ${n['Relation Name']}` : ''}`);
    for (const c of n.Plans ?? []) visit(c);
  };
  visit(node.Plan ?? node);
  return parts.join(' > ');
};

/** EXPLAINs every list query shape against `url` (seeded). */
export async function checkQueryPlans(url, opts = {}) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const results = [];
    for (const q of listQueries(opts)) {
      const { rows } = await client.query(`explain (format json) ${q.text}`, q.values);
      const plan = rows[0]['QUERY PLAN'][0];
      results.push({ name: q.name, ...planIssues(plan), nodes: nodeSummary(plan) });
    }
    return summarize(results);
  } finally {
    await client.end();
  }
}

function summarize(results) {
  return {
    results,
    failures: results.flatMap((r) => r.failures.map((f) => `${r.name}: ${f}`)),
    warnings: results.flatMap((r) => r.warnings.map((w) => `${r.name}: ${w}`)),
  };
}

/**
 * Logs the plan of every statement run by new sessions of `database` while `fn` runs (auto_explain), and
 * returns them: [{ query, plan }]. `logLines()` must return the PostgreSQL server log collected so far.
 */
export async function captureServerPlans(adminUrl, database, logLines, fn) {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const from = logLines().length;
  try {
    await admin.query(`alter database ${database} set session_preload_libraries = 'auto_explain'`);
    await admin.query(`alter database ${database} set auto_explain.log_min_duration = 0`);
    await admin.query(`alter database ${database} set auto_explain.log_format = 'json'`);
    await fn();
  } finally {
    await admin.query(`alter database ${database} reset all`).catch(() => {});
    await admin.end();
  }
  await new Promise((resolve) => setTimeout(resolve, 200)); // let the last log lines arrive
  return parseAutoExplainLog(logLines().slice(from).join('\n'));
}

/** Plans out of auto_explain's JSON log entries ("LOG:  duration: … ms  plan:\n{ … }"). */
export function parseAutoExplainLog(text) {
  const plans = [];
  for (const entry of text.split(/\n(?=\S.*?(?:LOG|ERROR|WARNING|FATAL|STATEMENT|DETAIL):)/)) {
    const at = entry.indexOf('plan:');
    if (at < 0) continue;
    const json = entry.slice(entry.indexOf('{', at), entry.lastIndexOf('}') + 1);
    try {
      const parsed = JSON.parse(json);
      plans.push({ query: String(parsed['Query Text'] ?? '').replace(/\s+/g, ' ').trim(), plan: parsed.Plan ? parsed : { Plan: parsed } });
    } catch {
      // a partial or non-JSON entry: not a plan
    }
  }
  return plans;
}

/** planIssues over captured server plans, one result per distinct query text that touches `task`. */
export function serverPlanIssues(plans) {
  const seen = new Map();
  for (const { query, plan } of plans) {
    if (!/\btask\b/.test(query) || /^(insert|update|delete|begin|commit|rollback)\b/i.test(query) || seen.has(query)) continue;
    seen.set(query, { name: query.slice(0, 160), ...planIssues(plan), nodes: nodeSummary(plan) });
  }
  return summarize([...seen.values()]);
}
