/** scripts/check-shell-interpolation.mjs (run by `npm run lint`): data never becomes shell source. */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { repositoryRoot } from '../../runner/repo.js';

const script = resolve(repositoryRoot, 'scripts/check-shell-interpolation.mjs');

function check(tree: Record<string, string>): { status: number | null; out: string } {
  const root = mkdtempSync(join(tmpdir(), 'shell-interpolation-'));
  try {
    for (const [path, text] of Object.entries(tree)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    const result = spawnSync(process.execPath, [script, root], { encoding: 'utf8' });
    return { status: result.status, out: result.stdout + result.stderr };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const workflow = (run: string, env = '') => `on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - id: x
        run: echo ok
      - name: use it
${env}        run: ${run}
`;

describe('check-shell-interpolation', () => {
  it.each([
    ["echo '${{ steps.x.outputs.y }}' | jq ."],
    ['echo "${{ needs.build.outputs.images }}"'],
    ['echo ${{ inputs.images }}'],
    ['echo "${{ github.event.pull_request.title }}"'],
    ['|\n          set -e\n          node -e "${{ fromJSON(steps.x.outputs.y).a }}"'],
  ])('fails on a workflow run: that interpolates data: %s', (run) => {
    const { status, out } = check({ '.github/workflows/a.yml': workflow(run) });
    expect(status).toBe(1);
    expect(out).toMatch(/\.github\/workflows\/a\.yml:\d+: run: interpolates \$\{\{.*\}\} into shell source/);
  });

  it('fails on a README yaml example, naming its line', () => {
    const readme = "# x\n\n```yaml\n- run: echo '${{ steps.deploy.outputs.deployments }}' | jq\n```\n";
    const { status, out } = check({ 'actions/a/README.md': readme });
    expect(status).toBe(1);
    expect(out).toContain('actions/a/README.md:4: run: interpolates ${{ steps.deploy.outputs.deployments }}');
  });

  it('passes data through env:, and expressions of other contexts or outside run:', () => {
    const env = '        env:\n          Y: ${{ steps.x.outputs.y }}\n';
    const { status, out } = check({
      '.github/workflows/a.yml': workflow('jq . <<<"$Y"', env),
      '.github/workflows/b.yml': workflow('echo "${{ runner.temp }} ${{ github.sha }}"'),
      'README.md': '```yaml\n- uses: ./a\n  with:\n    images: ${{ steps.build.outputs.images }}\n```\n',
    });
    expect({ status, out }).toEqual({ status: 0, out: expect.stringContaining('no run: script') });
  });

  it('passes this repository', () => {
    const result = spawnSync(process.execPath, [script, repositoryRoot], { encoding: 'utf8' });
    expect({ status: result.status, out: result.stdout + result.stderr }).toEqual({
      status: 0,
      out: expect.stringContaining('no run: script'),
    });
  });
});
