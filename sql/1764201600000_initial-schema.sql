-- Up Migration

-- TaskFlow's data model. Names of constraints are part of the API: src/http/errors.ts maps them to problems.
-- Tenants are not a table: a tenant is the claim in the caller's JWT, and every row carries it.

create table worker (
  id           bigint generated always as identity primary key,
  tenant_id    text not null,
  type         text not null,
  user_id      text,                       -- JWT sub of a human; null for agents
  handle       text not null,
  name         text not null,
  email        text,
  agent_type   text,
  capabilities text[] not null default '{}',
  version      integer not null default 1,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  constraint worker_type_check check (type in ('human', 'agent')),
  constraint worker_handle_format check (handle ~ '^@[a-z0-9_-]+$' and char_length(handle) between 2 and 64),
  constraint worker_name_length check (char_length(name) between 1 and 200),
  constraint worker_agent_type_check check (
    (type = 'agent' and agent_type in ('claude', 'qwen', 'gemini', 'custom') and user_id is null)
    or (type = 'human' and agent_type is null and user_id is not null)),
  constraint worker_capabilities_count check (cardinality(capabilities) <= 20),
  constraint worker_tenant_handle_key unique (tenant_id, handle),
  constraint worker_tenant_user_key unique (tenant_id, user_id)
);

create table project (
  id          bigint generated always as identity primary key,
  tenant_id   text not null,
  slug        text not null,
  name        text not null,
  description text,
  owner_id    bigint not null references worker (id),
  is_default  boolean not null default false,
  version     integer not null default 1,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  constraint project_slug_format check (slug ~ '^[a-z0-9-]+$' and char_length(slug) between 1 and 100),
  constraint project_name_length check (char_length(name) between 1 and 200),
  constraint project_description_length check (char_length(description) <= 2000),
  constraint project_tenant_slug_key unique (tenant_id, slug)
);
-- One personal default project per user.
create unique index project_one_default_per_owner on project (owner_id) where is_default;
create index project_tenant_id_idx on project (tenant_id, id);

create table member (
  id         bigint generated always as identity primary key,
  project_id bigint not null references project (id) on delete cascade,
  worker_id  bigint not null references worker (id),
  role       text not null default 'member',
  joined_at  timestamptz not null default now(),
  constraint member_role_check check (role in ('owner', 'member')),
  constraint member_project_worker_key unique (project_id, worker_id)
);
create unique index member_one_owner_per_project on member (project_id) where role = 'owner';
create index member_worker_idx on member (worker_id, project_id);

create table task (
  id                 bigint generated always as identity primary key,
  tenant_id          text not null,
  project_id         bigint not null references project (id) on delete cascade,
  parent_task_id     bigint,
  title              text not null,
  description        text,
  status             text not null default 'pending',
  priority           text not null default 'medium',
  priority_rank      smallint generated always as (
                       case priority when 'critical' then 4 when 'high' then 3 when 'medium' then 2 else 1 end) stored,
  progress_percent   smallint not null default 0,
  tags               text[] not null default '{}',
  assignee_id        bigint,
  due_date           timestamptz,
  recurrence_pattern text,
  recurrence_max     integer,
  recurring_root_id  bigint references task (id) on delete set null,
  spawned_from_id    bigint references task (id) on delete set null,
  spawn_count        integer not null default 0,
  created_by_id      bigint not null references worker (id),
  started_at         timestamptz,
  completed_at       timestamptz,
  version            integer not null default 1,
  created_at         timestamptz not null default now(),
  updated_at         timestamptz not null default now(),
  constraint task_id_project_key unique (id, project_id),
  -- A parent lives in the same project; deleting it deletes its subtasks.
  constraint task_parent_same_project_fkey foreign key (parent_task_id, project_id)
    references task (id, project_id) on delete cascade,
  -- An assignee is a member of the task's project; removing the member unassigns.
  constraint task_assignee_member_fkey foreign key (project_id, assignee_id)
    references member (project_id, worker_id) on delete set null (assignee_id),
  constraint task_not_own_parent check (parent_task_id is distinct from id),
  constraint task_title_length check (char_length(title) between 1 and 200 and btrim(title) <> ''),
  constraint task_description_length check (char_length(description) <= 10000),
  constraint task_status_check check (status in ('pending', 'in_progress', 'review', 'completed', 'blocked')),
  constraint task_priority_check check (priority in ('low', 'medium', 'high', 'critical')),
  constraint task_progress_range check (progress_percent between 0 and 100),
  constraint task_tags_count check (cardinality(tags) <= 20),
  constraint task_recurrence_pattern_check check (recurrence_pattern in ('hourly', 'daily', 'weekly', 'monthly')),
  constraint task_recurrence_max_check check (recurrence_max >= 1 and recurrence_pattern is not null or recurrence_max is null),
  constraint task_spawn_count_check check (spawn_count >= 0),
  -- A recurring task spawns its next occurrence exactly once, whatever the races.
  constraint task_spawned_from_key unique (spawned_from_id)
);

-- Keyset pagination: one index per sort order, each ending in id so the cursor is total.
create index task_project_created_idx on task (project_id, created_at, id);
create index task_project_due_idx on task (project_id, due_date, id);
create index task_project_priority_idx on task (project_id, priority_rank, id);
create index task_project_title_idx on task (project_id, title, id);
create index task_parent_idx on task (parent_task_id, id);
create index task_assignee_created_idx on task (assignee_id, created_at, id);
create index task_tags_idx on task using gin (tags);

-- Subtask chains may be any depth but never a cycle. The API never re-parents, but the database refuses it anyway.
create function task_refuse_cycle() returns trigger language plpgsql as $$
begin
  if new.parent_task_id is not null and exists (
    with recursive ancestor(id, parent_task_id) as (
      select id, parent_task_id from task where id = new.parent_task_id
      union all
      select t.id, t.parent_task_id from task t join ancestor a on t.id = a.parent_task_id
    ) cycle id set is_cycle using path
    select 1 from ancestor where id = new.id
  ) then
    raise exception 'task % cannot be a subtask of its own descendant %', new.id, new.parent_task_id
      using errcode = '23514', constraint = 'task_no_cycle';
  end if;
  return new;
end $$;
create trigger task_no_cycle before update of parent_task_id on task
  for each row execute function task_refuse_cycle();

create table audit_log (
  id           bigint generated always as identity primary key,
  tenant_id    text not null,
  project_id   bigint,                      -- no foreign key: the trail outlives what it describes
  entity_type  text not null,
  entity_id    bigint not null,
  action       text not null,
  actor_id     bigint,
  actor_handle text not null,
  actor_type   text not null,
  details      jsonb not null default '{}',
  created_at   timestamptz not null default now(),
  constraint audit_entity_type_check check (entity_type in ('task', 'project', 'member', 'agent')),
  constraint audit_actor_type_check check (actor_type in ('human', 'agent', 'system'))
);
create index audit_entity_idx on audit_log (entity_type, entity_id, id);
create index audit_project_idx on audit_log (project_id, id);

create function audit_log_refuse_change() returns trigger language plpgsql as $$
begin
  raise exception 'audit_log is append-only (% refused)', tg_op using errcode = '42501';
end $$;
create trigger audit_log_append_only before update or delete on audit_log
  for each row execute function audit_log_refuse_change();
create trigger audit_log_no_truncate before truncate on audit_log
  for each statement execute function audit_log_refuse_change();

-- Stored responses of POSTs sent with an Idempotency-Key, shared by every instance of the API.
create table idempotency_key (
  tenant_id    text not null,
  user_id      text not null,
  key          text not null,
  request_hash text not null,
  status_code  integer,
  headers      jsonb,
  body         jsonb,
  created_at   timestamptz not null default now(),
  completed_at timestamptz,
  constraint idempotency_key_pkey primary key (tenant_id, user_id, key)
);
create index idempotency_key_created_idx on idempotency_key (created_at);

-- Down Migration
drop table idempotency_key;
drop trigger audit_log_no_truncate on audit_log;
drop table audit_log;
drop function audit_log_refuse_change();
drop table task;
drop function task_refuse_cycle();
drop table member;
drop table project;
drop table worker;
