import { main } from './main.js';

/** Entry point of `npm run import` (dist/src/import/cli.js); see main.ts and README.md beside it. */
process.exitCode = await main(process.argv.slice(2));
