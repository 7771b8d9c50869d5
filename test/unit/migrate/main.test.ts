import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import * as core from '../../../actions/__fixtures__/core.js';

jest.unstable_mockModule('@actions/core', () => core);
const { run } = await import('../../../actions/migrate/src/main.js');

const ecsMock = mockClient(ECSClient);
const logsMock = mockClient(CloudWatchLogsClient);
const TASK_ARN = 'arn:aws:ecs:us-east-1:123456789012:task/alva-staging-cluster/abc123';
const TD_ARN = 'arn:aws:ecs:us-east-1:123456789012:task-definition/alva-migrations:1';

let inputs: Record<string, string> = {};

function stoppedWith(exitCode: number) {
  ecsMock.on(DescribeTasksCommand).resolves({
    tasks: [
      {
        taskArn: TASK_ARN,
        lastStatus: 'STOPPED',
        stopCode: 'EssentialContainerExited',
        stoppedReason: 'Essential container in task exited',
        containers: [{ name: 'migrations', exitCode }],
      },
    ],
  });
}

beforeEach(() => {
  jest.clearAllMocks();
  core.summary.emptyBuffer();
  ecsMock.reset();
  logsMock.reset();
  process.env.AWS_REGION = 'us-east-1';
  inputs = {
    cluster: 'alva-staging-cluster',
    'task-definition': 'alva-migrations',
    image: 'api:2',
    'network-from-service': 'alva-api',
  };
  core.getInput.mockImplementation((name: string) => inputs[name] ?? '');
  ecsMock.on(DescribeServicesCommand).resolves({
    services: [
      { status: 'ACTIVE', networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-1'] } } },
    ],
  });
  ecsMock.on(DescribeTaskDefinitionCommand).resolves({
    taskDefinition: {
      taskDefinitionArn: TD_ARN,
      family: 'alva-migrations',
      networkMode: 'awsvpc',
      containerDefinitions: [
        {
          name: 'migrations',
          image: 'api:1',
          essential: true,
          logConfiguration: {
            logDriver: 'awslogs',
            options: { 'awslogs-group': '/ecs/m', 'awslogs-stream-prefix': 'migrations' },
          },
        },
      ],
    },
  });
  ecsMock
    .on(RegisterTaskDefinitionCommand)
    .resolves({ taskDefinition: { taskDefinitionArn: TD_ARN.replace(/1$/, '2') } });
  ecsMock.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK_ARN, lastStatus: 'PROVISIONING' }] });
  // A stream holding two events: the forward token stays put at its end.
  logsMock.on(GetLogEventsCommand).callsFake(async (input: { nextToken?: string }) =>
    input.nextToken === 'f/2'
      ? { events: [], nextForwardToken: 'f/2' }
      : {
          events: [
            { timestamp: 1, message: 'applying 001' },
            { timestamp: 2, message: '::add-mask::not a command' },
          ],
          nextForwardToken: 'f/2',
        },
  );
});

afterEach(() => {
  process.exitCode = undefined;
  core.info.mockReset();
});

describe('migrate main', () => {
  it('writes the outputs and the summary on success', async () => {
    stoppedWith(0);
    await run();
    expect(core.setFailed).not.toHaveBeenCalled();
    expect(core.setOutput).toHaveBeenCalledWith('task-arn', TASK_ARN);
    expect(core.setOutput).toHaveBeenCalledWith('exit-code', '0');
    expect(core.setOutput).toHaveBeenCalledWith('task-definition-arn', TD_ARN.replace(/1$/, '2'));
    expect(core.summary.write).toHaveBeenCalled();
    expect(core.summary.stringify()).toContain('Migration succeeded');
    // The task's lines are printed once, between stop-commands and its closing token.
    const printed = core.info.mock.calls.map((c) => c[0]);
    const at = printed.indexOf('::add-mask::not a command');
    const token = printed[at - 2]!.replace('::stop-commands::', '');
    expect(printed[at - 2]).toMatch(/^::stop-commands::/);
    expect(printed[at + 1]).toBe(`::${token}::`);
    expect(printed.filter((l) => l === 'applying 001')).toHaveLength(1);
  });

  it('fails with the exit code, container line and last log lines', async () => {
    stoppedWith(1);
    await run();
    expect(core.setOutput).toHaveBeenCalledWith('exit-code', '1');
    const message = core.setFailed.mock.calls[0]![0] as string;
    expect(message).toContain('Migration failed: container migrations exited with code 1');
    expect(message).toContain('Last log lines:\n  applying 001');
  });

  it('writes task-arn and task-definition-arn, and where the task stands, when the watch breaks', async () => {
    stoppedWith(0);
    core.info.mockImplementation((message: string) => {
      if (message === 'applying 001') throw new TypeError('the log printer broke');
    });
    await run();
    expect(core.setOutput).toHaveBeenCalledWith('task-arn', TASK_ARN);
    expect(core.setOutput).toHaveBeenCalledWith('task-definition-arn', TD_ARN.replace(/1$/, '2'));
    expect(core.setFailed).toHaveBeenCalledWith(expect.stringContaining('the log printer broke'));
    expect(process.exitCode).toBe(1);
    const summary = core.summary.stringify();
    expect(summary).toContain('Migration failed');
    expect(summary).toMatch(
      /Where the task stands: .*task abc123: STOPPED \(EssentialContainerExited: Essential container in task exited\), read from AWS at \d\d:\d\d:\d\d UTC/s,
    );
  });

  it('fails on bad input without calling AWS', async () => {
    inputs.command = 'migrate && seed';
    await run();
    expect(core.error).toHaveBeenCalledWith(expect.stringContaining('Input "command"'), { title: 'command' });
    expect(process.exitCode).toBe(1);
    expect(ecsMock.calls()).toHaveLength(0);
    expect(core.summary.stringify()).toContain('Migration failed');
  });
});
