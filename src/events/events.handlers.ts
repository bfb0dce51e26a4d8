import type { Db } from '../db/index.js';
import type { HandlersFor } from '../http/handler.js';
import { requireProjectRole } from '../members/index.js';
import type { Principal } from '../http/principal.js';
import { decodePosition } from './cursor.js';
import type { EventScope } from './events.sql.js';
import { encodeNext, readFeedPage, START } from './feed.js';
import type { EventHub } from './hub.js';
import { toEvents } from './to-event.js';
import { actionsOf } from './types.js';

const DEFAULT_LIMIT = 100;

const typesOf = (types: readonly string[] | undefined) => [...(types ?? [])];

async function scopeOf(db: Db, who: Principal, query: { project_id?: number; types?: readonly string[] }): Promise<EventScope> {
  if (query.project_id !== undefined) await requireProjectRole(db, who, query.project_id);
  const types = typesOf(query.types);
  return {
    tenantId: who.tenantId,
    workerId: who.workerId,
    ...(query.project_id === undefined ? {} : { projectId: query.project_id }),
    ...(types.length ? { actions: actionsOf(types) } : {}),
  };
}

export const eventHandlers = ({ hub }: { hub: EventHub }) =>
  ({
    listEvents: async ({ db, principal: who, query }) => {
      const scope = await scopeOf(db, who, query);
      const after = query.cursor === undefined ? START : decodePosition(query.cursor);
      const page = await readFeedPage(db, scope, after, query.limit ?? DEFAULT_LIMIT);
      return { status: 200, body: { items: await toEvents(db, page.rows), next_cursor: encodeNext(page), has_more: page.hasMore } };
    },

    streamEvents: async ({ db, principal: who, query, headers, response }) => {
      const scope = await scopeOf(db, who, query);
      const lastEventId = headers['last-event-id'];
      const resumeFrom = typeof lastEventId === 'string' && lastEventId !== ''
        ? decodePosition(lastEventId, '/header/last-event-id')
        : query.cursor === undefined ? undefined : decodePosition(query.cursor);
      await hub.stream(who, scope, resumeFrom, response);
      return { status: 200, body: '' }; // the stream wrote the response itself
    },
  }) satisfies HandlersFor<'listEvents' | 'streamEvents'>;
