/** Jest under ESM: ts-jest transpiles each file on its own (type checking is `npm run lint`). */
const typescript = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }],
  },
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/cdk.out/'],
};

/**
 * The tests that need a Docker engine and the registry on 127.0.0.1:5000
 * (scripts/docker-up.sh). Every other e2e test runs without them.
 */
const needsDocker = [
  'test/e2e/build-push.test.ts',
  'test/e2e/build-push-ecr.test.ts',
  'test/e2e/build-push-monorepo.test.ts',
  'test/reliability/build-push.faults.test.ts',
  'test/workflows/registry-password.test.ts',
  'test/workflows/consumer-build.test.ts',
  'test/workflows/consumer-monorepo.test.ts',
];

/** Tests outside infra/test that synthesize infra/ too, which takes a while. */
const synthesizesInfra = ['test/unit/cdk-diff/infra-diff.test.ts'];

/**
 * The tests that run the CDK CLI (`cdk deploy` of infra/) against the simulator: minutes of real time
 * each (the CLI polls in real time), so test:infra, not the unit inner loop
 * (test/architecture/test-subsets.test.ts). As a glob for testMatch and a regular expression for ignoring.
 */
const drivesCdkCli = {
  glob: 'test/sim/cdk-*.test.ts',
  pattern: 'test/sim/cdk-[^/]*\\.test\\.ts$',
};

/**
 * One project per subset, so `npm run test:<name>` is `jest --selectProjects <name>`
 * and `npm test` (no selection) is all of them. Every test file is in exactly one.
 */
export default {
  projects: [
    // lib/, each action's main.ts, the simulator, the architecture rules: no bundle, no Docker.
    {
      ...typescript,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/{unit,sim,architecture}/**/*.test.ts'],
      testPathIgnorePatterns: [
        ...typescript.testPathIgnorePatterns,
        ...synthesizesInfra.map((path) => `<rootDir>/${path}$`),
        `<rootDir>/${drivesCdkCli.pattern}`,
      ],
    },
    // The committed bundles as processes and whole workflows, against the simulator.
    {
      ...typescript,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/{e2e,reliability,workflows}/**/*.test.ts'],
      testPathIgnorePatterns: [
        ...typescript.testPathIgnorePatterns,
        ...needsDocker.map((path) => `<rootDir>/${path}$`),
      ],
    },
    { ...typescript, displayName: 'docker', testMatch: needsDocker.map((path) => `<rootDir>/${path}`) },
    // The CDK app: each file synthesizes it (and some deploy it with the CDK CLI).
    {
      ...typescript,
      displayName: 'infra',
      testMatch: [
        '<rootDir>/infra/test/**/*.test.ts',
        ...synthesizesInfra.map((path) => `<rootDir>/${path}`),
        `<rootDir>/${drivesCdkCli.glob}`,
      ],
    },
  ],
  testTimeout: 60000,
  // The machine has 2 cores, but the e2e, workflow and simulator tests spend most of their time waiting
  // (simulated clocks, the actions' polls, processes they start): with 2 workers the CPU sat 80-95% idle
  // through a full run. 4 workers keep it busy without starving the simulators.
  maxWorkers: 4,
  // The test:* scripts in package.json repeat this as `--verbose=false` after
  // `--selectProjects <name>`, which otherwise takes every word after it, so a path
  // (`npm run test:unit -- test/unit/verify`) would be read as a project name.
  verbose: false,
  reporters: ['default', '<rootDir>/scripts/plain-summary-reporter.js'],
};
