-- Up Migration

-- What a human needs to act on is on the task itself, not only in the audit trail: the latest rejection (why,
-- by whom, when) and the latest progress note. The audit trail keeps every one of them; these columns keep the
-- newest, written in the same transaction as the change and its audit entry.
alter table task
  add column last_rejection_reason text,
  add column last_rejected_by_id   bigint references worker (id) on delete set null,
  add column last_rejected_at      timestamptz,
  add column last_progress_note    text,
  add column last_progress_note_at timestamptz,
  add constraint task_last_rejection_reason_length check (char_length(last_rejection_reason) <= 500),
  add constraint task_last_progress_note_length check (char_length(last_progress_note) <= 500);

-- Tasks rejected or given a progress note before this migration: the newest such entry of their trail.
update task t set last_rejection_reason = r.details ->> 'reason',
                  last_rejected_by_id = (select w.id from worker w where w.id = r.actor_id),
                  last_rejected_at = r.created_at
from (select distinct on (entity_id) entity_id, details, actor_id, created_at
      from audit_log where entity_type = 'task' and action = 'rejected'
      order by entity_id, id desc) r
where r.entity_id = t.id;
update task t set last_progress_note = n.details ->> 'note', last_progress_note_at = n.created_at
from (select distinct on (entity_id) entity_id, details, created_at
      from audit_log where entity_type = 'task' and action = 'progress_updated' and details ? 'note'
      order by entity_id, id desc) n
where n.entity_id = t.id;

-- Down Migration
alter table task
  drop constraint task_last_progress_note_length,
  drop constraint task_last_rejection_reason_length,
  drop column last_progress_note_at,
  drop column last_progress_note,
  drop column last_rejected_at,
  drop column last_rejected_by_id,
  drop column last_rejection_reason;
