#!/usr/bin/env node
/**
 * The floor of `make bench`: the same responses as TaskFlow for W1–W3 with the least work a hand-written server
 * would do — node:http + pg + jose, named prepared statements, and one round trip per request (membership,
 * assignee check, insert and audit entry folded into single statements). The same token checks as the baseline
 * and TaskFlow (JWKS, iss, aud, exp, algorithms; the caller's worker cached 5 min). No validation library, no
 * logging, no metrics, no security headers, no problem documents beyond a title. run.mjs checks before measuring
 * that its status, body and ETag equal TaskFlow's for W1–W3 (checkFloorResponses). Not product code.
 *
 * Env: PORT, DATABASE_URL, AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE, DB_POOL_SIZE (10, as the server's default).
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { createCaller, HttpError, serve } from '../bare-http.mjs';

pg.types.setTypeParser(20, Number); // int8 → number
// timestamptz as the API writes it: RFC 3339 UTC with milliseconds (PostgreSQL's text is in the session's UTC).
pg.types.setTypeParser(1184, (v) => `${v.slice(0, 10)}T${v.slice(11, 19)}${(v.length > 22 ? `${v.slice(19, -3)}000` : '.000').slice(0, 4)}Z`);
const env = process.env;
const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: Number(env.DB_POOL_SIZE ?? 10), options: '-c TimeZone=UTC' });

// The token check and the caller's worker (cached 5 min like src/identity/resolve.ts), shared with the baseline.
const caller = createCaller(env, async (tenantId, sub) => (await pool.query({ name: 'worker', text: 'select id, handle from worker where tenant_id = $1 and user_id = $2', values: [tenantId, sub] })).rows[0], { cacheTokens: true });

// allowed_transitions (contract 1.0): the workflow's next statuses, without `completed` while a subtask at any
// depth is open. Whether one is open is asked only for the statuses that could go to completed (one index probe
// for a leaf), as TaskFlow does (src/tasks/tasks.sql.ts, workflow.ts).
const NEXT = { pending: ['in_progress', 'blocked', 'completed'], in_progress: ['review', 'completed', 'blocked'], review: ['in_progress', 'completed'], completed: ['review'], blocked: ['pending', 'in_progress'] };
const allowed = (status, open) => (open ? NEXT[status].filter((s) => s !== 'completed') : NEXT[status]);
const open = (t) => `case when ${t}.status in ('pending', 'in_progress', 'review') then exists (
    with recursive descendant(id, status) as (
      select x.id, x.status from task x where x.parent_task_id = ${t}.id
      union all
      select x.id, x.status from task x join descendant d on x.parent_task_id = d.id)
    select 1 from descendant where status <> 'completed') else false end`;
/** The same as JSON, built in the statement for the embedded subtasks. */
const allowedJson = (t) => `case ${t}.status
    ${Object.keys(NEXT).map((status) => `when '${status}' then ${NEXT[status].includes('completed') && status !== 'completed'
      ? `case when ${open(t)} then '${JSON.stringify(allowed(status, true))}'::json else '${JSON.stringify(NEXT[status])}'::json end`
      : `'${JSON.stringify(NEXT[status])}'::json`}`).join('\n    ')} end`;

const MEMBER = `exists (select 1 from project p join member m on m.project_id = p.id and m.worker_id = $2 where p.id = $1 and p.tenant_id = $3)`;
const SUMMARY = `t.id, t.project_id, t.title, t.status, t.priority, t.progress_percent, t.tags, t.assignee_id, a.handle as assignee_handle,
  t.due_date, t.parent_task_id, (select count(*) from task c where c.parent_task_id = t.id) as subtask_count,
  t.recurrence_pattern is not null as is_recurring, t.created_at, t.updated_at, t.version, ${open('t')} as has_open_subtasks`;
const DETAIL = `${SUMMARY}, t.description, t.created_by_id, t.started_at, t.completed_at, t.recurrence_pattern,
  t.recurrence_max, t.recurring_root_id, t.spawn_count, t.last_rejection_reason, t.last_rejected_by_id,
  (select r.handle from worker r where r.id = t.last_rejected_by_id) as last_rejected_by_handle, t.last_rejected_at,
  t.last_progress_note, t.last_progress_note_at`;
const iso = (column) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
/** A subtask summary as JSON built in the statement, so a task and its subtasks come back in one row. */
const SUMMARY_JSON = `json_build_object('id', c.id, 'project_id', c.project_id, 'title', c.title, 'status', c.status,
  'allowed_transitions', ${allowedJson('c')},
  'priority', c.priority, 'progress_percent', c.progress_percent, 'tags', c.tags, 'assignee_id', c.assignee_id,
  'assignee_handle', ca.handle, 'due_date', ${iso('c.due_date')}, 'parent_task_id', c.parent_task_id,
  'subtask_count', (select count(*) from task g where g.parent_task_id = c.id), 'is_recurring', c.recurrence_pattern is not null,
  'created_at', ${iso('c.created_at')}, 'updated_at', ${iso('c.updated_at')}, 'version', c.version)`;
/** Task.subtasks holds the first 50 direct subtasks (the contract's maxItems); subtask_count says how many there are. */
const EMBEDDED_SUBTASKS = 50;

const summary = (r) => ({
  id: r.id, project_id: r.project_id, title: r.title, status: r.status, allowed_transitions: allowed(r.status, r.has_open_subtasks), priority: r.priority, progress_percent: r.progress_percent, tags: r.tags,
  assignee_id: r.assignee_id, assignee_handle: r.assignee_handle, due_date: r.due_date, parent_task_id: r.parent_task_id,
  subtask_count: r.subtask_count, is_recurring: r.is_recurring, created_at: r.created_at, updated_at: r.updated_at, version: r.version,
});
const detail = (r, subtasks) => ({
  ...summary(r), description: r.description, created_by_id: r.created_by_id,
  started_at: r.started_at, completed_at: r.completed_at,
  recurrence: r.recurrence_pattern ? { pattern: r.recurrence_pattern, max_occurrences: r.recurrence_max } : null,
  recurring_root_id: r.recurring_root_id, spawn_count: r.spawn_count,
  last_rejection: r.last_rejected_at === null ? null
    : { reason: r.last_rejection_reason ?? '', rejected_by_id: r.last_rejected_by_id, rejected_by_handle: r.last_rejected_by_handle, rejected_at: r.last_rejected_at },
  last_progress_note: r.last_progress_note_at === null ? null : { note: r.last_progress_note ?? '', noted_at: r.last_progress_note_at },
  subtasks,
});

// W1: the newest page with the membership as a one-time condition of the same statement (TaskFlow's shape: ~25 %
// less PostgreSQL CPU than a lateral join on "is a member", measured 2026-11-30); only an empty page asks whether
// the caller is a member, for the 404. TaskFlow's cursor (base64url JSON of sort and key). The limit is part of
// the text (one statement per limit), as TaskFlow writes it: a `limit $n` makes PostgreSQL plan every call.
async function listTasks(who, projectId, url) {
  const limit = Math.min(Math.max(Number(url.searchParams.get('limit') ?? 50) || 50, 1), 100);
  const { rows } = await pool.query({
    name: `list-${limit}`,
    text: `select ${SUMMARY}, to_char(t.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_at_key
           from task t left join worker a on a.id = t.assignee_id
           where t.project_id = $1 and t.tenant_id = $3 and exists (select 1 from member m where m.project_id = $1 and m.worker_id = $2)
           order by t.created_at desc, t.id desc limit ${limit + 1}`,
    values: [projectId, who.workerId, who.tenantId],
  });
  if (rows.length === 0) {
    const member = await pool.query({ name: 'member', text: `select ${MEMBER} as member`, values: [projectId, who.workerId, who.tenantId] });
    if (!member.rows[0].member) throw new HttpError(404, 'Project not found');
  }
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const next = rows.length > limit ? Buffer.from(JSON.stringify(['-created_at', last.created_at_key, last.id])).toString('base64url') : null;
  return [200, { items: page.map(summary), next_cursor: next }];
}

// W2: the task (visible through membership) with its first 50 direct subtasks, in one statement.
async function getTask(who, taskId) {
  const { rows } = await pool.query({
    name: 'task',
    text: `select ${DETAIL},
             (select coalesce(json_agg(${SUMMARY_JSON} order by c.created_at, c.id), '[]')
              from (select * from task c where c.parent_task_id = t.id order by c.created_at, c.id limit ${EMBEDDED_SUBTASKS}) c
              left join worker ca on ca.id = c.assignee_id) as subtasks
           from task t join member m on m.project_id = t.project_id and m.worker_id = $2
           left join worker a on a.id = t.assignee_id where t.id = $1 and t.tenant_id = $3`,
    values: [taskId, who.workerId, who.tenantId],
  });
  if (!rows[0]) throw new HttpError(404, 'Task not found');
  const body = detail(rows[0], rows[0].subtasks);
  return [200, body, { etag: taskEtag(body) }];
}

// The contract's task ETag: the version, and for a task with subtasks a digest of what it embeds of them.
const taskEtag = (task) => (task.subtask_count === 0 ? `"${task.version}"`
  : `"${task.version}.${createHash('sha1').update(JSON.stringify([task.subtask_count, task.allowed_transitions, task.subtasks])).digest('hex').slice(0, 16)}"`);

// W3: membership, assignee check, insert and audit entry in one statement (atomic without BEGIN/COMMIT).
async function createTask(who, projectId, body) {
  if (typeof body?.title !== 'string' || !body.title.trim() || body.title.length > 200) throw new HttpError(422, 'title');
  const { rows } = await pool.query({
    name: 'create',
    text: `with ok as (
             select ${MEMBER} as member,
                    ($7::int8 is null or exists (select 1 from member where project_id = $1 and worker_id = $7)) as assignee_ok),
           t as (
             insert into task (tenant_id, project_id, title, description, priority, tags, assignee_id, due_date, created_by_id)
             select $3, $1, $4, $5, coalesce($6, 'medium'), coalesce($8::text[], '{}'), $7, $9::timestamptz, $2
             from ok where member and assignee_ok
             returning *),
           audit as (
             insert into audit_log (tenant_id, project_id, entity_type, entity_id, action, actor_id, actor_handle, actor_type, details)
             select t.tenant_id, t.project_id, 'task', t.id, 'task_created', $2, $10, 'human',
                    jsonb_build_object('title', t.title, 'priority', t.priority, 'assignee_id', t.assignee_id,
                      'parent_task_id', t.parent_task_id, 'due_date', ${iso('t.due_date')}, 'recurrence', null)
             from t)
           select ok.member, ok.assignee_ok, t.id, t.project_id, t.title, t.status, t.priority, t.progress_percent, t.tags,
                  t.assignee_id, a.handle as assignee_handle, t.due_date, t.parent_task_id, 0::int8 as subtask_count, false as has_open_subtasks,
                  t.recurrence_pattern is not null as is_recurring, t.created_at, t.updated_at, t.description, t.created_by_id,
                  t.started_at, t.completed_at, t.recurrence_pattern, t.recurrence_max, t.recurring_root_id, t.spawn_count, t.version,
                  t.last_rejection_reason, t.last_rejected_by_id, null::text as last_rejected_by_handle, t.last_rejected_at,
                  t.last_progress_note, t.last_progress_note_at
           from ok left join t on true left join worker a on a.id = t.assignee_id`,
    values: [projectId, who.workerId, who.tenantId, body.title.trim(), body.description ?? null, body.priority ?? null,
      body.assignee_id ?? null, body.tags ?? null, body.due_date ?? null, who.handle],
  });
  const [row] = rows;
  if (!row.member) throw new HttpError(404, 'Project not found');
  if (!row.assignee_ok) throw new HttpError(422, 'assignee_id');
  return [201, detail(row, []), { location: `/api/tasks/${row.id}`, etag: `"${row.version}"` }];
}

serve({ name: 'floor', env, pool, caller, listTasks, createTask, getTask });
