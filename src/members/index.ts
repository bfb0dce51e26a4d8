export { projectNotFound, requireProjectRole, type ProjectAccess } from './access.js';
