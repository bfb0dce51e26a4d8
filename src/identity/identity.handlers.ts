import type { HandlersFor } from '../http/handler.js';

export const identityHandlers = () =>
  ({
    getMe: async ({ principal: who }) => ({
      status: 200,
      body: {
        user_id: who.actorType === 'agent' ? null : who.userId,
        email: who.email,
        name: who.name,
        tenant_id: who.tenantId,
        worker: { id: who.workerId, handle: who.handle, name: who.workerName, type: who.actorType },
        default_project_id: who.defaultProjectId,
      },
    }),
  }) satisfies HandlersFor<'getMe'>;
