import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import type { components } from '../../generated/api.js';
import * as scalars from '../../src/db/scalars.js';
import { CONTRACT_PATH } from '../../src/paths.js';

type Schema = { enum?: string[]; properties?: Record<string, Schema> };
const schemas = (yaml.load(readFileSync(CONTRACT_PATH, 'utf8')) as { components: { schemas: Record<string, Schema> } }).components.schemas;
const enumOf = (name: string, property?: string) => (property ? schemas[name]?.properties?.[property]?.enum : schemas[name]?.enum) ?? [];

describe('the contract enums in src/db/scalars.ts', () => {
  it.each([
    ['TASK_STATUSES', 'TaskStatus', null],
    ['TASK_PRIORITIES', 'TaskPriority', null],
    ['RECURRENCE_PATTERNS', 'RecurrencePattern', null],
    ['WORKER_TYPES', 'WorkerType', null],
    ['AGENT_TYPES', 'AgentType', null],
    ['MEMBER_ROLES', 'MemberRole', null],
    ['ACTOR_TYPES', 'ActorType', null],
    ['AUDIT_ENTITY_TYPES', 'AuditEntityType', null],
    ['AUDIT_ACTIONS', 'AuditAction', null],
    ['EVENT_TYPES', 'EventType', null],
    ['NOTIFICATION_TYPES', 'NotificationType', null],
    ['DELIVERY_STATUSES', 'WebhookDelivery', 'status'],
  ] as const)('%s lists exactly the values of the contract\'s %s', (constant, schema, property) => {
    // Every row has three cells: with fewer, jest would pass its done callback as `property`.
    const contract = enumOf(schema, property ?? undefined);
    expect(contract.length).toBeGreaterThan(1);
    expect([...(scalars[constant] as readonly string[])].sort()).toEqual([...contract].sort());
  });

  it('does not compile with a value missing or one the contract lacks (checked by make typecheck)', () => {
    type Status = components['schemas']['TaskStatus'];
    // @ts-expect-error 'blocked' is missing: a value the contract gained fails tsc until it is listed
    const missing = scalars.valuesOf<Status>()(['pending', 'in_progress', 'review', 'completed']);
    // @ts-expect-error 'done' is not a TaskStatus of the contract
    const extra = scalars.valuesOf<Status>()(['pending', 'in_progress', 'review', 'completed', 'blocked', 'done']);
    expect([missing.length, extra.length]).toEqual([4, 6]);
  });
});
