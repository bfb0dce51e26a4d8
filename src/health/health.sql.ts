import { sql } from 'slonik';
import type { Db } from '../db/index.js';

/** The cheapest statement that proves the database answers. */
export const selectOne = (db: Db) => db.oneFirst(sql.unsafe`select 1`);
