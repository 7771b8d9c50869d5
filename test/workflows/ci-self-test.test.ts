/**
 * ci.yml's self-test job, run by the local runner: it installs the project in
 * a fresh copy, starts the simulator in the background, and runs each action
 * with `uses: ./actions/<name>`; the runner ends the background simulator with
 * the job.
 */
import { describe, expect, it } from '@jest/globals';
import { createConnection } from 'node:net';
import { resolve } from 'node:path';
import { repositoryRoot, runWorkflow } from '../../runner/run.js';

function listening(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('error', () => done(false));
  });
}

describe('ci.yml self-test job through the local runner', () => {
  it('passes, and leaves no simulator running after the job', async () => {
    const lines: string[] = [];
    const run = await runWorkflow(resolve(repositoryRoot, '.github/workflows/ci.yml'), {
      repoRoot: repositoryRoot,
      event: 'push',
      jobs: ['self-test'],
      log: (line) => lines.push(line),
    });
    const log = lines.join('\n');
    expect({
      conclusion: run.conclusion,
      tail: run.conclusion === 'success' ? '' : log.slice(-3000),
    }).toEqual({
      conclusion: 'success',
      tail: '',
    });
    expect(run.jobs.map((j) => [j.id, j.result])).toEqual([
      ['checks', 'skipped'],
      ['self-test', 'success'],
    ]);
    const uses = run.jobs[1]!.steps.filter((s) => s.name.startsWith('Run ./actions/'));
    expect(uses.map((s) => [s.name, s.conclusion])).toEqual([
      ['Run ./actions/migrate', 'success'],
      ['Run ./actions/deploy-services', 'success'],
      ['Run ./actions/verify', 'success'],
    ]);
    expect(await listening(4566)).toBe(false);
  }, 240_000);
});
