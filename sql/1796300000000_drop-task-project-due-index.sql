-- Up Migration

-- task_project_due_idx (project_id, due_date, id) duplicated what task_project_due_desc_nulls_last_idx
-- (project_id, (due_date is not null), due_date, id) already answers, and cost every insert of a task and every
-- change of a due date one more index entry (16 indexes on task; 15 after this). Its two uses, checked with
-- EXPLAIN (ANALYZE) on the 100,000-task bench data:
--
--   due_before / due_after   the filter now also says `due_date is not null` (which `<` and `>=` imply), so the
--                            range is an index condition on the desc_nulls_last index: (project, true, < date);
--                            the same rows (231 of the project's 2,000), a bitmap of the same size
--   project task counts      an index-only scan of another (project_id, …) index of the same width
--
-- A pgbench of createTask's statement (10 clients, prepared, on that data set) without ten of the task indexes ran
-- 58 % more inserts a second: each index is several percent of an insert.
drop index task_project_due_idx;

-- Down Migration
create index task_project_due_idx on task (project_id, due_date, id);
