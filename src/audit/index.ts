export { recordAudit, auditInsertFrom, AuditAction, type Actor, type AuditRecord, type EntityType } from './audit.sql.js';
export { changedFields } from './changes.js';
export { actorOf } from './actor.js';
