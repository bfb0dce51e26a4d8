import { sql, UniqueIntegrityConstraintViolationError } from 'slonik';
import { z } from 'zod';
import { recordAudit, type Actor } from '../audit/index.js';
import { Id, type Db } from '../db/index.js';

const WorkerRow = z.object({ workerId: Id, handle: z.string(), workerName: z.string(), defaultProjectId: Id.nullable() });
export type WorkerRow = z.infer<typeof WorkerRow>;

export interface NewUser {
  tenantId: string;
  userId: string;
  email: string | null;
  name: string | null;
}

/** The human worker of a user with their default project, or null before their first request. */
export const findUserWorker = (db: Db, tenantId: string, userId: string) =>
  db.maybeOne(sql.type(WorkerRow)`
    select w.id as "workerId", w.handle, w.name as "workerName",
           (select p.id from project p where p.owner_id = w.id and p.is_default) as "defaultProjectId"
    from worker w
    where w.tenant_id = ${tenantId} and w.user_id = ${userId}`);

/** `alice.smith+work@example.com` → `alice-smith-work`; the part a handle is made from. */
export function handleBase(user: NewUser): string {
  const source = user.email?.split('@')[0] || user.name || user.userId;
  const base = source
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return base || 'user';
}

/** The first free handle among `@base`, `@base-1`, `@base-2`… in the tenant. */
const pickHandle = async (db: Db, tenantId: string, base: string): Promise<string> => {
  const taken = new Set(
    await db.anyFirst(sql.type(z.object({ handle: z.string() }))`
      select handle from worker
      where tenant_id = ${tenantId} and (handle = ${'@' + base} or handle like ${'@' + base + '-%'})`),
  );
  if (!taken.has('@' + base)) return '@' + base;
  for (let n = 1; ; n++) if (!taken.has(`@${base}-${n}`)) return `@${base}-${n}`;
};

const pickSlug = async (db: Db, tenantId: string, base: string): Promise<string> => {
  const slug = `personal-${base}`.slice(0, 90);
  const taken = await db.exists(sql.unsafe`select 1 from project where tenant_id = ${tenantId} and slug = ${slug}`);
  return taken ? `${slug}-${Date.now().toString(36)}` : slug;
};

async function insertHumanWorker(db: Db, user: NewUser, base: string): Promise<Omit<WorkerRow, 'defaultProjectId'>> {
  const handle = await pickHandle(db, user.tenantId, base);
  const name = (user.name ?? handle.slice(1)).slice(0, 200) || handle.slice(1);
  const workerId = await db.oneFirst(sql.type(z.object({ id: Id }))`
    insert into worker (tenant_id, type, user_id, handle, name, email)
    values (${user.tenantId}, 'human', ${user.userId}, ${handle}, ${name}, ${user.email})
    returning id`);
  return { workerId, handle, workerName: name };
}

/**
 * Creates the user's human worker, personal default project and owner membership — once. Concurrent first
 * requests of one user serialize on an advisory lock; two users racing for the same handle retry. On a pool
 * this is its own transaction; inside a transaction (the Phase I import) it is a savepoint of it.
 */
export async function provisionUser(db: Db, user: NewUser): Promise<WorkerRow> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await db.transaction(async (tx) => {
        await tx.query(sql.unsafe`select pg_advisory_xact_lock(hashtextextended(${JSON.stringify([user.tenantId, user.userId])}, 7))`);
        const existing = await findUserWorker(tx, user.tenantId, user.userId);
        if (existing?.defaultProjectId) return existing;
        const base = handleBase(user);
        // A worker may exist without a default project, e.g. a Phase I human linked to this login later.
        const { workerId, handle, workerName: name } = existing ?? (await insertHumanWorker(tx, user, base));
        const slug = await pickSlug(tx, user.tenantId, base);
        const projectId = await tx.oneFirst(sql.type(z.object({ id: Id }))`
          insert into project (tenant_id, slug, name, description, owner_id, is_default)
          values (${user.tenantId}, ${slug}, 'Personal', ${`Personal default project of ${handle}`}, ${workerId}, true)
          returning id`);
        await tx.query(sql.unsafe`insert into member (project_id, worker_id, role) values (${projectId}, ${workerId}, 'owner')`);
        const actor: Actor = { tenantId: user.tenantId, workerId, handle, type: 'human' };
        await recordAudit(tx, actor, {
          projectId, entityType: 'project', entityId: projectId, action: 'project_created',
          details: { slug, name: 'Personal', is_default: true },
        });
        return { workerId, handle, workerName: name, defaultProjectId: projectId };
      });
    } catch (err) {
      const handleRace = err instanceof UniqueIntegrityConstraintViolationError && attempt < 5;
      if (!handleRace) throw err;
    }
  }
}
