/**
 * What the API left in this test file's database: row counts to prove a refused write changed nothing, the audit
 * trail of an entity, and a task's stored row. Tests read the database only through here (and factories.ts).
 */
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import type { TestApp } from './app.js';

/** Every table the API writes. */
export const TABLES = ['worker', 'project', 'member', 'task', 'audit_log', 'idempotency_key'] as const;
export type RowCounts = Record<(typeof TABLES)[number], number>;

const CountsRow = z.object(Object.fromEntries(TABLES.map((t) => [t, z.number()])) as Record<(typeof TABLES)[number], z.ZodNumber>);

/** Row counts of every table the API writes, in one statement (one snapshot): compare before and after a refused write. */
export async function rowCounts(pool: DatabasePool): Promise<RowCounts> {
  const columns = TABLES.map((t) => sql.fragment`(select count(*) from ${sql.identifier([t])})::int as ${sql.identifier([t])}`);
  return pool.one(sql.type(CountsRow)`select ${sql.join(columns, sql.fragment`, `)}`);
}

const AuditRow = z.object({
  action: z.string(),
  entity_type: z.string(),
  entity_id: z.number(),
  project_id: z.number().nullable(),
  actor_id: z.number().nullable(),
  actor_handle: z.string(),
  details: z.record(z.string(), z.unknown()),
});
export type AuditRow = z.infer<typeof AuditRow>;

/** Audit entries about one entity, oldest first. */
export const auditOf = (t: TestApp, entityType: string, entityId: number) =>
  t.pool.any(sql.type(AuditRow)`
    select action, entity_type, entity_id, project_id, actor_id, actor_handle, details
    from audit_log where entity_type = ${entityType} and entity_id = ${entityId} order by id`);

/** Audit entries about one task, oldest first. */
export const taskAudit = (t: TestApp, taskId: number) => auditOf(t, 'task', taskId);

/** The actions of a task's audit entries, oldest first. */
export const actionsOf = async (t: TestApp, taskId: number) => (await taskAudit(t, taskId)).map((a) => a.action);

const TaskDbRow = z.object({
  id: z.number(),
  project_id: z.number(),
  parent_task_id: z.number().nullable(),
  title: z.string(),
  description: z.string().nullable(),
  status: z.string(),
  priority: z.string(),
  progress_percent: z.number(),
  tags: z.array(z.string()),
  assignee_id: z.number().nullable(),
  due_date: z.string().nullable(),
  recurrence_pattern: z.string().nullable(),
  recurrence_max: z.number().nullable(),
  recurring_root_id: z.number().nullable(),
  spawned_from_id: z.number().nullable(),
  spawn_count: z.number(),
  created_by_id: z.number(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  version: z.number(),
});
export type TaskDbRow = z.infer<typeof TaskDbRow>;

const TASK_DB_COLUMNS = sql.fragment`id, project_id, parent_task_id, title, description, status, priority, progress_percent, tags,
  assignee_id, due_date, recurrence_pattern, recurrence_max, recurring_root_id, spawned_from_id, spawn_count, created_by_id,
  started_at, completed_at, version`;

/** A task as stored, or null once deleted. */
export const taskRow = (t: TestApp, id: number) =>
  t.pool.maybeOne(sql.type(TaskDbRow)`select ${TASK_DB_COLUMNS} from task where id = ${id}`);

/** Occurrences spawned from a task (0 or 1, by the unique constraint). */
export const spawnedFrom = (t: TestApp, id: number) =>
  t.pool.any(sql.type(TaskDbRow)`select ${TASK_DB_COLUMNS} from task where spawned_from_id = ${id}`);
