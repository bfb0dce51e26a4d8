export { createDatabasePool, isPooledUrl, pgClientConfig, type Db, type DatabasePool } from './pool.js';
export * from './scalars.js';
