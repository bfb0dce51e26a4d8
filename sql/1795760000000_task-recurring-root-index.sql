-- Up Migration

-- Deleting a task sets recurring_root_id to null in the rest of its series (on delete set null). Without an
-- index that check scans the whole task table once per deleted row: a project delete with a few thousand tasks
-- took minutes on 100,000 tasks.
create index task_recurring_root_idx on task (recurring_root_id) where recurring_root_id is not null;

-- Down Migration
drop index task_recurring_root_idx;
