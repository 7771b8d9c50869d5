/**
 * `npm run sim -- --empty --bootstrap`: a simulator started by hand on an
 * empty account that `cdk bootstrap` has prepared, where the project's own CDK
 * CLI deploys and diffs a stack as it would on AWS (sim/README.md, "The CDK
 * bootstrap and `cdk deploy`"). Without `--bootstrap` the CLI stops with its
 * own "Has the environment been bootstrapped?".
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { freePort } from './helpers.js';
import { adminCredentials, calls, cdk, cdkDeploy, clientConfig, infraAssembly, outcome } from './cdk-cli.js';

const children: ChildProcess[] = [];
afterAll(() => {
  // npm runs tsx in a shell: end the whole process group each test started.
  for (const child of children) if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
});

/** `npm run sim -- ARGS --port P --speed 10`, once it printed its URL: the URL and what it printed. */
async function simByHand(args: string[]): Promise<{ url: string; output: string }> {
  const port = await freePort();
  const child = spawn('npm', ['run', 'sim', '--', ...args, '--port', String(port), '--speed', '10'], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      // The last line it prints for a bootstrapped world is the cdk command.
      if (output.includes(url) && output.includes('control API')) {
        clearTimeout(timer);
        setTimeout(resolve, 200);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited ${code}:\n${output}`)));
  });
  return { url, output };
}

describe('npm run sim -- --bootstrap', () => {
  it('an empty bootstrapped account started by hand takes cdk deploy and cdk diff of a stack', async () => {
    const sim = await simByHand(['--empty', '--bootstrap']);
    expect(sim.output).toContain('an empty account, CDK-bootstrapped');
    expect(sim.output).toContain(`-d '{"roleName":"admin"}'`);
    const credentials = await adminCredentials(sim);
    const app = infraAssembly();

    const deployed = await cdkDeploy(sim, credentials, app, ['AlvaStagingRegistry']);
    expect(outcome(deployed)).toEqual({ code: 0, tail: '' });
    const cfn = new CloudFormationClient(clientConfig(sim, credentials));
    try {
      const { Stacks = [] } = await cfn.send(new DescribeStacksCommand({ StackName: 'AlvaStagingRegistry' }));
      expect(Stacks[0]?.StackStatus).toBe('CREATE_COMPLETE');
    } finally {
      cfn.destroy();
    }
    // Through the bootstrap roles, as on AWS: the deploy role made the change set.
    const created = (await calls(sim)).filter((c) => c.operation === 'CreateChangeSet' && c.status === 200);
    expect(created.map((c) => c.gate?.principal)).toEqual([
      expect.stringContaining(':assumed-role/cdk-hnb659fds-deploy-role-'),
    ]);

    // cdk diff: the deployed stack has no differences, the one not deployed would be created.
    const same = await cdk(sim, credentials, ['diff', 'AlvaStagingRegistry', '--app', app]);
    expect(outcome(same)).toEqual({ code: 0, tail: '' });
    expect(same.output).toContain('There were no differences');
    const fresh = await cdk(sim, credentials, ['diff', 'AlvaStagingSecrets', '--app', app]);
    expect(outcome(fresh)).toEqual({ code: 0, tail: '' });
    expect(fresh.output).toMatch(/\[\+\] AWS::SecretsManager::Secret/);
  }, 600_000);

  it("without --bootstrap, cdk deploy stops with the CLI's own bootstrap message", async () => {
    const sim = await simByHand(['--empty']);
    const run = await cdkDeploy(sim, await adminCredentials(sim), infraAssembly(), ['AlvaStagingRegistry']);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('Has the environment been bootstrapped?');
  }, 300_000);
});
