import type { ActorType, AgentType, AuditAction, WorkerType } from '../db/index.js';
import { mapAction } from './actions.js';
import type { At, Parsed, Phase1AuditLog, Phase1Task } from './phase1.js';

/**
 * Turns a shape-checked Phase I file into what run.ts writes: cross-references checked, tasks in levels so a
 * parent is always inserted before its subtasks, audit entries in time order, start and completion times
 * recovered from the history. Pure: no database, so every rule here is tested without one.
 */

export interface PlanProject {
  position: number;
  slug: string;
  name: string;
  description: string | null;
}

export interface PlanWorker {
  position: number;
  handle: string;
  type: WorkerType;
  name: string;
  agentType: AgentType | null;
  capabilities: string[];
  createdAt: string | null;
}

export interface PlanTask {
  /** `task.import_key`: how a second run recognises the task. */
  key: string;
  phase1Id: number;
  projectSlug: string;
  parentKey: string | null;
  title: string;
  description: string | null;
  status: Phase1Task['status'];
  priority: Phase1Task['priority'];
  progress: number;
  assignee: string | null;
  createdBy: string;
  tags: string[];
  dueDate: string | null;
  recurrencePattern: string | null;
  recurrenceMax: number | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  completedAt: string | null;
}

export interface PlanAudit {
  phase1Id: number;
  projectSlug: string;
  /** Null for an entry about the project, or about a task Phase I had already deleted. */
  taskKey: string | null;
  action: AuditAction;
  actorHandle: string;
  actorType: ActorType;
  details: Record<string, unknown>;
  createdAt: string;
}

export interface Plan {
  projects: PlanProject[];
  workers: PlanWorker[];
  /** levels[0] are top-level tasks, levels[n] the subtasks of levels[n - 1]. */
  taskLevels: PlanTask[][];
  /** Per project slug: the handles that create or are assigned its tasks (the owner comes on top). */
  members: Map<string, string[]>;
  audit: PlanAudit[];
  /** Entries about tasks missing from the file (deleted in Phase I), kept on their project. */
  auditOfMissingTasks: number;
}

export const taskKey = (phase1Id: number): string => `phase1:${phase1Id}`;

const startedBy = (log: Phase1AuditLog) => log.action === 'started' || log.context.status === 'in_progress';
const completedBy = (log: Phase1AuditLog) =>
  log.action === 'completed' || log.action === 'approved' || log.context.status === 'completed';

const time = (ts: string) => Date.parse(ts);

export type Planned = { ok: true; plan: Plan } | { ok: false; errors: string[] };

const COLLECTIONS = ['(file)', 'projects', 'workers', 'tasks', 'audit_logs'];
/** File order: collection by collection, record by record, so an operator can fix the file top to bottom. */
const inFileOrder = (errors: string[]): string[] => {
  const key = (e: string) => {
    const m = /^([a-z_()]+)(?:\[(\d+)\])?/.exec(e);
    return [COLLECTIONS.indexOf(m?.[1] ?? ''), Number(m?.[2] ?? -1)] as const;
  };
  return errors
    .map((e, i) => ({ e, i, k: key(e) }))
    .sort((a, b) => a.k[0] - b.k[0] || a.k[1] - b.k[1] || a.i - b.i)
    .map(({ e }) => e);
};

export function planImport({ file, errors: shapeErrors, invalid }: Parsed): Planned {
  const errors: string[] = [...shapeErrors];

  const projectBySlug = new Map<string, At<{ slug: string }>>();
  for (const p of file.projects) {
    const first = projectBySlug.get(p.slug);
    if (first) errors.push(`projects[${p.position}].slug: "${p.slug}" is already projects[${first.position}]`);
    else projectBySlug.set(p.slug, p);
  }
  const hasProject = (slug: string) => projectBySlug.has(slug) || invalid.slugs.has(slug);

  const workerByHandle = new Map<string, At<{ id: string }>>();
  for (const w of file.workers) {
    const first = workerByHandle.get(w.id);
    if (first) errors.push(`workers[${w.position}].id: "${w.id}" is already workers[${first.position}]`);
    else workerByHandle.set(w.id, w);
  }
  const hasWorker = (handle: string) => workerByHandle.has(handle) || invalid.handles.has(handle);

  const taskById = new Map<number, At<Phase1Task>>();
  for (const t of file.tasks) {
    const first = taskById.get(t.id);
    if (first) errors.push(`tasks[${t.position}].id: ${t.id} is already tasks[${first.position}]`);
    else taskById.set(t.id, t);
  }
  const hasTask = (id: number) => taskById.has(id) || invalid.taskIds.has(id);

  for (const t of file.tasks) {
    const at = `tasks[${t.position}]`;
    if (!hasProject(t.project_slug)) errors.push(`${at}.project_slug: no project "${t.project_slug}" in projects`);
    if (t.assigned_to !== null && !hasWorker(t.assigned_to)) errors.push(`${at}.assigned_to: no worker "${t.assigned_to}" in workers`);
    if (!hasWorker(t.created_by)) errors.push(`${at}.created_by: no worker "${t.created_by}" in workers`);
    if (t.parent_id === null) continue;
    const parent = taskById.get(t.parent_id);
    if (!hasTask(t.parent_id)) errors.push(`${at}.parent_id: no task ${t.parent_id} in tasks`);
    else if (parent && parent.project_slug !== t.project_slug) {
      errors.push(`${at}.parent_id: task ${t.parent_id} is in project "${parent.project_slug}", not "${t.project_slug}"`);
    }
  }

  // Depth of each task by walking up its parents; a walk that meets itself is a cycle, reported on every member.
  const depth = new Map<number, number>();
  const inCycle = new Set<number>();
  for (const start of file.tasks) {
    const path: number[] = [];
    const onPath = new Set<number>();
    let id: number | null = start.id;
    while (id !== null && !depth.has(id) && !inCycle.has(id) && taskById.has(id)) {
      if (onPath.has(id)) {
        const cycle = path.slice(path.indexOf(id));
        for (const member of cycle) {
          inCycle.add(member);
          errors.push(`tasks[${taskById.get(member)!.position}].parent_id: task ${member} is its own ancestor (${[...cycle, id].join(' → ')})`);
        }
        break;
      }
      path.push(id);
      onPath.add(id);
      id = taskById.get(id)!.parent_id;
    }
    // Unwind: each task on the path is one deeper than the next one up (a missing parent was reported above).
    let below = id !== null && depth.has(id) ? depth.get(id)! : -1;
    for (const member of path.reverse()) {
      if (inCycle.has(member)) {
        below = Number.NaN;
        continue;
      }
      if (Number.isNaN(below)) continue;
      below += 1;
      depth.set(member, below);
    }
  }

  const auditById = new Map<number, number>();
  for (const a of file.audit_logs) {
    const at = `audit_logs[${a.position}]`;
    const first = auditById.get(a.id);
    if (first !== undefined) errors.push(`${at}.id: ${a.id} is already audit_logs[${first}]`);
    else auditById.set(a.id, a.position);
    if (a.actor_type !== 'system' && !hasWorker(a.actor_id)) errors.push(`${at}.actor_id: no worker "${a.actor_id}" in workers`);
    if (a.project_slug !== null && !hasProject(a.project_slug)) errors.push(`${at}.project_slug: no project "${a.project_slug}" in projects`);
    const task = a.task_id === null ? undefined : taskById.get(a.task_id);
    if (task) {
      if (a.project_slug !== null && a.project_slug !== task.project_slug) {
        errors.push(`${at}.project_slug: task ${a.task_id} is in project "${task.project_slug}", not "${a.project_slug}"`);
      }
    } else if (a.project_slug === null && !(a.task_id !== null && invalid.taskIds.has(a.task_id))) {
      errors.push(a.task_id === null
        ? `${at}: names neither a task_id nor a project_slug`
        : `${at}.task_id: no task ${a.task_id} in tasks, and no project_slug to keep the entry on`);
    }
  }

  if (errors.length > 0) return { ok: false, errors: inFileOrder(errors) };

  // The history, oldest first: the API lists a trail by id, so insertion order must be time order.
  const history = [...file.audit_logs].sort((a, b) => time(a.timestamp) - time(b.timestamp) || a.id - b.id);
  const firstStart = new Map<number, string>();
  const lastCompletion = new Map<number, string>();
  for (const log of history) {
    if (log.task_id === null) continue;
    if (startedBy(log) && !firstStart.has(log.task_id)) firstStart.set(log.task_id, log.timestamp);
    if (completedBy(log)) lastCompletion.set(log.task_id, log.timestamp);
  }

  const taskLevels: PlanTask[][] = [];
  const members = new Map<string, Set<string>>(file.projects.map((p) => [p.slug, new Set<string>()]));
  for (const t of file.tasks) {
    const level = depth.get(t.id)!;
    (taskLevels[level] ??= []).push({
      key: taskKey(t.id),
      phase1Id: t.id,
      projectSlug: t.project_slug,
      parentKey: t.parent_id === null ? null : taskKey(t.parent_id),
      title: t.title,
      description: t.description,
      status: t.status,
      priority: t.priority,
      progress: t.progress_percent,
      assignee: t.assigned_to,
      createdBy: t.created_by,
      tags: t.tags,
      dueDate: t.due_date,
      recurrencePattern: t.recurrence?.pattern ?? null,
      recurrenceMax: t.recurrence?.max ?? null,
      createdAt: t.created_at,
      updatedAt: t.updated_at ?? t.created_at,
      // As the API does: started once, the first time; completed only while completed (else reopened).
      startedAt: t.started_at ?? firstStart.get(t.id) ?? null,
      completedAt: t.status !== 'completed' ? null : (t.completed_at ?? lastCompletion.get(t.id) ?? t.updated_at ?? t.created_at),
    });
    const projectMembers = members.get(t.project_slug)!;
    projectMembers.add(t.created_by);
    if (t.assigned_to !== null) projectMembers.add(t.assigned_to);
  }

  // Phase I wrote `{ status: "review" }`; the contract's trail says `{ status: { before, after } }`. Replaying
  // each task's history in order recovers `before` (a task starts pending, at 0 %).
  const statusNow = new Map<number, unknown>();
  const progressNow = new Map<number, unknown>();
  let auditOfMissingTasks = 0;
  const audit = history.map((log): PlanAudit => {
    const known = log.task_id !== null && taskById.has(log.task_id);
    if (log.task_id !== null && !known) auditOfMissingTasks += 1;
    const action = mapAction(log.task_id === null ? 'project' : 'task', log.action);
    const details: Record<string, unknown> = { ...log.context };
    if (known) {
      const id = log.task_id!;
      if (typeof log.context.status === 'string') {
        details.status = { before: statusNow.get(id) ?? 'pending', after: log.context.status };
        statusNow.set(id, log.context.status);
      }
      if (typeof log.context.progress_percent === 'number') {
        details.progress_percent = { before: progressNow.get(id) ?? 0, after: log.context.progress_percent };
        progressNow.set(id, log.context.progress_percent);
      }
    }
    details.phase1_id = log.id;
    if (action !== log.action) details.phase1_action = log.action;
    if (log.task_id !== null && !known) details.phase1_task_id = log.task_id;
    return {
      phase1Id: log.id,
      projectSlug: known ? taskById.get(log.task_id!)!.project_slug : log.project_slug!,
      taskKey: known ? taskKey(log.task_id!) : null,
      action,
      actorHandle: log.actor_id,
      actorType: log.actor_type,
      details,
      createdAt: log.timestamp,
    };
  });

  return {
    ok: true,
    plan: {
      projects: file.projects.map(({ position, slug, name, description }) => ({ position, slug, name, description })),
      workers: file.workers.map((w) => ({
        position: w.position,
        handle: w.id,
        type: w.type,
        name: w.name,
        agentType: w.agent_type,
        capabilities: w.capabilities,
        createdAt: w.created_at ?? null,
      })),
      taskLevels,
      members: new Map([...members].map(([slug, handles]) => [slug, [...handles].sort()])),
      audit,
      auditOfMissingTasks,
    },
  };
}
