/**
 * Runs every benchmark of the repository, one after another (they measure
 * time: never two at once on a 2-core machine), each rewriting its table
 * under bench/results/:
 *
 *   startup          bench/startup.ts              -> startup.md
 *   reliability      bench/reliability-report.ts   -> reliability.md
 *   <name>           bench/<name>.ts, every other  -> <name>.md (deploy.ts, build.ts, …)
 *
 *   npx tsx bench/bench.ts [name ...]      run only the named benchmarks
 *
 * bench/reliability-mutation.ts is not a benchmark (it proves the matrix can
 * fail) and runs only when named. Exits non-zero when any benchmark failed;
 * the others still run.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const FIRST = ['startup', 'reliability-report'];
// official-action.ts is a module of deploy.ts (the official action's emulation), not a benchmark.
const ONLY_WHEN_NAMED = new Set(['bench', 'reliability-mutation', 'official-action']);
/** Arguments that make a benchmark write its full table (as its npm script does). */
const ARGS: Record<string, string[]> = { startup: ['--levers'] };

export function benchmarks(dir = join(root, 'bench')): string[] {
  const found = readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, -3))
    .filter((name) => !ONLY_WHEN_NAMED.has(name));
  const first = FIRST.filter((n) => found.includes(n));
  return [...first, ...found.filter((n) => !first.includes(n)).sort()];
}

function main(): number {
  const named = process.argv
    .slice(2)
    .map((n) => n.replace(/\.ts$/, '').replace(/^reliability$/, 'reliability-report'));
  const all = benchmarks();
  const run = named.length ? named : all;
  const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  const results: { name: string; status: number | null; seconds: number }[] = [];
  for (const name of run) {
    console.log(`\n=== bench/${name}.ts ===`);
    const started = Date.now();
    const child = spawnSync(process.execPath, [tsx, join('bench', `${name}.ts`), ...(ARGS[name] ?? [])], {
      cwd: root,
      stdio: 'inherit',
    });
    results.push({ name, status: child.status, seconds: (Date.now() - started) / 1000 });
  }
  console.log('\n=== summary ===');
  for (const r of results)
    console.log(`${r.status === 0 ? 'ok  ' : 'FAIL'} bench/${r.name}.ts (${r.seconds.toFixed(0)} s)`);
  return results.every((r) => r.status === 0) ? 0 : 1;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  process.exitCode = main();
}
