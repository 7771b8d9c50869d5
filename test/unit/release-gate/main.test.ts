/**
 * release-gate's main through the action host: inputs refused before any AWS
 * call (naming the input), the gate written and read back as the `gate`
 * output, and `closed` working without `deployments`.
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import * as core from '../../../actions/__fixtures__/core.js';

jest.unstable_mockModule('@actions/core', () => core);
const { run } = await import('../../../actions/release-gate/src/main.js');

const GATE = '/alva-staging/release-gate';
const REV = 'arn:aws:ecs:us-east-1:123456789012:service-revision/alva/alva-web/77';
const ssm = mockClient(SSMClient);
let inputs: Record<string, string> = {};
let stored: string | undefined;

beforeEach(() => {
  jest.clearAllMocks();
  core.summary.emptyBuffer();
  ssm.reset();
  stored = undefined;
  process.env.AWS_REGION = 'us-east-1';
  ssm
    .on(GetParameterCommand)
    .callsFake(() =>
      stored === undefined
        ? Promise.reject(Object.assign(new Error('not found'), { name: 'ParameterNotFound' }))
        : Promise.resolve({ Parameter: { Name: GATE, Value: stored, Version: 1 } }),
    );
  ssm.on(PutParameterCommand).callsFake((input: { Value: string }) => {
    stored = input.Value;
    return Promise.resolve({ Version: 1 });
  });
  inputs = { parameter: GATE, release: 'run-1' };
  core.getInput.mockImplementation((name: string) => inputs[name] ?? '');
});
afterEach(() => {
  process.exitCode = undefined;
});

describe('release-gate main', () => {
  it('open without deployments: an input error naming it, before any AWS call', async () => {
    inputs.state = 'open';
    await run();
    expect(core.error).toHaveBeenCalledWith(
      expect.stringMatching(/^Input "deployments": is required with `state: open`/),
      { title: 'deployments' },
    );
    expect(ssm.calls()).toHaveLength(0);
    expect(process.exitCode).toBe(1);
  });

  it('an unknown state: an input error naming it, before any AWS call', async () => {
    inputs.state = 'go';
    await run();
    expect(core.error).toHaveBeenCalledWith(
      expect.stringMatching(/^Input "state": "go" is not a gate state/),
      {
        title: 'state',
      },
    );
    expect(ssm.calls()).toHaveLength(0);
  });

  it('open with deployments: the gate lists the blue/green revision, read back as the `gate` output', async () => {
    stored = JSON.stringify({ release: 'run-1', state: 'pending', revisions: [] });
    inputs.state = 'open';
    inputs.deployments = JSON.stringify({
      'alva-web': {
        taskDefinition: 'alva-web:2',
        status: 'deployed',
        strategy: 'BLUE_GREEN',
        serviceRevisionArn: REV,
      },
      'alva-worker': { taskDefinition: 'alva-worker:2', status: 'deployed', strategy: 'ROLLING' },
    });
    await run();
    expect(process.exitCode).toBeUndefined();
    expect(core.setOutput).toHaveBeenCalledWith(
      'gate',
      JSON.stringify({ release: 'run-1', state: 'open', revisions: [REV] }),
    );
    expect(core.summary.stringify()).toContain(`# Release gate ${GATE}: open`);
  });

  it('closed needs no deployments, says why by default, and leaves another release’s gate alone', async () => {
    inputs.state = 'closed';
    await run();
    expect(JSON.parse(stored!)).toEqual({
      release: 'run-1',
      state: 'closed',
      revisions: [],
      reason: 'the release run failed or was cancelled',
    });
    stored = JSON.stringify({ release: 'run-2', state: 'pending', revisions: [] });
    ssm.resetHistory();
    await run();
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
    expect(core.warning).toHaveBeenCalledWith(
      expect.stringMatching(/not closed: release run-2 holds the gate/),
    );
    expect(process.exitCode).toBeUndefined();
  });

  it('release defaults to <run id>-<run attempt>', async () => {
    delete inputs.release;
    inputs.state = 'pending';
    process.env.GITHUB_RUN_ID = '4242';
    process.env.GITHUB_RUN_ATTEMPT = '2';
    try {
      await run();
    } finally {
      delete process.env.GITHUB_RUN_ID;
      delete process.env.GITHUB_RUN_ATTEMPT;
    }
    expect(JSON.parse(stored!)).toMatchObject({ release: '4242-2', state: 'pending' });
  });
});
