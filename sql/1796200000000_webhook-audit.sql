-- Up Migration

-- Changes of a project's webhooks are audited like every other change (src/webhooks): created, updated
-- (including a secret rotation, never the secret itself), deleted, and disabled by the server when its
-- endpoint kept failing. The entries are also events (`webhook.*`) of the project.
alter table audit_log drop constraint audit_entity_type_check;
alter table audit_log add constraint audit_entity_type_check
  check (entity_type in ('task', 'project', 'member', 'agent', 'webhook'));

-- Down Migration

-- The trail is append-only (a trigger refuses deletes): rolling back this change is the one deliberate exception.
alter table audit_log disable trigger audit_log_append_only;
delete from audit_log where entity_type = 'webhook';
alter table audit_log enable trigger audit_log_append_only;
alter table audit_log drop constraint audit_entity_type_check;
alter table audit_log add constraint audit_entity_type_check
  check (entity_type in ('task', 'project', 'member', 'agent'));
