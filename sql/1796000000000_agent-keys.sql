-- Up Migration

-- Agents act through API keys. A key is shown once; only its SHA-256 hash is stored (found through the unique
-- index), with a short prefix so people can tell their keys apart. Revoking keeps the row (revoked_at), so a
-- list shows what was revoked and when; deleting the agent deletes its keys.
create table agent_key (
  id            bigint generated always as identity primary key,
  tenant_id     text not null,
  agent_id      bigint not null references worker (id) on delete cascade,
  name          text not null,
  prefix        text not null,
  secret_hash   bytea not null,
  created_by_id bigint not null references worker (id),
  created_at    timestamptz not null default now(),
  expires_at    timestamptz,
  last_used_at  timestamptz,
  revoked_at    timestamptz,
  constraint agent_key_name_length check (char_length(name) between 1 and 100),
  constraint agent_key_hash_length check (octet_length(secret_hash) = 32),
  constraint agent_key_secret_hash_key unique (secret_hash)
);
create index agent_key_agent_idx on agent_key (agent_id, id);

-- Who registered an agent: they may manage its keys. Agents registered before this column get their creator
-- from the audit trail's agent_created entry.
alter table worker add column created_by_id bigint references worker (id);
update worker w set created_by_id = a.actor_id
  from audit_log a
  where w.type = 'agent' and a.entity_type = 'agent' and a.entity_id = w.id and a.action = 'agent_created'
    and a.actor_type = 'human';

-- Through which OAuth client (the token's azp / client_id claim) a change was made, when the token names one.
alter table audit_log add column client text;
alter table audit_log add constraint audit_client_length check (char_length(client) <= 255);

-- Down Migration
alter table audit_log drop constraint audit_client_length;
alter table audit_log drop column client;
alter table worker drop column created_by_id;
drop table agent_key;
