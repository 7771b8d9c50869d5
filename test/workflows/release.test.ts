/**
 * release.yml through the local runner, up to GitHub's API: the tag must be the
 * version package.json and CHANGELOG.md carry, dist/ must be the bundle of the
 * tagged tree (check-dist for real), and only then are the Release and the
 * major tag written. `gh` is GitHub's API here: a stand-in on PATH records
 * every call, so the test sees exactly what would have been asked of GitHub.
 */
import { describe, expect, it } from '@jest/globals';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { repositoryRoot } from '../../runner/repo.js';
import { runWorkflow } from '../../runner/run.js';
import { expectRunSucceeded } from './run-outcome.js';

const version = (
  JSON.parse(readFileSync(join(repositoryRoot, 'package.json'), 'utf8')) as { version: string }
).version;

/** A `gh` that records its arguments (one call per line) and answers "not found" for a ref lookup. */
interface GhCall {
  args: string[];
  /** The content of --notes-file, read when gh ran. */
  notes?: string;
}

function fakeGithubCli(): { bin: string; calls: () => GhCall[]; dispose: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'fake-gh-'));
  const log = join(dir, 'calls.jsonl');
  writeFileSync(
    join(dir, 'gh'),
    [
      '#!/usr/bin/env node',
      "const { appendFileSync, readFileSync } = require('node:fs');",
      'const args = process.argv.slice(2);',
      "const notesAt = args.indexOf('--notes-file');",
      "const notes = notesAt >= 0 ? readFileSync(args[notesAt + 1], 'utf8') : undefined;",
      `appendFileSync(${JSON.stringify(log)}, JSON.stringify({ args, notes }) + '\\n');`,
      'const [cmd, ...rest] = process.argv.slice(2);',
      "if (cmd === 'api' && !rest.includes('-X')) { console.error('gh: Not Found (HTTP 404)'); process.exit(1); }",
      '',
    ].join('\n'),
  );
  chmodSync(join(dir, 'gh'), 0o755);
  return {
    bin: dir,
    calls: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .trim()
            .split('\n')
            .map((line) => JSON.parse(line) as GhCall)
        : [],
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function release(tag: string) {
  const gh = fakeGithubCli();
  const lines: string[] = [];
  try {
    const run = await runWorkflow(resolve(repositoryRoot, '.github/workflows/release.yml'), {
      repoRoot: repositoryRoot,
      event: 'push',
      ref: `refs/tags/${tag}`,
      sha: '1111111111111111111111111111111111111111',
      repository: 'acme/ecs-ship',
      env: { PATH: `${gh.bin}:${process.env.PATH ?? ''}` },
      log: (line) => lines.push(line),
    });
    const steps = run.jobs[0]!.steps.map((s) => [s.name, s.conclusion]);
    return { run, steps, ghCalls: gh.calls(), log: lines.join('\n') };
  } finally {
    gh.dispose();
  }
}

describe('release.yml through the local runner', () => {
  it('refuses a tag that is not the version package.json carries, before anything reaches GitHub', async () => {
    const { run, steps, ghCalls, log } = await release('v0.0.1');
    expect(run.conclusion).toBe('failure');
    expect(steps.find(([name]) => name === 'The tag is the version being released')?.[1]).toBe('failure');
    expect(log).toContain(`tag v0.0.1 but package.json is at ${version}`);
    expect(ghCalls).toEqual([]);
  }, 300_000);

  it('checks dist/ at the tag, then creates the Release with the CHANGELOG section and moves the major tag', async () => {
    const tag = `v${version}`;
    const major = tag.split('.')[0]!;
    const { run, steps, ghCalls, log } = await release(tag);
    expectRunSucceeded(run, log);
    expect(steps.find(([name]) => name === 'dist/ is the bundle of the tagged source')?.[1]).toBe('success');
    const [create, ...majorTag] = ghCalls;
    expect(create!.args.slice(0, 3)).toEqual(['release', 'create', tag]);
    expect(create!.args).toEqual(expect.arrayContaining(['--verify-tag', '--notes-file']));
    const changelog = readFileSync(join(repositoryRoot, 'CHANGELOG.md'), 'utf8');
    const section = changelog.split(`## ${version}\n`)[1]!.split('\n## ')[0]!.trim();
    expect(create!.notes?.trim()).toBe(section);
    // The major tag: looked up, then created at the released commit.
    expect(majorTag.map((call) => call.args)).toEqual([
      ['api', `repos/acme/ecs-ship/git/refs/tags/${major}`, '--silent'],
      [
        'api',
        '-X',
        'POST',
        'repos/acme/ecs-ship/git/refs',
        '-f',
        `ref=refs/tags/${major}`,
        '-f',
        'sha=1111111111111111111111111111111111111111',
        '--silent',
      ],
    ]);
  }, 420_000);
});
