import type { components } from '../../generated/api.js';

export type Event = components['schemas']['Event'];

/** Audit actions whose event type is not `<entity>.<action without the entity prefix>`. */
const RENAMED: Record<string, string> = {
  member_added: 'member.added',
  member_removed: 'member.removed',
  recurrence_spawned: 'task.spawned',
  agent_key_created: 'agent.key_created',
  agent_key_revoked: 'agent.key_revoked',
  webhook_disabled: 'webhook.disabled',
};

/**
 * Whether an audit entry is history written now at its original time — the Phase I import keeps each entry's
 * timestamp and marks it with `details.phase1_id` — rather than a change made when it was written. Streams and
 * webhooks deliver it like any other event (it is new to the log); the inbox and reminders, which act on what
 * happens now, do not take it for news.
 */
export const isImportedHistory = (details: Record<string, unknown>): boolean => details.phase1_id !== undefined;

/** The event type of an audit entry: `task_created` → `task.created`, `status_changed` → `task.status_changed`. */
export function eventTypeOf(entityType: string, action: string): string {
  const renamed = RENAMED[action];
  if (renamed) return renamed;
  const prefix = `${entityType}_`;
  return `${entityType}.${action.startsWith(prefix) ? action.slice(prefix.length) : action}`;
}

/** The audit actions of the given event types (the feed filters on the indexed audit columns). */
export function actionsOf(types: readonly string[]): string[] {
  return types.map((type) => {
    const renamed = Object.entries(RENAMED).find(([, t]) => t === type);
    if (renamed) return renamed[0];
    const [entity, change] = type.split('.') as [string, string];
    return ['created', 'updated', 'deleted'].includes(change) ? `${entity}_${change}` : change;
  });
}
