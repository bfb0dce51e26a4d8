/** Jest runs TypeScript as ESM because slonik and jose ship only ESM. Type errors are tsc's job (make typecheck). */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }],
  },
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
  setupFilesAfterEnv: ['<rootDir>/test/helpers/roarr-teardown.ts'],
  // Generous: each file starts a server (every validator of the contract compiled, ~5 s idle, 25 s on a busy
  // 2-core machine shared with other runs); a timeout here is never what a test asserts.
  testTimeout: 120000,
  maxWorkers: 2,
};
