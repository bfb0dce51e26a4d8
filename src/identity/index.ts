export { identityHandlers } from './identity.handlers.js';
export { createPrincipalResolver, type PrincipalResolver } from './resolve.js';
export { findUserWorker, provisionUser, type NewUser, type WorkerRow } from './identity.sql.js';
