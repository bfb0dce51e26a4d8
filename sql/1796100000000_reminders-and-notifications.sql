-- Up Migration

-- Where each consumer of the event log is (src/events/follower.ts): one row per consumer, locked by the
-- instance processing the next batch, so batches are processed one at a time and the position moves in the
-- same transaction as what the batch wrote. New consumers start at the log's end when they are created.
create table event_consumer_position (
  consumer   text primary key,
  xid        xid8 not null,
  audit_id   bigint not null
);
insert into event_consumer_position (consumer, xid, audit_id)
values ('reminders', pg_current_xact_id(), 0), ('notifications', pg_current_xact_id(), 0);

-- Due-date reminders (src/reminders): one row per task, tier and due date. Scheduled from the event log,
-- claimed when due with FOR UPDATE SKIP LOCKED by any instance, and marked fired in the transaction that
-- writes its `reminder_due` audit entry: a tier fires once per due date. A changed due date gets new rows
-- (the unfired old ones are deleted); deleting the task deletes its reminders.
create table reminder (
  id            bigint generated always as identity primary key,
  task_id       bigint not null references task (id) on delete cascade,
  tier_seconds  integer not null,
  due_date      timestamptz not null,
  fire_at       timestamptz not null,
  fired_at      timestamptz,
  constraint reminder_tier_positive check (tier_seconds > 0),
  constraint reminder_task_tier_due_key unique (task_id, tier_seconds, due_date)
);
create index reminder_pending_idx on reminder (fire_at) where fired_at is null;

-- The notification inbox (src/notifications), produced from the event log: at most one notification per event
-- and recipient, whatever the retries.
create table notification (
  id            bigint generated always as identity primary key,
  tenant_id     text not null,
  recipient_id  bigint not null references worker (id) on delete cascade,
  event_id      bigint not null,
  type          text not null,
  project_id    bigint,
  task_id       bigint,
  task_title    text not null,
  actor_id      bigint,
  actor_handle  text not null,
  actor_type    text not null,
  data          jsonb not null default '{}',
  read_at       timestamptz,
  created_at    timestamptz not null default now(),
  constraint notification_type_check check (type in (
    'task_assigned', 'task_review', 'task_completed', 'task_rejected', 'task_deleted', 'task_spawned', 'task_reminder')),
  constraint notification_event_recipient_key unique (event_id, recipient_id)
);
create index notification_recipient_idx on notification (recipient_id, id);
create index notification_unread_idx on notification (recipient_id, id) where read_at is null;
create index notification_created_idx on notification (created_at);

-- Down Migration
drop table notification;
drop table reminder;
drop table event_consumer_position;
