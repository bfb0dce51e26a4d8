import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root, found by walking up from this file: the same from src/ (tests) and dist/src/ (build). */
function findRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'openapi'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the project root above ${start}`);
    dir = parent;
  }
  return dir;
}

export const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
export const CONTRACT_PATH = join(ROOT, 'openapi', 'taskflow.yaml');
export const MIGRATIONS_DIR = join(ROOT, 'sql');
export const CHAT_MIGRATIONS_DIR = join(ROOT, 'sql-chat');
export const DATA_DIR = join(ROOT, '.data');
