import { z } from 'zod';
import { actorOf, changedFields, recordAudit } from '../audit/index.js';
import { Id } from '../db/index.js';
import type { HandlersFor } from '../http/handler.js';
import { decodeCursor, toPage } from '../http/paging.js';
import { assertIfMatch, digestOf, etagOf, notModifiedReply } from '../http/preconditions.js';
import { ProblemError } from '../http/problem.js';
import { requireProjectRole } from '../members/index.js';
import {
  deleteProjectRow,
  findVisibleProject,
  insertProject,
  listVisibleProjectsPage,
  updateProjectRow,
  type ProjectRow,
} from './projects.sql.js';

const DEFAULT_LIMIT = 50;
const SORT = 'projects';

const toProject = (row: ProjectRow) => ({
  id: row.id,
  slug: row.slug,
  name: row.name,
  description: row.description,
  owner_id: row.ownerId,
  is_default: row.isDefault,
  member_count: row.memberCount,
  task_count: row.taskCount,
  created_at: row.createdAt,
  updated_at: row.updatedAt,
  version: row.version,
});

/**
 * A project's ETag: its version, and a digest of its counts, which change with its tasks and members while its
 * own version does not (a revalidated copy would otherwise keep stale counts). If-Match compares the version.
 */
const projectEtag = (project: ReturnType<typeof toProject>) => etagOf(project.version, digestOf([project.member_count, project.task_count]));

const notFound = (projectId: number) =>
  new ProblemError('project-not-found', { detail: `Project ${projectId} does not exist or you are not a member of it` });

export const projectHandlers = () =>
  ({
    listProjects: async ({ db, principal: who, query }) => {
      const limit = query.limit ?? DEFAULT_LIMIT;
      const afterId = decodeCursor(query.cursor, SORT, z.tuple([Id]))?.[0];
      const rows = await listVisibleProjectsPage(db, who, limit, afterId);
      return { status: 200, body: toPage(rows, limit, SORT, (row) => [row.id], toProject) };
    },

    createProject: async ({ db, principal: who, body }) => {
      const project = await db.transaction(async (tx) => {
        const id = await insertProject(tx, who, body);
        await recordAudit(tx, actorOf(who), {
          projectId: id, entityType: 'project', entityId: id, action: 'project_created',
          details: { slug: body.slug, name: body.name, description: body.description ?? null },
        });
        return (await findVisibleProject(tx, who, id))!;
      });
      const created = toProject(project);
      return { status: 201, headers: { Location: `/api/projects/${project.id}`, ETag: projectEtag(created) }, body: created };
    },

    getProject: async ({ db, principal: who, params, headers }) => {
      const project = await findVisibleProject(db, who, params.project_id);
      if (!project) throw notFound(params.project_id);
      const body = toProject(project);
      const etag = projectEtag(body);
      return notModifiedReply(headers['if-none-match'], etag) ?? { status: 200, headers: { ETag: etag }, body };
    },

    updateProject: async ({ db, principal: who, params, headers, body }) => {
      const { project_id: projectId } = params;
      const project = await db.transaction(async (tx) => {
        const access = await requireProjectRole(tx, who, projectId, 'owner', 'update');
        assertIfMatch(headers['if-match'], access.version);
        const before = (await findVisibleProject(tx, who, projectId))!;
        const after = await updateProjectRow(tx, projectId, body);
        await recordAudit(tx, actorOf(who), {
          projectId, entityType: 'project', entityId: projectId, action: 'project_updated',
          details: changedFields(before, after, ['name', 'description']),
        });
        return after;
      });
      const updated = toProject(project);
      return { status: 200, headers: { ETag: projectEtag(updated) }, body: updated };
    },

    deleteProject: async ({ db, principal: who, params, headers, query }) => {
      const { project_id: projectId } = params;
      await db.transaction(async (tx) => {
        // The row lock also holds off task inserts (their foreign key check), so `force` cannot be bypassed by a race.
        const access = await requireProjectRole(tx, who, projectId, 'owner', 'update');
        assertIfMatch(headers['if-match'], access.version);
        const project = (await findVisibleProject(tx, who, projectId))!;
        if (project.isDefault) {
          throw new ProblemError('default-project', { detail: `"${project.slug}" is your personal default project and cannot be deleted` });
        }
        if (project.taskCount > 0 && query.force !== true) {
          throw new ProblemError('project-has-tasks', {
            detail: `Project "${project.slug}" still has ${project.taskCount} tasks; delete them first or pass force=true`,
          });
        }
        await deleteProjectRow(tx, projectId);
        await recordAudit(tx, actorOf(who), {
          projectId, entityType: 'project', entityId: projectId, action: 'project_deleted',
          details: { slug: project.slug, name: project.name, tasks_deleted: project.taskCount },
        });
      });
      return { status: 204, body: undefined };
    },
  }) satisfies HandlersFor<'listProjects' | 'createProject' | 'getProject' | 'updateProject' | 'deleteProject'>;
