#!/usr/bin/env node
/**
 * The yardstick of `make bench`: W1–W3 on bare node:http + pg + jose, no framework, no validation library,
 * no logging. It does the same work per request as TaskFlow — verifies the bearer token against the same
 * JWKS (iss, aud, exp, algorithms), resolves the caller's worker (cached 5 min like src/identity/resolve.ts),
 * checks project membership, runs the same SQL shapes (two queries per read, one transaction with an audit
 * row per create) and answers JSON — so TaskFlow / baseline is the price of everything else. Not product code.
 *
 * Env: PORT, DATABASE_URL, AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE, DB_POOL_SIZE (10, as the server's default).
 */
import pg from 'pg';
import { createCaller, HttpError, serve } from '../bare-http.mjs';

pg.types.setTypeParser(20, Number); // int8 → number, as the server's type parsers do
const env = process.env;
const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: Number(env.DB_POOL_SIZE ?? 10) });

// The token check and the caller's worker (cached 5 min like src/identity/resolve.ts), shared with the floor.
const caller = createCaller(env, async (tenantId, sub) => (await pool.query('select id, handle from worker where tenant_id = $1 and user_id = $2', [tenantId, sub])).rows[0]);

async function requireMember(db, who, projectId) {
  const { rows } = await db.query(
    `select p.id, m.role, p.owner_id, p.is_default, p.version from project p join member m on m.project_id = p.id and m.worker_id = $2
     where p.id = $1 and p.tenant_id = $3`, [projectId, who.workerId, who.tenantId]);
  if (!rows[0]) throw new HttpError(404, 'Project not found');
}

// The same columns and shapes as src/tasks/tasks.sql.ts (SUMMARY_COLUMNS) and tasks-list.sql.ts (selectPage).
const SUMMARY = `t.id, t.project_id, t.title, t.status, t.priority, t.progress_percent, t.tags, t.assignee_id, a.handle as assignee_handle,
  t.due_date, t.parent_task_id, (select count(*) from task c where c.parent_task_id = t.id) as subtask_count,
  t.recurrence_pattern is not null as is_recurring, t.created_at, t.updated_at`;
const DETAIL = `${SUMMARY}, t.description, t.created_by_id, t.started_at, t.completed_at, t.recurrence_pattern,
  t.recurrence_max, t.recurring_root_id, t.spawn_count, t.version`;

const summary = (r) => ({
  id: r.id, project_id: r.project_id, title: r.title, status: r.status, priority: r.priority, progress_percent: r.progress_percent, tags: r.tags,
  assignee_id: r.assignee_id, assignee_handle: r.assignee_handle, due_date: r.due_date, parent_task_id: r.parent_task_id,
  subtask_count: r.subtask_count, is_recurring: r.is_recurring, created_at: r.created_at, updated_at: r.updated_at,
});
const detail = (r, subtasks) => ({
  ...summary(r), description: r.description, created_by_id: r.created_by_id,
  started_at: r.started_at, completed_at: r.completed_at, recurring_root_id: r.recurring_root_id, spawn_count: r.spawn_count,
  recurrence: r.recurrence_pattern ? { pattern: r.recurrence_pattern, max_occurrences: r.recurrence_max } : null,
  subtasks: subtasks.map(summary),
});

// W1: membership + the newest page (limit + 1 rows; keyset cursor over (created_at, id) like the server).
async function listTasks(who, projectId, url) {
  const limit = Math.min(Math.max(Number(url.searchParams.get('limit') ?? 50) || 50, 1), 100);
  await requireMember(pool, who, projectId);
  const { rows } = await pool.query(
    `select ${SUMMARY}, (extract(epoch from t.created_at) * 1000000)::int8 as created_at_us,
            (extract(epoch from t.due_date) * 1000000)::int8 as due_date_us, t.priority_rank
     from task t left join worker a on a.id = t.assignee_id
     where t.project_id = $1 and t.tenant_id = $2 order by t.created_at desc, t.id desc limit $3`,
    [projectId, who.tenantId, limit + 1]);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const next = rows.length > limit ? Buffer.from(JSON.stringify(['-created_at', last.created_at_us, last.id])).toString('base64url') : null;
  return [200, { items: page.map(summary), next_cursor: next }];
}

// W2: the task (visible through membership) and its direct subtasks.
async function getTask(who, taskId) {
  const { rows } = await pool.query(
    `select ${DETAIL} from task t join member m on m.project_id = t.project_id and m.worker_id = $2
     left join worker a on a.id = t.assignee_id where t.id = $1 and t.tenant_id = $3`, [taskId, who.workerId, who.tenantId]);
  if (!rows[0]) throw new HttpError(404, 'Task not found');
  const subtasks = await pool.query(
    `select ${SUMMARY} from task t left join worker a on a.id = t.assignee_id
     where t.parent_task_id = $1 order by t.created_at, t.id`, [taskId]);
  return [200, detail(rows[0], subtasks.rows), { etag: `"${rows[0].version}"` }];
}

// W3: membership, assignee check, insert, audit entry — one transaction.
async function createTask(who, projectId, body) {
  if (typeof body?.title !== 'string' || !body.title.trim() || body.title.length > 200) throw new HttpError(422, 'title');
  const db = await pool.connect();
  try {
    await db.query('begin');
    await requireMember(db, who, projectId);
    if (body.assignee_id != null) {
      const { rowCount } = await db.query('select 1 from member where project_id = $1 and worker_id = $2', [projectId, body.assignee_id]);
      if (!rowCount) throw new HttpError(422, 'assignee_id');
    }
    const { rows: [id] } = await db.query(
      `insert into task (tenant_id, project_id, title, description, priority, tags, assignee_id, due_date, created_by_id)
       values ($1, $2, $3, $4, coalesce($5, 'medium'), coalesce($6, '{}'::text[]), $7, $8, $9) returning id`,
      [who.tenantId, projectId, body.title.trim(), body.description ?? null, body.priority ?? null, body.tags ?? null,
        body.assignee_id ?? null, body.due_date ?? null, who.workerId]);
    await db.query(
      `insert into audit_log (tenant_id, project_id, entity_type, entity_id, action, actor_id, actor_handle, actor_type, details)
       values ($1, $2, 'task', $3, 'task_created', $4, $5, 'human', $6)`,
      [who.tenantId, projectId, id.id, who.workerId, who.handle, { title: body.title.trim(), priority: body.priority ?? 'medium' }]);
    const { rows } = await db.query(`select ${DETAIL} from task t left join worker a on a.id = t.assignee_id where t.id = $1`, [id.id]);
    await db.query('commit');
    return [201, detail(rows[0], []), { location: `/api/tasks/${id.id}` }];
  } catch (err) {
    await db.query('rollback').catch(() => {});
    throw err;
  } finally {
    db.release();
  }
}

serve({ name: 'baseline', env, pool, caller, listTasks, createTask, getTask });
