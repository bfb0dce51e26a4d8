export { createEventHub, type EventHub } from './hub.js';
export { eventHandlers } from './events.handlers.js';
export { readFeedPage, START } from './feed.js';
export { findEventById, listAllEvents, readHorizon, type EventRow } from './events.sql.js';
export { toEvents, positionOf } from './to-event.js';
export { comparePositions, encodePosition, type Position } from './cursor.js';
export { eventTypeOf, isImportedHistory, type Event } from './types.js';
export { followEventLog, type LogFollower } from './follower.js';
