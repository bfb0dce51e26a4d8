import type { QueryParams } from '../http/handler.js';
import { decodeCursor } from '../http/paging.js';
import type { Principal } from '../http/principal.js';
import { cursorKeySchema, type PageRequest, type TaskFilter, type TaskSort } from './tasks-list.sql.js';

const DEFAULT_LIMIT = 50;
const DEFAULT_SORT: TaskSort = '-created_at';

/** listMyTasks takes the same query, plus project_id. */
type ListQuery = QueryParams<'listProjectTasks'>;

/** The filters both task lists share, as the contract names them (`assignee_id=me` is the caller). */
export const filterOf = (who: Principal, query: ListQuery): TaskFilter => ({
  statuses: query.status,
  priorities: query.priority,
  assigneeId: query.assignee_id === undefined ? undefined : query.assignee_id === 'me' ? who.workerId : Number(query.assignee_id),
  tags: query.tags,
  q: query.q,
  dueBefore: query.due_before,
  dueAfter: query.due_after,
  hasDueDate: query.has_due_date,
  parentId: query.parent_task_id === undefined ? undefined : query.parent_task_id === 'none' ? null : Number(query.parent_task_id),
  updatedSince: query.updated_since,
});

/** Sort, limit and the decoded cursor: a cursor of another sort, or forged, is a 422 here, before any SQL. */
export function pageOf(query: ListQuery): PageRequest {
  const sort = query.sort ?? DEFAULT_SORT;
  const after = decodeCursor(query.cursor, sort, cursorKeySchema(sort));
  return { sort, limit: query.limit ?? DEFAULT_LIMIT, ...(after === undefined ? {} : { after }) };
}
