export { requireProjectRole, type ProjectAccess } from './access.js';
