import type { DatabaseTransactionConnection } from 'slonik';
import { recordAudit, type Actor } from '../audit/index.js';
import type { DatabasePool, WorkerType } from '../db/index.js';
import { findUserWorker, provisionUser } from '../identity/index.js';
import {
  IMPORTED_PROJECT_MARK,
  findImportedAuditIds,
  findImportedTasks,
  findProjectsBySlug,
  findWorkersByHandle,
  insertMissingMembers,
  insertProjects,
  insertTasks,
  insertWorkers,
  lockTenantImport,
  type NewMember,
  type NewTask,
} from './import.sql.js';
import type { Plan, PlanTask } from './plan.js';

/**
 * Writes a plan in one transaction: owner, projects, workers, memberships, tasks level by level, then the
 * history. Every kind is looked up by its natural key first (project slug, worker handle, task import key,
 * audit `details.phase1_id`), so a second run finds everything and writes nothing. A dry run does all of it
 * and rolls back, so its counts are exactly what a real run would write, checks of the database included.
 */

export interface ImportOptions {
  tenantId: string;
  /** JWT `sub` of the human who will own the imported projects. */
  ownerUserId: string;
  dryRun: boolean;
}

export interface Count {
  created: number;
  present: number;
}

export interface ImportReport {
  tenantId: string;
  dryRun: boolean;
  owner: { handle: string; workerId: number; created: boolean };
  projects: Count;
  humans: Count;
  agents: Count;
  members: Count;
  tasks: Count;
  audit: Count;
  /** Of the audit entries in the file, those about tasks Phase I had deleted: kept on their project. */
  auditOfMissingTasks: number;
}

/** The file is fine but clashes with what the tenant already has; nothing was written. */
export class ImportRejected extends Error {
  override name = 'ImportRejected';
  constructor(readonly errors: string[]) {
    super(`${errors.length} record(s) clash with the tenant's data`);
  }
}

class DryRunRollback extends Error {
  constructor(readonly report: ImportReport) {
    super('dry run: rolled back');
  }
}

const BATCH = 500;
const chunks = <T>(items: readonly T[]): T[][] =>
  Array.from({ length: Math.ceil(items.length / BATCH) }, (_, i) => items.slice(i * BATCH, (i + 1) * BATCH));

export async function importPhase1(pool: DatabasePool, plan: Plan, opts: ImportOptions): Promise<ImportReport> {
  try {
    return await pool.transaction(async (tx) => {
      const report = await writePlan(tx, plan, opts);
      if (opts.dryRun) throw new DryRunRollback(report);
      return report;
    });
  } catch (err) {
    if (err instanceof DryRunRollback) return err.report;
    throw err;
  }
}

async function writePlan(tx: DatabaseTransactionConnection, plan: Plan, opts: ImportOptions): Promise<ImportReport> {
  const { tenantId } = opts;
  await lockTenantImport(tx, tenantId);
  const owner = await ensureOwner(tx, tenantId, opts.ownerUserId);
  const rejected: string[] = [];

  // Projects by (tenant, slug). One the tenant made itself is not ours to fill with Phase I tasks.
  const slugs = plan.projects.map((p) => p.slug);
  const existingProjects = await findProjectsBySlug(tx, tenantId, slugs);
  for (const row of existingProjects.filter((p) => !p.imported)) {
    const position = plan.projects.find((p) => p.slug === row.slug)!.position;
    rejected.push(`projects[${position}].slug: "${row.slug}" is already a project of tenant "${tenantId}" that was not imported from Phase I`);
  }
  const presentSlugs = new Set(existingProjects.map((p) => p.slug));
  const newProjects = plan.projects.filter((p) => !presentSlugs.has(p.slug));

  // Workers by (tenant, handle): an existing human is the same person (e.g. signed in already), if the type agrees.
  const existingWorkers = await findWorkersByHandle(tx, tenantId, plan.workers.map((w) => w.handle));
  const workerByHandle = new Map(existingWorkers.map((w) => [w.handle, w]));
  for (const w of plan.workers) {
    const present = workerByHandle.get(w.handle);
    if (present && present.type !== w.type) {
      rejected.push(`workers[${w.position}].type: "${w.handle}" is already a worker of type ${present.type} in tenant "${tenantId}", not ${w.type}`);
    }
  }
  if (rejected.length > 0) throw new ImportRejected(rejected);

  const createdProjects = newProjects.length === 0 ? [] : await insertProjects(tx, tenantId, owner.workerId, newProjects);
  const projectId = new Map([...existingProjects, ...createdProjects].map((p) => [p.slug, p.id]));
  const createdSlugs = new Set(createdProjects.map((p) => p.slug));

  const newWorkers = plan.workers.filter((w) => !workerByHandle.has(w.handle));
  const createdWorkers = newWorkers.length === 0 ? [] : await insertWorkers(tx, tenantId, newWorkers.map((w) => ({
    handle: w.handle,
    type: w.type,
    // Phase I humans never signed in: a placeholder sub, unique per tenant, that an admin can later replace.
    userId: w.type === 'human' ? `phase1:${w.handle}` : null,
    name: w.name,
    agentType: w.agentType,
    capabilities: w.capabilities,
    createdAt: w.createdAt,
  })));
  for (const w of createdWorkers) workerByHandle.set(w.handle, w);
  const workerId = (handle: string) => workerByHandle.get(handle)!.id;

  const members = await ensureMembers(tx, plan, projectId, createdSlugs, owner.workerId, workerId);
  const tasks = await ensureTasks(tx, plan, tenantId, projectId, workerId);

  const importedAudit = new Set(await findImportedAuditIds(tx, tenantId, [...projectId.values()]));
  let auditCreated = 0;
  for (const entry of plan.audit) {
    if (importedAudit.has(String(entry.phase1Id))) continue;
    const worker = entry.actorType === 'system' ? undefined : workerByHandle.get(entry.actorHandle)!;
    const actor: Actor = worker
      ? { tenantId, workerId: worker.id, handle: worker.handle, type: worker.type }
      : { tenantId, workerId: null, handle: entry.actorHandle, type: 'system' };
    const project = projectId.get(entry.projectSlug)!;
    await recordAudit(tx, actor, {
      projectId: project,
      entityType: entry.taskKey === null ? 'project' : 'task',
      entityId: entry.taskKey === null ? project : tasks.idOf(project, entry.taskKey),
      action: entry.action,
      details: entry.details,
      createdAt: entry.createdAt,
    });
    auditCreated += 1;
  }

  // Last, so the newest entry of an imported project's trail says when and from where it came.
  const ownerActor: Actor = { tenantId, workerId: owner.workerId, handle: owner.handle, type: 'human' };
  for (const p of createdProjects) {
    await recordAudit(tx, ownerActor, {
      projectId: p.id,
      entityType: 'project',
      entityId: p.id,
      action: 'project_created',
      details: { ...IMPORTED_PROJECT_MARK, slug: p.slug, name: newProjects.find((n) => n.slug === p.slug)!.name, tasks: tasks.createdIn.get(p.id) ?? 0 },
    });
  }

  const count = (type: WorkerType) => {
    const all = plan.workers.filter((w) => w.type === type).length;
    const created = createdWorkers.filter((w) => w.type === type).length;
    return { created, present: all - created };
  };
  return {
    tenantId,
    dryRun: opts.dryRun,
    owner,
    projects: { created: createdProjects.length, present: existingProjects.length },
    humans: count('human'),
    agents: count('agent'),
    members,
    tasks: { created: tasks.created, present: tasks.present },
    audit: { created: auditCreated, present: plan.audit.length - auditCreated },
    auditOfMissingTasks: plan.auditOfMissingTasks,
  };
}

/**
 * The owner's human worker, provisioned exactly as a first sign-in would. provisionUser opens its own
 * `.transaction()`, which on our transaction is a savepoint: the owner is part of the one import transaction,
 * and a dry run or a failure rolls it back with everything else.
 */
async function ensureOwner(tx: DatabaseTransactionConnection, tenantId: string, userId: string) {
  const existing = await findUserWorker(tx, tenantId, userId);
  if (existing?.defaultProjectId) return { handle: existing.handle, workerId: existing.workerId, created: false };
  const row = await provisionUser(tx, { tenantId, userId, email: null, name: null });
  return { handle: row.handle, workerId: row.workerId, created: true };
}

/** The owner of each project, plus everyone creating or assigned a task in it, as members. */
async function ensureMembers(
  tx: DatabaseTransactionConnection,
  plan: Plan,
  projectId: Map<string, number>,
  createdSlugs: Set<string>,
  ownerId: number,
  workerId: (handle: string) => number,
) {
  const wanted: NewMember[] = [];
  for (const project of plan.projects) {
    const id = projectId.get(project.slug)!;
    // An earlier import made someone else owner: whoever runs it again for themselves joins as a member.
    wanted.push({ projectId: id, workerId: ownerId, role: createdSlugs.has(project.slug) ? 'owner' : 'member' });
    for (const handle of plan.members.get(project.slug) ?? []) {
      const worker = workerId(handle);
      if (worker !== ownerId) wanted.push({ projectId: id, workerId: worker, role: 'member' });
    }
  }
  let created = 0;
  for (const batch of chunks(wanted)) created += (await insertMissingMembers(tx, batch)).length;
  return { created, present: wanted.length - created };
}

/** Tasks level by level, so each parent's new id is known before its subtasks are written. */
async function ensureTasks(
  tx: DatabaseTransactionConnection,
  plan: Plan,
  tenantId: string,
  projectId: Map<string, number>,
  workerId: (handle: string) => number,
) {
  const keyOf = (project: number, importKey: string) => `${project}/${importKey}`;
  const ids = new Map<string, number>();
  for (const row of await findImportedTasks(tx, [...projectId.values()])) ids.set(keyOf(row.projectId, row.importKey), row.id);

  const createdIn = new Map<number, number>();
  let created = 0;
  let present = 0;
  for (const level of plan.taskLevels) {
    const rows: NewTask[] = [];
    for (const t of level) {
      const project = projectId.get(t.projectSlug)!;
      if (ids.has(keyOf(project, t.key))) {
        present += 1;
        continue;
      }
      rows.push(toNewTask(t, project, t.parentKey === null ? null : ids.get(keyOf(project, t.parentKey))!, workerId));
    }
    for (const batch of chunks(rows)) {
      for (const row of await insertTasks(tx, tenantId, batch)) {
        ids.set(keyOf(row.projectId, row.importKey), row.id);
        createdIn.set(row.projectId, (createdIn.get(row.projectId) ?? 0) + 1);
        created += 1;
      }
    }
  }
  return { created, present, createdIn, idOf: (project: number, importKey: string) => ids.get(keyOf(project, importKey))! };
}

const toNewTask = (t: PlanTask, projectId: number, parentTaskId: number | null, workerId: (handle: string) => number): NewTask => ({
  projectId,
  parentTaskId,
  title: t.title,
  description: t.description,
  status: t.status,
  priority: t.priority,
  progress: t.progress,
  tags: t.tags,
  // Every assignee was made a member of the project above, so the member foreign key holds.
  assigneeId: t.assignee === null ? null : workerId(t.assignee),
  dueDate: t.dueDate,
  recurrencePattern: t.recurrencePattern,
  recurrenceMax: t.recurrenceMax,
  createdById: workerId(t.createdBy),
  startedAt: t.startedAt,
  completedAt: t.completedAt,
  createdAt: t.createdAt,
  updatedAt: t.updatedAt,
  importKey: t.key,
});
