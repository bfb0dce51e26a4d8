import type { Db } from '../db/index.js';
import { listSubtasksOf, listTasksByIds } from './tasks.sql.js';
import { toTask } from './to-task.js';

export { toTask, toTaskSummary } from './to-task.js';

/** Tasks as the API shows them (with their direct subtasks), by id; deleted ones are absent from the map. */
export async function loadTasks(db: Db, ids: readonly number[]): Promise<Map<number, ReturnType<typeof toTask>>> {
  const unique = [...new Set(ids)];
  const [rows, subtasks] = await Promise.all([listTasksByIds(db, unique), listSubtasksOf(db, unique)]);
  return new Map(rows.map((row) => [row.id, toTask(row, subtasks.filter((s) => s.parentTaskId === row.id))]));
}
