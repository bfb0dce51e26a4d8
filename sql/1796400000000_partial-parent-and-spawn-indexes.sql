-- Up Migration

-- task_parent_idx (parent_task_id, id) and task_spawned_from_key (spawned_from_id) held an entry for every task,
-- though almost every task is top-level and was never spawned from another: a null in either column is never
-- looked up through them. Everything that uses them asks for one value with `=` (a task's subtasks and their
-- count, the foreign keys' cascades, `on conflict (spawned_from_id)` of a recurring series' next occurrence),
-- which implies the column is not null, so both now index only the rows that have a value. A task created
-- without a parent (every task but a subtask, and every occurrence but a spawned one) skips both: two fewer index
-- entries of the fifteen an insert writes. Nothing ever asks these indexes for `is null`: the list filter
-- parent_task_id=none walks the page's own sort index and checks the column per row (list-plans.test.ts).
--
-- A pgbench of a task insert (8 clients, prepared, the 100,000-task bench data on PostgreSQL 15), alternating
-- runs of 8 s: 6,330–6,850 inserts a second with the partial indexes against 5,520–6,450 with the full ones.
-- The unique index keeps the constraint's name, which is what a second spawn from the same task is refused with.
drop index task_parent_idx;
create index task_parent_idx on task (parent_task_id, id) where parent_task_id is not null;
alter table task drop constraint task_spawned_from_key;
create unique index task_spawned_from_key on task (spawned_from_id) where spawned_from_id is not null;

-- Down Migration
drop index task_spawned_from_key;
alter table task add constraint task_spawned_from_key unique (spawned_from_id);
drop index task_parent_idx;
create index task_parent_idx on task (parent_task_id, id);
