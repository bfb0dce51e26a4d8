export { createDatabasePool, isPooledUrl, timestamptzToIso, type Db, type DatabasePool } from './pool.js';
export * from './scalars.js';
