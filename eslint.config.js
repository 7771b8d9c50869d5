import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import jest from 'eslint-plugin-jest';

/*
 * The architecture, as rules ESLint checks (ARCHITECTURE.md, "Layout").
 *
 * Each layer lists the top-level folders it must not import, with why. The
 * mechanism is ESLint's core `no-restricted-imports`, and `no-restricted-syntax`
 * for `import()` (lib/ loads SDK clients lazily) and `typeof import()`: no plugin
 * and no import resolver to configure. Those rules match the import string, not
 * the resolved file, so the config is generated per folder depth: a file at depth d
 * (lib/ecs/rollout.ts is depth 2) reaches the repository root with exactly d
 * `../`. That catches '../actions/x.js' and '../../../actions/x.js' alike, and
 * never mistakes infra's own infra/lib/ for the root lib/. A resolver-based rule
 * (eslint-plugin-import-x's no-restricted-paths, eslint-plugin-boundaries)
 * silently skips an import it cannot resolve, such as a `.js` specifier naming
 * a `.ts` file without extra resolver set-up.
 * test/architecture/boundaries.test.ts proves each rule fires.
 */
const FOLDERS = {
  actions: 'the action layer (actions/)',
  lib: 'the domain layer (lib/)',
  sim: 'the simulator (sim/)',
  runner: 'the local runner (runner/)',
  test: 'the tests (test/)',
  bench: 'the benchmarks (bench/)',
};

// The simulator's IAM policy evaluator is AGPL-3.0: a devDependency the
// simulator may use, never code that ships (dist/) or that others deploy.
const AGPL_EVALUATOR = {
  scope: '@cloud-copilot',
  message:
    '@cloud-copilot/* (the IAM policy evaluator) is AGPL-3.0: only the simulator (sim/) may import it, never shipped code',
};

const LAYERS = {
  // The domain layer must stay usable without GitHub and without the harnesses
  // around it: the demo, the benchmarks and a future CLI reuse it.
  lib: {
    role: 'lib/ is the domain layer',
    forbidden: ['actions', 'sim', 'runner', 'test', 'bench'],
    scopes: [
      {
        scope: '@actions',
        message:
          "lib/ is the domain layer: it must not import GitHub's toolkit (@actions/*); actions/ adapts lib/ to it",
      },
      AGPL_EVALUATOR,
    ],
  },
  // The simulator stands in for AWS; sharing code with the product would let a
  // bug in one hide the same bug in the other.
  sim: {
    role: 'sim/ is the simulator, which shares no code with the product',
    forbidden: ['lib', 'actions', 'runner', 'test', 'bench'],
  },
  // The CDK app is deployed on its own (cdk synth from infra/); it stands alone.
  infra: {
    role: 'infra/ is the CDK app, which stands alone',
    forbidden: ['lib', 'actions', 'sim', 'runner', 'test', 'bench'],
    scopes: [AGPL_EVALUATOR],
  },
  // Benchmarks are a product of their own; what they share with the tests lives
  // in runner/ or lib/, so a test refactor never breaks a benchmark.
  bench: {
    role: 'bench/ holds the benchmarks',
    forbidden: ['test'],
  },
  // Actions ship as bundles: nothing of the harnesses may end up in dist/.
  actions: {
    role: 'actions/ is the action layer',
    forbidden: ['sim', 'runner', 'test', 'bench'],
    scopes: [AGPL_EVALUATOR],
  },
};

// Deeper than any folder today (3); a file deeper than this is not checked.
const MAX_DEPTH = 8;
const SOURCES = '*.{ts,mts,cts,js,mjs,cjs}';
// `import('x')` and the type `typeof import('x')`, which no-restricted-imports does not see.
const dynamicImport = ':matches(ImportExpression, TSImportType)';

function architectureRules() {
  const configs = [];
  for (const [layer, { role, forbidden, scopes = [] }] of Object.entries(LAYERS)) {
    for (let depth = 1; depth <= MAX_DEPTH; depth++) {
      // `(\.\./){depth}` from a file at this depth is the repository root.
      const toRoot = `^(\\./)?(\\.\\./){${depth}}`;
      const message = (folder) => `${role}: it must not import ${FOLDERS[folder]}`;
      configs.push({
        name: `architecture/${layer}/depth-${depth}`,
        files: [`${layer}/${'*/'.repeat(depth - 1)}${SOURCES}`],
        rules: {
          'no-restricted-imports': [
            'error',
            {
              patterns: [
                ...scopes.map(({ scope, message }) => ({ group: [`${scope}/*`], message })),
                ...forbidden.map((folder) => ({
                  regex: `${toRoot}${folder}(/|$)`,
                  message: message(folder),
                })),
              ],
            },
          ],
          // esquery reads a `/` as the end of the regex: \x2f stands for it.
          'no-restricted-syntax': [
            'error',
            ...forbidden.map((folder) => ({
              selector: `${dynamicImport}[source.value=/${toRoot.replaceAll('/', '\\x2f')}${folder}(\\x2f|$)/]`,
              message: message(folder),
            })),
            ...scopes.map(({ scope, message }) => ({
              selector: `${dynamicImport}[source.value=/^${scope}\\x2f/]`,
              message,
            })),
          ],
        },
      });
    }
  }
  return configs;
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.tmp/', '**/cdk.out/', 'examples/**/node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        fetch: 'readonly',
        performance: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...architectureRules(),
  {
    // Jest's recommended rules catch tests that pass without testing anything
    // (a focused or disabled test, an expect that never runs, a duplicate title).
    files: ['test/**/*.ts', 'infra/test/**/*.ts'],
    ...jest.configs['flat/recommended'],
    rules: {
      ...jest.configs['flat/recommended'].rules,
      'jest/expect-expect': [
        'warn',
        {
          assertFunctionNames: [
            'expect',
            // aws-cdk-lib/assertions: Template's methods throw on a mismatch.
            '**.hasResourceProperties',
            '**.hasResource',
            '**.hasOutput',
            '**.resourceCountIs',
            '**.templateMatches',
            // test/reliability: a Verdict's finish() throws with every unmet check.
            'v.finish',
          ],
        },
      ],
      // "No mock left unused" is checked once for every test, after it.
      'jest/no-standalone-expect': ['error', { additionalTestBlockFunctions: ['afterEach'] }],
      // Off: tests here choose the expectation per item of the data under test (each
      // resource of a synthesized template, an exit code a scenario allows either way),
      // which this rule reports; an expect that never runs is caught by expect-expect
      // and by expect.assertions where a test needs it.
      'jest/no-conditional-expect': 'off',
    },
  },
);
