-- Up Migration

-- The Phase I import (src/import) must be able to run twice without creating anything twice. Projects and
-- workers have natural keys (slug and handle per tenant); tasks have none (titles repeat), so an imported task
-- remembers where it came from: `phase1:<Phase I task id>`. Unique per project, not per tenant, because two
-- Phase I files both number their tasks from 1 and only collide if they also share the project's slug.
-- Null for every task created through the API; the partial index keeps those out.
alter table task add column import_key text;
alter table task add constraint task_import_key_length check (char_length(import_key) between 1 and 200);
create unique index task_project_import_key on task (project_id, import_key) where import_key is not null;

-- Down Migration
drop index task_project_import_key;
alter table task drop constraint task_import_key_length;
alter table task drop column import_key;
