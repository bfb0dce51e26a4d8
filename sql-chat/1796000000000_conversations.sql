-- Up Migration

-- The conversations database of /chatkit: kept apart from the task database (own pool, own migrations), so an
-- outage or a slow query here never touches task operations. Threads belong to one user of one tenant; the ids
-- are the protocol's strings (thr_…, msg_…, atc_…).
create table chat_thread (
  id text primary key,
  tenant_id text not null,
  user_id text not null,
  title text,
  status jsonb not null default '{"type": "active"}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
-- threads.list: the caller's threads in creation order, keyset-paged on (created_at, id)
create index chat_thread_owner_idx on chat_thread (tenant_id, user_id, created_at, id);

-- Items in the order they were added: seq is the keyset for items.list and survives equal timestamps.
create table chat_item (
  seq bigint generated always as identity primary key,
  id text not null constraint chat_item_id_key unique,
  thread_id text not null references chat_thread (id) on delete cascade,
  type text not null,
  -- The item as the protocol sends it, without id, thread_id and created_at (columns of their own).
  body jsonb not null,
  created_at timestamptz not null default now()
);
create index chat_item_thread_idx on chat_item (thread_id, seq);

-- Attachment metadata (attachments.create); the bytes are not stored by this server.
create table chat_attachment (
  id text primary key,
  tenant_id text not null,
  user_id text not null,
  name text not null,
  mime_type text not null,
  size bigint not null check (size >= 0),
  created_at timestamptz not null default now()
);
create index chat_attachment_owner_idx on chat_attachment (tenant_id, user_id);

-- Down Migration
drop table chat_attachment;
drop table chat_item;
drop table chat_thread;
