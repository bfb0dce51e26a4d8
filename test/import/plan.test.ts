import { parsePhase1, toTimestamptz } from '../../src/import/phase1.js';
import { mapAction } from '../../src/import/actions.js';
import { planImport, type Plan } from '../../src/import/plan.js';

/** The pure half of the import: what is tolerated, what is refused, and the order things are written in. */

const base = () => ({
  projects: [{ slug: 'app', name: 'App', description: '' }, { slug: 'ops', name: 'Ops' }],
  workers: [
    { id: '@sarah', type: 'human', name: 'Sarah', agent_type: null, capabilities: [], created_at: '2025-12-01T09:00:00.123456' },
    { id: '@claude', type: 'agent', name: 'Claude', agent_type: 'claude', capabilities: ['coding'], created_at: '2025-12-01T09:00:00' },
  ],
  tasks: [
    { id: 3, title: 'Grandchild', status: 'pending', project_slug: 'app', parent_id: 2, created_by: '@claude', created_at: '2025-12-03T10:00:00' },
    { id: 2, title: 'Child', status: 'review', project_slug: 'app', parent_id: 1, created_by: '@sarah', assigned_to: '@claude', created_at: '2025-12-02T10:00:00' },
    { id: 1, title: 'Root', status: 'completed', project_slug: 'app', parent_id: null, created_by: '@sarah', created_at: '2025-12-01T10:00:00', updated_at: '2025-12-05 10:00:00' },
  ] as Record<string, unknown>[],
  audit_logs: [
    { id: 1, task_id: 1, project_slug: 'app', actor_id: '@sarah', actor_type: 'human', action: 'created', context: { title: 'Root' }, timestamp: '2025-12-01T10:00:00' },
    { id: 2, task_id: 1, project_slug: 'app', actor_id: '@sarah', actor_type: 'human', action: 'started', context: { status: 'in_progress' }, timestamp: '2025-12-01T11:00:00' },
    { id: 3, task_id: 1, project_slug: 'app', actor_id: '@claude', actor_type: 'agent', action: 'progressed', context: { progress_percent: 40, note: 'half' }, timestamp: '2025-12-01T12:00:00' },
    { id: 4, task_id: 1, project_slug: 'app', actor_id: '@sarah', actor_type: 'human', action: 'completed', context: { status: 'completed' }, timestamp: '2025-12-04T10:00:00Z' },
    { id: 5, task_id: null, project_slug: 'ops', actor_id: '@sarah', actor_type: 'human', action: 'renamed', context: {}, timestamp: '2025-12-01T08:00:00+02:00' },
  ] as Record<string, unknown>[],
});

function plan(file: unknown): Plan {
  const planned = planImport(parsePhase1(file));
  if (!planned.ok) throw new Error(planned.errors.join('\n'));
  return planned.plan;
}

function errors(file: unknown): string[] {
  const planned = planImport(parsePhase1(file));
  if (planned.ok) throw new Error('expected the file to be refused');
  return planned.errors;
}

describe('Phase I file → import plan', () => {
  it('puts parents before their subtasks whatever the order in the file', () => {
    expect(plan(base()).taskLevels.map((level) => level.map((t) => t.key))).toEqual([['phase1:1'], ['phase1:2'], ['phase1:3']]);
  });

  it('reads naive timestamps as UTC, keeps microseconds and zones, and takes a bare date as a due date', () => {
    expect(toTimestamptz('2025-12-01T09:00:00.123456', false)).toBe('2025-12-01T09:00:00.123456+00:00');
    expect(toTimestamptz('2025-12-01 09:00', false)).toBe('2025-12-01T09:00:00+00:00');
    expect(toTimestamptz('2025-12-01T09:00:00+0530', false)).toBe('2025-12-01T09:00:00+05:30');
    expect(toTimestamptz('2026-03-01', true)).toBe('2026-03-01T00:00:00+00:00');
    expect(toTimestamptz('2026-03-01', false)).toBeNull();
    expect(toTimestamptz('2026-02-30T10:00:00', false)).toBeNull();
    expect(toTimestamptz('yesterday', true)).toBeNull();
  });

  it('is tolerant where nothing is lost: defaults, trimmed and repeated tags, recurrence in any case', () => {
    const file = base();
    Object.assign(file.tasks[2]!, { tags: [' ops ', 'ops', '', 'q1'], recurrence: 'Weekly', due_date: '2026-03-01', description: '  ' });
    Object.assign(file.tasks[1]!, { recurrence: { pattern: 'monthly', max_occurrences: 3 } });
    const root = plan(file).taskLevels[0]![0]!;
    expect(root).toMatchObject({
      tags: ['ops', 'q1'], recurrencePattern: 'weekly', recurrenceMax: null, dueDate: '2026-03-01T00:00:00+00:00',
      description: null, priority: 'medium', progress: 0, updatedAt: '2025-12-05T10:00:00+00:00',
    });
    expect(plan(file).taskLevels[1]![0]).toMatchObject({ recurrencePattern: 'monthly', recurrenceMax: 3 });
  });

  it('recovers started_at and completed_at from the history', () => {
    expect(plan(base()).taskLevels[0]![0]).toMatchObject({
      startedAt: '2025-12-01T11:00:00+00:00',
      completedAt: '2025-12-04T10:00:00+00:00',
    });
  });

  it('maps Phase I verbs onto the contract\'s actions, keeping the original word and shaping status changes', () => {
    const audit = plan(base()).audit;
    expect(audit.map((a) => a.phase1Id)).toEqual([5, 1, 2, 3, 4]); // time order: 08:00+02:00 is 06:00Z
    expect(audit.find((a) => a.phase1Id === 2)).toMatchObject({
      action: 'status_changed', details: { status: { before: 'pending', after: 'in_progress' }, phase1_id: 2, phase1_action: 'started' },
    });
    expect(audit.find((a) => a.phase1Id === 3)!.details).toEqual({
      progress_percent: { before: 0, after: 40 }, note: 'half', phase1_id: 3, phase1_action: 'progressed',
    });
    expect(audit.find((a) => a.phase1Id === 4)!.details.status).toEqual({ before: 'in_progress', after: 'completed' });
    expect(audit.find((a) => a.phase1Id === 5)).toMatchObject({ action: 'project_updated', taskKey: null, details: { phase1_action: 'renamed' } });
    expect(mapAction('task', 'approved')).toBe('approved');
    expect(mapAction('task', 'subtask_created')).toBe('task_created');
    expect(mapAction('task', 'delegated')).toBe('assigned');
    expect(mapAction('task', 'something_new')).toBe('task_updated');
  });

  it('makes creators and assignees members of the task\'s project', () => {
    expect(plan(base()).members).toEqual(new Map([['app', ['@claude', '@sarah']], ['ops', []]]));
  });

  it('refuses what would be wrong, naming each record by its position', () => {
    const file = base();
    file.projects.push({ slug: 'app', name: 'Again' });
    file.workers.push({ id: '@bot', type: 'agent', name: 'Bot', agent_type: null, capabilities: [], created_at: '2025-12-01T09:00:00' });
    Object.assign(file.tasks[0]!, { title: 'x'.repeat(201) });
    Object.assign(file.tasks[1]!, { priority: 'urgent', recurrence: 'fortnightly' });
    file.tasks.push({ id: 9, title: 'Elsewhere', status: 'pending', project_slug: 'ops', parent_id: 1, created_by: '@sarah', created_at: '2025-12-01T10:00:00' });
    file.tasks.push({ id: 1, title: 'Dup', status: 'pending', project_slug: 'ops', created_by: '@sarah', created_at: 'soon' });
    file.audit_logs.push({ id: 6, task_id: 77, project_slug: null, actor_id: '@sarah', actor_type: 'human', action: 'deleted', context: {}, timestamp: '2025-12-01T10:00:00' });
    expect(errors(file)).toEqual([
      'projects[2].slug: "app" is already projects[0]',
      'workers[2].agent_type: is required for an agent',
      'tasks[0].title: must be at most 200 characters (TaskFlow\'s limit)',
      'tasks[1].priority: must be one of low, medium, high, critical (got "urgent")',
      'tasks[1].recurrence: pattern must be one of hourly, daily, weekly, monthly (got "fortnightly")',
      'tasks[3].parent_id: task 1 is in project "app", not "ops"',
      'tasks[4].created_at: must be a date-time like 2026-03-01T09:30:00 (got "soon")',
      'audit_logs[5].task_id: no task 77 in tasks, and no project_slug to keep the entry on',
    ]);
  });

  it('reports a cycle on every task in it, and not again on their subtasks', () => {
    const file = base();
    file.tasks.push({ id: 4, title: 'Loop A', status: 'pending', project_slug: 'ops', parent_id: 5, created_by: '@sarah', created_at: '2025-12-01T10:00:00' });
    file.tasks.push({ id: 5, title: 'Loop B', status: 'pending', project_slug: 'ops', parent_id: 4, created_by: '@sarah', created_at: '2025-12-01T10:00:00' });
    file.tasks.push({ id: 6, title: 'Under the loop', status: 'pending', project_slug: 'ops', parent_id: 5, created_by: '@sarah', created_at: '2025-12-01T10:00:00' });
    file.tasks.push({ id: 7, title: 'Own parent', status: 'pending', project_slug: 'ops', parent_id: 7, created_by: '@sarah', created_at: '2025-12-01T10:00:00' });
    expect(errors(file)).toEqual([
      'tasks[3].parent_id: task 4 is its own ancestor (4 → 5 → 4)',
      'tasks[4].parent_id: task 5 is its own ancestor (4 → 5 → 4)',
      'tasks[6].parent_id: task 7 is its own ancestor (7 → 7)',
    ]);
  });

  it('keeps the entries of tasks Phase I deleted on their project', () => {
    const file = base();
    file.audit_logs.push({ id: 6, task_id: 77, project_slug: 'ops', actor_id: '@sarah', actor_type: 'human', action: 'deleted', context: { title: 'Gone' }, timestamp: '2025-12-06T10:00:00' });
    const p = plan(file);
    expect(p.auditOfMissingTasks).toBe(1);
    expect(p.audit.at(-1)).toMatchObject({
      projectSlug: 'ops', taskKey: null, action: 'task_deleted', details: { title: 'Gone', phase1_id: 6, phase1_action: 'deleted', phase1_task_id: 77 },
    });
  });

  it('answers a file that is not Phase I data with one clear line', () => {
    expect(errors([1, 2])).toEqual(['(file): must be a JSON object with projects, workers, tasks and audit_logs']);
    expect(plan({})).toMatchObject({ projects: [], taskLevels: [], audit: [] });
  });
});
