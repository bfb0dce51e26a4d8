/**
 * Who may import whom in src/ (README "Architecture"; checked by `make lint`, so by `make test` too).
 *
 *   entry points  src/{server,compose,app,handlers}.ts, src/import/     may import anything below
 *   resources     every other folder of src/ (one per contract tag)     may import each other, without cycles
 *   services      src/auth/, src/audit/, src/idempotency/               import no resource
 *   http          src/http/                                             imports db/, jobs/ and the base
 *   infra         src/db/, src/jobs/                                    import the base only
 *   base          src/{config,paths,version}.ts, src/observability/, generated/
 *
 * Type-only imports count like any other: a type is a dependency of the design even when the build erases it.
 */
const BASE = '^(src/(config|paths|version)\\.ts$|src/observability/|generated/)';
const INFRA = '^src/(db|jobs)/';
const HTTP = '^src/http/';
const SERVICES = '^src/(auth|audit|idempotency)/';
const ENTRY = '^src/((server|compose|app|handlers)\\.ts$|import/)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A file-level import cycle: break it by moving what both sides need one layer down.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-folder-cycles',
      scope: 'folder',
      severity: 'error',
      comment:
        'A folder-level import cycle: two modules that need each other are one module, or one of them holds something ' +
        'that belongs a layer down. (src/ itself is left out: its entry points and its base files are checked by the ' +
        'layer rules below.)',
      from: { path: '^src/.+', pathNot: '^src/?$' },
      to: { circular: true, pathNot: '^src/?$' },
    },
    {
      name: 'base-imports-no-layer-above',
      severity: 'error',
      comment: 'config, paths, version, observability and generated/ are the bottom: they import nothing of src/ above them.',
      from: { path: BASE },
      to: { path: '^(src|generated)/', pathNot: BASE },
    },
    {
      name: 'infra-imports-only-base',
      severity: 'error',
      comment: 'db/ and jobs/ know the database and the base, nothing of HTTP, auth or any resource.',
      from: { path: INFRA },
      to: { path: '^(src|generated)/', pathNot: `${BASE}|${INFRA}` },
    },
    {
      name: 'http-imports-no-service-or-resource',
      severity: 'error',
      comment: 'http/ is below auth/, audit/, idempotency/ and every resource.',
      from: { path: HTTP },
      to: { path: '^(src|generated)/', pathNot: `${BASE}|${INFRA}|${HTTP}` },
    },
    {
      name: 'services-import-no-resource',
      severity: 'error',
      comment: 'auth/, audit/ and idempotency/ are used by resources and never use one.',
      from: { path: SERVICES },
      to: { path: '^(src|generated)/', pathNot: `${BASE}|${INFRA}|${HTTP}|${SERVICES}` },
    },
    {
      name: 'nothing-imports-an-entry-point',
      severity: 'error',
      comment: 'Only the process (server.ts) and tests start from the entry points; modules never reach back up to them.',
      from: { path: '^src/', pathNot: ENTRY },
      to: { path: ENTRY },
    },
    {
      name: 'no-other-modules-sql',
      severity: 'error',
      comment: "A module uses another module through its index.ts (or named files), never its *.sql.ts.",
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/[^/]+/[^/]+\\.sql\\.ts$', pathNot: '^src/$1/' },
    },
    {
      name: 'src-imports-no-test',
      severity: 'error',
      comment: 'Nothing in src/ imports test/.',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^(src|generated)/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.d.ts', '.js'] },
  },
};
