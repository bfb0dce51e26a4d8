-- Up Migration

-- Keyset pages of GET /api/projects/{id}/tasks sorted by due date. Tasks without a due date come last in both
-- directions, so the sort key is (has no due date, due date, id) ascending and (has a due date, due date, id)
-- descending (src/tasks/tasks-list.sql.ts): one row comparison each, which these indexes answer as a range
-- scan in the page's order. task_project_due_idx cannot: its NULLS LAST holds only ascending, and "after the
-- cursor, or without a due date" is an OR that no index range expresses.
create index task_project_due_nulls_last_idx on task (project_id, (due_date is null), due_date, id);
create index task_project_due_desc_nulls_last_idx on task (project_id, (due_date is not null), due_date, id);

-- GET /api/tasks ("my work") pages through every project the caller is a member of, newest first by default:
-- a backward scan of the tenant's tasks, keeping those of the caller's projects, stops after one page instead
-- of sorting all of them.
create index task_tenant_created_idx on task (tenant_id, created_at, id);

-- Down Migration
drop index task_tenant_created_idx;
drop index task_project_due_desc_nulls_last_idx;
drop index task_project_due_nulls_last_idx;
