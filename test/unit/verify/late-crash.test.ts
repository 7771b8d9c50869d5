/** verify's late crash: a task of the new revision seen at one poll and gone at a later one, because it failed. */
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { DescribeServicesCommand, DescribeTasksCommand, ECSClient, type Task } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { lateCrashProblems, TaskWatch } from '../../../lib/verify/late-crash.js';

const TD = (rev: number) => `arn:aws:ecs:us-east-1:123456789012:task-definition/alva-api:${rev}`;
const ecsMock = mockClient(ECSClient);
const task = (id: string, rev: number, desiredStatus = 'RUNNING'): Task => ({
  taskArn: `arn:aws:ecs:us-east-1:123456789012:task/alva/${id}`,
  taskDefinitionArn: TD(rev),
  lastStatus: 'RUNNING',
  desiredStatus,
});
const clients = {
  ecs: new ECSClient({ region: 'us-east-1' }),
  elbv2: async () => new ElasticLoadBalancingV2Client({ region: 'us-east-1' }),
  logs: async () => new CloudWatchLogsClient({ region: 'us-east-1' }),
};

beforeEach(() => {
  ecsMock.reset();
});

describe('TaskWatch', () => {
  it('returns the new revision tasks seen before and gone now, each once; old revisions are not followed', () => {
    const watch = new TaskWatch();
    expect(watch.gone('api', [task('a', 2), task('old', 1)], TD(2))).toEqual([]);
    expect(watch.gone('api', [task('b', 2)], TD(2))).toEqual([task('a', 2).taskArn]);
    expect(watch.gone('api', [task('b', 2)], TD(2))).toEqual([]);
  });
});

describe('lateCrashProblems', () => {
  it('a task that stopped for a failure fails verification with its stop reason and exit code', async () => {
    const watch = new TaskWatch();
    const input = { cluster: 'alva', service: 'alva-api', newTaskDefinition: TD(2), watch, clients };
    expect(await lateCrashProblems({ ...input, running: [task('a', 2)] })).toEqual([]);
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [
        {
          ...task('a', 2, 'STOPPED'),
          lastStatus: 'STOPPED',
          stopCode: 'EssentialContainerExited',
          stoppedReason: 'Essential container in task exited',
          containers: [{ name: 'api', exitCode: 1, lastStatus: 'STOPPED' }],
        },
      ],
    });
    ecsMock.on(DescribeServicesCommand).resolves({ services: [] });
    const problems = await lateCrashProblems({ ...input, running: [task('b', 2)] });
    expect(problems[0]).toBe(
      'alva-api: 1 task of the new revision alva-api:2 stopped during verification after running:',
    );
    expect(problems[1]).toBe(
      'alva-api:   task a stopped: EssentialContainerExited: Essential container in task exited; container api: exit code 1',
    );
  });

  it('a task stopped by scaling or a newer deployment is no late crash', async () => {
    const watch = new TaskWatch();
    const input = { cluster: 'alva', service: 'alva-api', newTaskDefinition: TD(2), watch, clients };
    await lateCrashProblems({ ...input, running: [task('a', 2)] });
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [
        {
          ...task('a', 2, 'STOPPED'),
          stopCode: 'ServiceSchedulerInitiated',
          stoppedReason: 'Scaling activity initiated by (deployment ecs-svc/1)',
        },
      ],
    });
    expect(await lateCrashProblems({ ...input, running: [] })).toEqual([]);
  });
});
