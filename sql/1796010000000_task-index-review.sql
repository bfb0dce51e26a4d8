-- Up Migration

-- Index review of `task` (17 indexes). Every index costs each insert and update of a task, and each one is a
-- candidate the planner weighs for every query on the table. Checked with the EXPLAIN shapes of
-- test/bench/explain.mjs on the 100,000-task bench data set and test/tasks/list-plans.test.ts:
--
--   task_pkey, task_id_project_key, task_spawned_from_key, task_project_import_key   constraints (and FK targets)
--   task_project_created_idx, _due_nulls_last_idx, _due_desc_nulls_last_idx,
--   _priority_idx, _title_idx                                                         the pages of every sort
--   task_project_due_idx                                                              due_before, project task counts
--   task_parent_idx                                                                   subtasks, subtask counts, cascades
--   task_tenant_created_idx, task_assignee_created_idx                                "my work" (GET /api/tasks)
--   task_project_updated_idx                                                          sort=updated_at / updated_since in a project
--   task_tenant_updated_idx                                                           the same across projects (a cold-start sync)
--   task_recurring_root_idx                                                           deletes (on delete set null)
--
-- task_tags_idx (GIN) is in no plan: the tag filter only runs inside one project (or one page of "my work"),
-- where walking the page's keyset index and checking `tags @>` per row is cheaper than a bitmap over the whole
-- tenant's tags; and a GIN index is the most expensive kind to maintain on insert.
drop index task_tags_idx;

-- Down Migration
create index task_tags_idx on task using gin (tags);
