-- Up Migration

-- Keyset pages sorted by updated_at (sort=updated_at / -updated_at, and updated_since): a range scan of the
-- project's tasks, or for GET /api/tasks of the tenant's, in the page's order.
create index task_project_updated_idx on task (project_id, updated_at, id);
create index task_tenant_updated_idx on task (tenant_id, updated_at, id);

-- Down Migration
drop index task_tenant_updated_idx;
drop index task_project_updated_idx;
