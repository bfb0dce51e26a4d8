export { createAuthenticator, DEFAULT_ALGORITHMS, type AuthOptions, type Authenticator } from './verify.js';
export type { Identity } from './identity.js';
export type { JwksHooks, JwksState } from './jwks-cache.js';
export { assertDevModeAllowed, DEV_MODE_WARNING, DEFAULT_DEV_USER_ID } from './dev.js';
export { hasBearerScheme, readBearerToken } from './bearer.js';
export { coalescing } from './coalesce.js';
export { createAgentKeyVerifier, generateAgentKey, hashAgentKey, isAgentKey, type ActiveAgentKey, type AgentKeyStore, type AgentKeyVerifier } from './agent-key.js';
