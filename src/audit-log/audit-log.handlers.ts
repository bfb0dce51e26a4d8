import { z } from 'zod';
import { Id } from '../db/index.js';
import type { HandlersFor } from '../http/handler.js';
import { decodeCursor, toPage } from '../http/paging.js';
import { ProblemError } from '../http/problem.js';
import { requireProjectRole } from '../members/index.js';
import { listProjectAuditPage, listTaskAuditPage, type AuditRow } from './audit-log.sql.js';

const DEFAULT_LIMIT = 50;
const SORT = 'audit';
const beforeIdOf = (cursor: string | undefined) => decodeCursor(cursor, SORT, z.tuple([Id]))?.[0];
const keyOf = (row: AuditRow) => [row.id];
const toEntry = (row: AuditRow) => row;

export const auditHandlers = () =>
  ({
    listTaskAudit: async ({ db, principal: who, params, query }) => {
      const limit = query.limit ?? DEFAULT_LIMIT;
      const rows = await listTaskAuditPage(db, who.tenantId, who.workerId, params.task_id, limit, beforeIdOf(query.cursor));
      if (!rows) throw new ProblemError('task-not-found', { detail: `No task ${params.task_id} is visible to you` });
      return { status: 200, body: toPage(rows, limit, SORT, keyOf, toEntry) };
    },

    listProjectAudit: async ({ db, principal: who, params, query }) => {
      await requireProjectRole(db, who, params.project_id);
      const limit = query.limit ?? DEFAULT_LIMIT;
      const filter = { actorId: query.actor_id, action: query.action, entityType: query.entity_type };
      const rows = await listProjectAuditPage(db, who.tenantId, params.project_id, filter, limit, beforeIdOf(query.cursor));
      return { status: 200, body: toPage(rows, limit, SORT, keyOf, toEntry) };
    },
  }) satisfies HandlersFor<'listTaskAudit' | 'listProjectAudit'>;
