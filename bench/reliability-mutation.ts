/**
 * Shows that the fault matrix can fail: for each mutation below, breaks
 * deploy-services in a scratch copy of the repository, rebuilds that copy's
 * bundle, runs the matrix files that should notice against it, and writes
 * which scenarios caught each break to bench/results/reliability-mutation.md.
 * The checkout itself is never touched.
 *
 *   npx tsx bench/reliability-mutation.ts [mutation name...]   (default: all)
 *
 * Exits 0 when the matrix caught every mutation (some scenario failed), 1 when
 * a break went unnoticed, 2 when a mutation no longer applies (the code it
 * targets changed: update MUTATIONS below).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { readRows, RESULTS_ENV, type ReliabilityRow } from '../runner/reliability-results.js';

const root = resolve(import.meta.dirname, '..');

interface Mutation {
  name: string;
  file: string;
  description: string;
  find: RegExp;
  replace: string;
  /** The matrix files run against the broken bundle. */
  matrix: string[];
  /** Why scenarios that still pass did not need the broken code. */
  stillPassing: string;
}

const MUTATIONS: Mutation[] = [
  {
    name: 'rollback',
    file: 'lib/ecs/deploy/rollback.ts',
    description: 'rollBack() skips the last service it should put back (`touched.slice(0, -1)`)',
    // The first touched.map of the file: startRollbacks' UpdateService calls.
    find: /(\n\s*await Promise\.all\(\n\s*)touched\.map\(async \(s\) => \{/,
    replace: '$1touched.slice(0, -1).map(async (s) => {',
    matrix: ['test/reliability/deploy-services.faults.test.ts'],
    stillPassing:
      'the skipped service needed no rollback by this run (ECS had already rolled it back, or it was deleted) or the deploy succeeded',
  },
  {
    name: 'adopt',
    file: 'lib/ecs/deploy/plan.ts',
    description:
      'a rerun never adopts a deployment of its own images still in progress (the adoptable() verdict is ignored), so it reports the service "unchanged"',
    find: /(\n\s*const adopt = await adoptable\([^;]*\);\n\s*if \()adopt\) \{/,
    replace: '$1false) {',
    matrix: ['test/reliability/partial-failure.faults.test.ts'],
    stillPassing: 'no earlier run had left a deployment of the same images in progress',
  },
];

interface Outcome {
  mutation: Mutation;
  rows: ReliabilityRow[];
  jestExit: number | null;
  seconds: number;
}

/** A scratch copy of the working tree (no node_modules, history or build output; node_modules shared). */
function scratchCopy(scratch: string): string {
  const repo = join(scratch, 'repo');
  mkdirSync(repo);
  const excludes = ['--exclude=./node_modules', '--exclude=./.git', '--exclude=./infra/cdk.out'];
  execFileSync('tar', [...excludes, '-cf', join(scratch, 'repo.tar'), '.'], { cwd: root });
  execFileSync('tar', ['-xf', join(scratch, 'repo.tar')], { cwd: repo });
  symlinkSync(join(root, 'node_modules'), join(repo, 'node_modules'));
  return repo;
}

/** Applies one mutation in a scratch copy, rebuilds deploy-services there and runs its matrix; undefined: it no longer applies. */
function runMutation(mutation: Mutation): Outcome | undefined {
  const scratch = mkdtempSync(join(tmpdir(), 'reliability-mutation-'));
  const rowsFile = join(scratch, 'rows.jsonl');
  try {
    const repo = scratchCopy(scratch);
    const target = join(repo, mutation.file);
    const source = readFileSync(target, 'utf8');
    if (!mutation.find.test(source)) {
      console.error(
        `The mutation "${mutation.name}" no longer applies to ${mutation.file}: update MUTATIONS in bench/reliability-mutation.ts`,
      );
      return undefined;
    }
    writeFileSync(target, source.replace(mutation.find, mutation.replace));
    console.log(`Mutated ${mutation.file}: ${mutation.description}; bundling the scratch copy…`);
    execFileSync(process.execPath, ['scripts/bundle.mjs', 'deploy-services'], {
      cwd: repo,
      stdio: 'inherit',
    });
    console.log(`Running ${mutation.matrix.join(' ')} against the broken bundle…`);
    const started = Date.now();
    const jest = spawnSync(
      process.execPath,
      [join(root, 'node_modules', 'jest', 'bin', 'jest.js'), ...mutation.matrix],
      {
        cwd: repo,
        stdio: 'inherit',
        env: {
          ...process.env,
          [RESULTS_ENV]: rowsFile,
          NODE_OPTIONS: '--experimental-vm-modules --disable-warning=ExperimentalWarning',
        },
      },
    );
    return {
      mutation,
      rows: readRows(rowsFile),
      jestExit: jest.status,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function render(outcomes: Outcome[]): string {
  const cell = (t: string) => t.replace(/\|/g, '\\|');
  const lines = [
    '# Reliability: does the matrix catch a broken deploy-services?',
    '',
    `Generated by \`npx tsx bench/reliability-mutation.ts\` on ${new Date().toISOString().slice(0, 10)}. ` +
      'For each mutation, in a scratch copy of the repository, one piece of deploy-services was broken, ' +
      "the copy's deploy-services bundle was rebuilt, and the matrix files named ran against it.",
    '',
  ];
  for (const { mutation, rows, jestExit, seconds } of outcomes) {
    const caught = rows.filter((r) => !r.pass);
    lines.push(
      `## ${mutation.name}: ${mutation.description}`,
      '',
      `${mutation.file} mutated; \`${mutation.matrix.join(' ')}\` (${seconds.toFixed(0)} s, jest exit ${jestExit}).`,
      '',
      `**${caught.length} of ${rows.length} scenarios failed** on the broken bundle` +
        (caught.length ? ': the matrix catches the break.' : ': the break went unnoticed.'),
      '',
      '| scenario | observed on the broken bundle |',
      '|---|---|',
      ...caught.map((r) => `| ${cell(r.scenario)} | ${cell(r.observed)} |`),
      '',
      `Scenarios that still passed are those where ${mutation.stillPassing}.`,
      '',
    );
  }
  return lines.join('\n');
}

function main(): number {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !MUTATIONS.some((m) => m.name === n));
  if (unknown.length) {
    console.error(
      `Unknown mutation(s) ${unknown.join(', ')}; known: ${MUTATIONS.map((m) => m.name).join(', ')}`,
    );
    return 2;
  }
  const chosen = names.length ? MUTATIONS.filter((m) => names.includes(m.name)) : MUTATIONS;
  const outcomes: Outcome[] = [];
  for (const mutation of chosen) {
    const outcome = runMutation(mutation);
    if (!outcome) return 2;
    outcomes.push(outcome);
  }
  const out = join(root, 'bench', 'results', 'reliability-mutation.md');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, render(outcomes));
  for (const { mutation, rows } of outcomes)
    console.log(
      `${mutation.name}: ${rows.filter((r) => !r.pass).length} of ${rows.length} scenarios caught the break`,
    );
  console.log(`Wrote ${relative(root, out)}`);
  return outcomes.every((o) => o.rows.some((r) => !r.pass)) ? 0 : 1;
}

process.exitCode = main();
