export { createDatabasePool, isPooledUrl, pgClientConfig, timestamptzToIso, type Db, type DatabasePool } from './pool.js';
export * from './scalars.js';
export { limitRows } from './limit.js';
