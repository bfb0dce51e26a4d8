-- Up Migration

-- claimNextTask picks the most urgent pending, unassigned task of a project: highest priority, then earliest due
-- date (none last), then oldest. Without an index in that order PostgreSQL combined two bitmaps (the project's
-- rows of task_project_priority_idx and every unassigned task of the database from task_assignee_created_idx),
-- read each match from the heap and sorted them to take one: a few milliseconds on a project of a few thousand
-- tasks, growing with it. task_claimable_idx holds only the claimable tasks, in the claim's order, so the pick
-- walks from its first entry and stops at the first row it can lock (skip locked steps over rows others hold).
--
-- task_assignee_created_idx no longer holds unassigned tasks: the claim's bitmap was its only use of the nulls.
-- Every other use asks for one assignee with `=` (the "my work" list with assignee_id=me, the cascade of
-- task_assignee_member_fkey when a member leaves), which implies not null. So a task created unassigned and
-- pending writes one entry here instead of one there; a task that starts, completes or is assigned leaves this
-- index; an update of an unassigned task that is not pending writes one index entry fewer than before.
drop index task_assignee_created_idx;
create index task_assignee_created_idx on task (assignee_id, created_at, id) where assignee_id is not null;
create index task_claimable_idx on task (project_id, priority_rank desc, due_date asc nulls last, created_at, id)
  where status = 'pending' and assignee_id is null;

-- Down Migration
drop index task_claimable_idx;
drop index task_assignee_created_idx;
create index task_assignee_created_idx on task (assignee_id, created_at, id);
