import { z } from 'zod';
import type { components } from '../../generated/api.js';
import { Id } from '../db/index.js';
import type { HandlersFor } from '../http/handler.js';
import { decodeCursor, toPage } from '../http/paging.js';
import { ProblemError } from '../http/problem.js';
import {
  countUnreadNotifications,
  listNotificationsPage,
  markAllNotificationsRead,
  markNotificationRead,
  type NotificationRow,
} from './notifications.sql.js';

type Notification = components['schemas']['Notification'];
type NotificationOps = 'listNotifications' | 'getUnreadNotificationCount' | 'markNotificationRead' | 'markAllNotificationsRead';

const DEFAULT_LIMIT = 50;

export const toNotification = (row: NotificationRow): Notification => ({
  id: row.id,
  type: row.type,
  event_id: row.eventId,
  project_id: row.projectId,
  task_id: row.taskId,
  task_title: row.taskTitle,
  actor: { id: row.actorId, handle: row.actorHandle, type: row.actorType },
  data: row.data,
  read_at: row.readAt,
  created_at: row.createdAt,
});

/** The caller's inbox: every query is scoped to their worker, so someone else's notification is a 404. */
export const notificationHandlers = () =>
  ({
    listNotifications: async ({ db, principal: who, query }) => {
      const limit = query.limit ?? DEFAULT_LIMIT;
      const before = decodeCursor(query.cursor, 'notifications', z.tuple([Id]))?.[0];
      const rows = await listNotificationsPage(db, who.workerId, query.unread, before, limit);
      return { status: 200, body: toPage(rows, limit, 'notifications', (r) => [r.id], toNotification) };
    },

    getUnreadNotificationCount: async ({ db, principal: who }) => ({
      status: 200,
      body: { count: await countUnreadNotifications(db, who.workerId) },
    }),

    markNotificationRead: async ({ db, principal: who, params }) => {
      const row = await markNotificationRead(db, who.workerId, params.notification_id);
      if (!row) throw new ProblemError('notification-not-found', { detail: `You have no notification ${params.notification_id}` });
      return { status: 200, body: toNotification(row) };
    },

    markAllNotificationsRead: async ({ db, principal: who }) => ({
      status: 200,
      body: { updated: await markAllNotificationsRead(db, who.workerId) },
    }),
  }) satisfies HandlersFor<NotificationOps>;
