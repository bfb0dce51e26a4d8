/**
 * Dredd hooks with only the schema and header checks of schema-check.cjs, no fixtures: for a Dredd run against
 * any server, such as the fixture server of broken-response.test.ts. `make contract` uses hooks.cjs instead.
 */
'use strict';

require('./schema-check.cjs').install(require('hooks'));
