/**
 * `npm run test:unit` is the inner loop, well under a minute (issue #14): no
 * test in it drives the CDK CLI. A `cdk deploy` of the app against the
 * simulator takes minutes of real time (the CLI polls in real time); those
 * tests belong to `test:infra`, with the rest of what synthesizes and deploys
 * infra/. Which files a subset runs is read from jest itself (`--listTests`).
 */
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');

/** The test files of one jest project (a `test:<name>` subset), relative to the repository. */
function subset(name: string): string[] {
  const out = execFileSync(
    process.execPath,
    [resolve(root, 'node_modules/jest/bin/jest.js'), '--listTests', '--json', '--selectProjects', name],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return (JSON.parse(out) as string[]).map((file) => relative(root, file)).sort();
}

/** Starts the CDK CLI: its binary by path, or the shared helper that does (test/sim/cdk-cli.ts). */
const DRIVES_CDK_CLI = /['"]\.bin['"],\s*['"]cdk['"]|from\s+['"][^'"]*\/cdk-cli\.js['"]/;

describe('test subsets', () => {
  it('test:unit runs no test that drives the CDK CLI; test:infra runs them', () => {
    const drivesCli = (file: string) => DRIVES_CDK_CLI.test(readFileSync(resolve(root, file), 'utf8'));
    const unit = subset('unit');
    expect(unit.length).toBeGreaterThan(0);
    expect(unit.filter(drivesCli)).toEqual([]);
    expect(subset('infra')).toEqual(expect.arrayContaining(['test/sim/cdk-deploy.test.ts']));
  });
});
