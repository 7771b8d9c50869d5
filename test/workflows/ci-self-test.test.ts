/**
 * ci.yml's self-test job, run by the local runner: it installs the project in
 * a fresh copy, starts the simulator in the background, and runs each action
 * with `uses: ./actions/<name>`; the runner ends the background simulator with
 * the job. The simulator gets a free port through SIM_PORT in the runner's
 * environment, so a LocalStack on 4566 or a second run does not collide.
 */
import { describe, expect, it } from '@jest/globals';
import { createConnection } from 'node:net';
import { resolve } from 'node:path';
import { repositoryRoot } from '../../runner/repo.js';
import { runWorkflow } from '../../runner/run.js';
import { freePort } from '../sim/helpers.js';
import { expectRunSucceeded } from './run-outcome.js';

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
    const port = await freePort();
    const run = await runWorkflow(resolve(repositoryRoot, '.github/workflows/ci.yml'), {
      repoRoot: repositoryRoot,
      event: 'push',
      jobs: ['self-test'],
      env: { SIM_PORT: String(port) },
      log: (line) => lines.push(line),
    });
    const log = lines.join('\n');
    expectRunSucceeded(run, log);
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
    expect(run.jobs[1]!.steps.find((s) => s.id === 'sim')?.outputs.port).toBe(String(port));
    expect(await listening(port)).toBe(false);
  }, 240_000);
});
