/**
 * The runner's offlineNodeModules option (runner/offline-npm.ts): `npm ci` in a run: step links the given
 * node_modules instead of installing, at the repository root or its --prefix, also after a step added to
 * GITHUB_PATH; any other npm command is the real npm; without the option, npm is npm.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runWorkflow } from '../../../runner/run.js';

const dir = mkdtempSync(join(tmpdir(), 'offline-npm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const modules = join(dir, 'cached_node_modules');
mkdirSync(join(modules, 'left-pad'), { recursive: true });
writeFileSync(join(modules, 'left-pad', 'index.js'), 'module.exports = 1;\n');

const workflow = join(dir, 'npm.yml');
writeFileSync(
  workflow,
  `name: npm
on: push
jobs:
  install:
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo '{"name": "app", "version": "1.0.0"}' > package.json
          mkdir sub && cp package.json sub/
          npm ci
          readlink node_modules
          echo /opt/nothing-here >> "$GITHUB_PATH"
      - run: |
          npm ci --prefix "$GITHUB_WORKSPACE/sub"
          test -f sub/node_modules/left-pad/index.js && echo "sub has left-pad"
          echo "npm $(npm --version)"
`,
);

async function run(offlineNodeModules?: string): Promise<{ conclusion: string; log: string }> {
  const lines: string[] = [];
  const record = await runWorkflow(workflow, {
    repoRoot: dir,
    event: 'push',
    log: (line) => lines.push(line),
    ...(offlineNodeModules ? { offlineNodeModules } : {}),
  });
  return { conclusion: record.conclusion, log: lines.join('\n') };
}

describe('RunnerOptions.offlineNodeModules', () => {
  it('links the node_modules for npm ci (root and --prefix, after a GITHUB_PATH change); other commands are npm', async () => {
    const { conclusion, log } = await run(modules);
    expect({ conclusion, tail: conclusion === 'success' ? '' : log.slice(-2000) }).toEqual({
      conclusion: 'success',
      tail: '',
    });
    expect(log).toContain(`npm ci (local runner): linked ${modules} as ./node_modules instead of installing`);
    expect(log.split('\n')).toContain(`    ${modules}`);
    expect(log).toContain('sub has left-pad');
    expect(log).toMatch(/npm \d+\.\d+\.\d+/);
  }, 60_000);
});
