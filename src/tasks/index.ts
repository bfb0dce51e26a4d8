import type { Db } from '../db/index.js';
import { listTasksWithSubtasksByIds } from './tasks.sql.js';
import { toTask } from './to-task.js';

export { toTask, toTaskSummary } from './to-task.js';

/** Tasks as the API shows them (with their first embedded subtasks), by id; deleted ones are absent from the map. */
export async function loadTasks(db: Db, ids: readonly number[]): Promise<Map<number, ReturnType<typeof toTask>>> {
  const rows = await listTasksWithSubtasksByIds(db, [...new Set(ids)]);
  return new Map(rows.map((row) => [row.id, toTask(row, row.subtasks)]));
}
