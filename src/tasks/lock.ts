import type { Db } from '../db/index.js';
import { assertIfMatch } from '../http/preconditions.js';
import { ProblemError } from '../http/problem.js';
import type { Principal } from '../http/principal.js';
import { lockVisibleTask, type TaskRow } from './tasks.sql.js';

export const taskNotFound = (taskId: number) =>
  new ProblemError('task-not-found', { detail: `Task ${taskId} does not exist or you are not a member of its project` });

/** Locks the task for this transaction (see lockVisibleTask): missing or not yours is the same 404; a stale If-Match is a 412. */
export async function lockTask(
  tx: Db, who: Principal, taskId: number, ifMatch: string | string[] | undefined, options: { seriesRootFirst?: boolean } = {},
): Promise<TaskRow> {
  const task = await lockVisibleTask(tx, who, taskId, options);
  if (!task) throw taskNotFound(taskId);
  assertIfMatch(ifMatch, task.version);
  return task;
}
