/** Jest under ESM: ts-jest transpiles each file on its own (type checking is `npm run lint`). */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts', '<rootDir>/infra/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/cdk.out/'],
  testTimeout: 60000,
  // The machine has 2 cores; e2e tests start processes of their own.
  maxWorkers: 2,
  verbose: false,
  reporters: ['default', '<rootDir>/scripts/plain-summary-reporter.js'],
};
