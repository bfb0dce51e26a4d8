export { findActiveAgentKey, touchAgentKey } from './agent-keys.sql.js';
