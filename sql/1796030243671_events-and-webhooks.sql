-- Up Migration

-- The audit log is the event log. Its ids are taken when a row is inserted, but transactions commit in any order,
-- so "every id above the last one I saw" skips a row whose transaction commits late. Each row keeps the id of
-- the transaction that wrote it (one xid per transaction, assigned anyway by its first write), and readers
-- order by (xid, id) and read only below the visibility horizon, pg_snapshot_xmin(pg_current_snapshot()): no
-- transaction below it can still commit, so nothing can ever appear behind a position handed out. Writers pay
-- one default expression per audit row: no lock, no sequence, no trigger.
alter table audit_log add column xid xid8 not null default pg_current_xact_id();
create index audit_log_position_idx on audit_log (xid, id);

-- Outgoing webhooks of a project (src/webhooks). The secret is shown once; after a rotation the previous one
-- keeps signing (a second signature) until previous_secret_expires_at.
create table webhook (
  id                          bigint generated always as identity primary key,
  tenant_id                   text not null,
  project_id                  bigint not null references project (id) on delete cascade,
  url                         text not null,
  event_types                 text[] not null default '{}',
  active                      boolean not null default true,
  secret                      text not null,
  previous_secret             text,
  previous_secret_expires_at  timestamptz,
  failing_since               timestamptz,
  disabled_reason             text,
  disabled_at                 timestamptz,
  created_by_id               bigint not null references worker (id),
  version                     integer not null default 1,
  created_at                  timestamptz not null default now(),
  updated_at                  timestamptz not null default now(),
  constraint webhook_url_length check (char_length(url) between 8 and 2048),
  constraint webhook_event_types_count check (cardinality(event_types) <= 50)
);
create index webhook_project_idx on webhook (project_id, id);

-- One row per delivery attempt, written by the delivery job (src/webhooks/deliver.ts).
create table webhook_delivery (
  id             bigint generated always as identity primary key,
  webhook_id     bigint not null references webhook (id) on delete cascade,
  message_id     text not null,
  event_id       bigint,
  event_type     text not null,
  attempt        integer not null,
  status         text not null,
  status_code    integer,
  latency_ms     integer,
  error          text,
  response_body  text,
  attempted_at   timestamptz not null default now(),
  next_retry_at  timestamptz,
  constraint webhook_delivery_status_check check (status in ('succeeded', 'failed', 'retrying', 'refused')),
  constraint webhook_delivery_body_length check (octet_length(response_body) <= 1024),
  constraint webhook_delivery_attempt_key unique (webhook_id, message_id, attempt)
);
create index webhook_delivery_webhook_idx on webhook_delivery (webhook_id, id);

-- Where the webhook dispatcher is in the event log: one row, advanced with compare-and-set by any instance.
create table webhook_dispatch_position (
  singleton  boolean primary key default true check (singleton),
  xid        xid8 not null,
  audit_id   bigint not null
);
insert into webhook_dispatch_position (xid, audit_id) values (pg_current_xact_id(), 0);

-- Down Migration
drop table webhook_dispatch_position;
drop table webhook_delivery;
drop table webhook;
drop index audit_log_position_idx;
alter table audit_log drop column xid;
