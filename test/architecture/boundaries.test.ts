/**
 * The architecture rules in eslint.config.js fire: each deliberate violation
 * below is what `npm run lint` reports for a file at that path (the files need
 * not exist: ESLint lints the text as if it were there).
 */
import { describe, expect, it } from '@jest/globals';
import { resolve } from 'node:path';
import { ESLint } from 'eslint';

const eslint = new ESLint({ cwd: resolve(import.meta.dirname, '..', '..') });

/** The rule and message of every problem ESLint reports for `code` at `filePath`. */
async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

const pattern = (source: string, rule: string) =>
  `no-restricted-imports: '${source}' import is restricted from being used by a pattern. ${rule}`;

describe('architecture rules', () => {
  it.each([
    {
      file: 'lib/x/violation.ts',
      source: '../../actions/verify/src/main.js',
      rule: 'lib/ is the domain layer: it must not import the action layer (actions/)',
    },
    {
      file: 'lib/violation.ts',
      source: '../actions/_common/run.js',
      rule: 'lib/ is the domain layer: it must not import the action layer (actions/)',
    },
    {
      file: 'lib/x/violation.ts',
      source: '@actions/core',
      rule: "lib/ is the domain layer: it must not import GitHub's toolkit (@actions/*); actions/ adapts lib/ to it",
    },
    {
      file: 'lib/ecs/deep/violation.ts',
      source: '../../../test/unit/fixtures.js',
      rule: 'lib/ is the domain layer: it must not import the tests (test/)',
    },
    {
      file: 'sim/services/violation.ts',
      source: '../../lib/errors.js',
      rule: 'sim/ is the simulator, which shares no code with the product: it must not import the domain layer (lib/)',
    },
    {
      file: 'sim/violation.ts',
      source: '../actions/deploy-services/src/inputs.js',
      rule: 'sim/ is the simulator, which shares no code with the product: it must not import the action layer (actions/)',
    },
    {
      file: 'infra/lib/stacks/violation.ts',
      source: '../../../lib/errors.js',
      rule: 'infra/ is the CDK app, which stands alone: it must not import the domain layer (lib/)',
    },
    {
      file: 'bench/violation.ts',
      source: '../test/e2e/run-action.js',
      rule: 'bench/ holds the benchmarks: it must not import the tests (test/)',
    },
    {
      file: 'actions/verify/src/violation.ts',
      source: '../../../sim/index.js',
      rule: 'actions/ is the action layer: it must not import the simulator (sim/)',
    },
  ])('$file importing $source fails the lint', async ({ file, source, rule }) => {
    expect(await problems(file, `import * as m from '${source}';\nexport { m };\n`)).toEqual([
      pattern(source, rule),
    ]);
  });

  it('a dynamic import() breaks the rule too', async () => {
    expect(
      await problems('lib/ecs/violation.ts', "export const m = await import('../../actions/x.js');\n"),
    ).toEqual([
      'no-restricted-syntax: lib/ is the domain layer: it must not import the action layer (actions/)',
    ]);
  });

  it('and so does a type taken with typeof import()', async () => {
    expect(await problems('sim/violation.ts', "export type Log = typeof import('../lib/log.js');\n")).toEqual(
      [
        'no-restricted-syntax: sim/ is the simulator, which shares no code with the product: it must not import the domain layer (lib/)',
      ],
    );
  });

  it.each([
    { file: 'lib/ecs/allowed.ts', source: '../errors.js', why: 'lib/ importing lib/' },
    {
      file: 'lib/ecs/allowed.ts',
      source: './test/helpers.js',
      why: 'a folder named test inside lib/ is lib/',
    },
    {
      file: 'infra/lib/stacks/allowed.ts',
      source: '../../lib/config/services.js',
      why: "infra's own infra/lib/",
    },
    {
      file: 'actions/verify/src/allowed.ts',
      source: '../../../lib/errors.js',
      why: 'actions/ importing lib/',
    },
    { file: 'bench/allowed.ts', source: '../sim/index.js', why: 'bench/ driving the simulator' },
    {
      file: 'test/unit/allowed.ts',
      source: '../../actions/verify/src/main.js',
      why: 'tests import anything',
    },
  ])('$why is allowed', async ({ file, source }) => {
    expect(await problems(file, `import * as m from '${source}';\nexport { m };\n`)).toEqual([]);
  });
});
