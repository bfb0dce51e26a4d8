export { createDatabasePool, isPooledUrl, type Db, type DatabasePool } from './pool.js';
export * from './scalars.js';
