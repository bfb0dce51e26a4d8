export { recordAudit, auditInsertFrom, type Actor, type AuditRecord, type AuditRecordFrom } from './audit.sql.js';
export { changedFields } from './changes.js';
export { actorOf } from './actor.js';
