import { describe, expect, it } from '@jest/globals';
import type { Task } from '@aws-sdk/client-ecs';
import type { TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import { isRunningTaskOf, judgeTargetHealth, matchTask } from '../../../lib/ecs/target-health.js';
import { taskEniAddress } from '../../../lib/ecs/tasks.js';

const TD = (rev: number) => `arn:aws:ecs:us-east-1:123456789012:task-definition/alva-web:${rev}`;

function task(id: string, ip: string, rev: number, status = 'RUNNING', desired = 'RUNNING'): Task {
  return {
    taskArn: `arn:aws:ecs:us-east-1:123456789012:task/alva-staging-cluster/${id}`,
    taskDefinitionArn: TD(rev),
    lastStatus: status,
    desiredStatus: desired,
    attachments: [
      {
        type: 'ElasticNetworkInterface',
        details: [
          { name: 'subnetId', value: 'subnet-1' },
          { name: 'privateIPv4Address', value: ip },
        ],
      },
    ],
    containers: [{ name: 'web' }],
  };
}

function target(ip: string, state: string, reason?: string, port = 3000): TargetHealthDescription {
  return {
    Target: { Id: ip, Port: port },
    TargetHealth: { State: state as never, Reason: reason as never },
  };
}

const judge = (
  descriptions: TargetHealthDescription[],
  tasks: Task[],
  failOnStaleTargets: boolean,
  desiredCount = 2,
) =>
  judgeTargetHealth({
    tasks,
    descriptions,
    newTaskDefinitionArn: TD(7),
    containerName: 'web',
    containerPort: 3000,
    desiredCount,
    failOnStaleTargets,
  });

describe('taskEniAddress', () => {
  it('takes the ENI address from the attachment, else from the container network interface', () => {
    expect(taskEniAddress(task('a', '10.0.1.5', 7))).toBe('10.0.1.5');
    expect(
      taskEniAddress({
        taskArn: 't',
        containers: [{ name: 'web', networkInterfaces: [{ privateIpv4Address: '10.0.9.9' }] }],
      }),
    ).toBe('10.0.9.9');
  });
});

describe('matchTask', () => {
  it('matches address and container port, preferring the live task when an address was reused', () => {
    const stopped = task('old', '10.0.1.5', 6, 'STOPPED', 'STOPPED');
    const live = task('new', '10.0.1.5', 7);
    expect(matchTask({ id: '10.0.1.5', port: 3000 }, 'web', 3000, [stopped, live])).toBe(live);
    expect(matchTask({ id: '10.0.1.5', port: 8080 }, 'web', 3000, [live])).toBeUndefined();
    expect(matchTask({ id: '10.0.1.6', port: 3000 }, 'web', 3000, [live])).toBeUndefined();
    expect(matchTask({ id: '10.0.1.5', port: 3000 }, 'api', 3000, [live])).toBeUndefined();
  });
});

describe('isRunningTaskOf', () => {
  it('is a task of that revision, running and meant to keep running', () => {
    expect(isRunningTaskOf(task('a', '10.0.1.5', 7), TD(7))).toBe(true);
    expect(isRunningTaskOf(task('a', '10.0.1.5', 7), 'alva-web:7')).toBe(true);
    expect(isRunningTaskOf(task('a', '10.0.1.5', 6), TD(7))).toBe(false);
    expect(isRunningTaskOf(task('a', '10.0.1.5', 7, 'PENDING'), TD(7))).toBe(false);
    expect(isRunningTaskOf(task('a', '10.0.1.5', 7, 'RUNNING', 'STOPPED'), TD(7))).toBe(false);
  });
});

describe('judgeTargetHealth', () => {
  const newTasks = [task('a', '10.0.1.5', 7), task('b', '10.0.1.6', 7)];
  const withOldHealthy = {
    descriptions: [
      target('10.0.1.5', 'healthy'),
      target('10.0.1.6', 'healthy'),
      target('10.0.2.5', 'healthy'),
    ],
    tasks: [...newTasks, task('c', '10.0.2.5', 6)],
  };

  it('fails on a healthy old-revision target only with failOnStaleTargets (verify), not for the deploy wait', () => {
    const verify = judge(withOldHealthy.descriptions, withOldHealthy.tasks, true);
    const deploy = judge(withOldHealthy.descriptions, withOldHealthy.tasks, false);
    for (const j of [verify, deploy]) {
      expect(j.targets.map((t) => t.verdict)).toEqual(['serving', 'serving', 'stale']);
      expect(j).toMatchObject({ serving: 2, stale: 1, notServing: [] });
    }
    expect(verify.ok).toBe(false);
    expect(deploy.ok).toBe(true);
  });

  it('names each new task without a healthy target by its target state, or unregistered', () => {
    const j = judge(
      [target('10.0.1.5', 'unhealthy', 'Target.Timeout'), target('10.0.2.5', 'healthy')],
      [...newTasks, task('c', '10.0.2.5', 6)],
      false,
    );
    expect(j.ok).toBe(false);
    expect(j.notServing.map((n) => [n.task.taskArn?.split('/').at(-1), n.state, n.reason])).toEqual([
      ['a', 'unhealthy', 'Target.Timeout'],
      ['b', 'unregistered', undefined],
    ]);
  });

  it('needs every running new task healthy and at least the desired count; verify wants exactly that many', () => {
    const three = [...newTasks, task('d', '10.0.1.7', 7)];
    const allHealthy = [
      target('10.0.1.5', 'healthy'),
      target('10.0.1.6', 'healthy'),
      target('10.0.1.7', 'healthy'),
    ];
    expect(judge(allHealthy, three, false).ok).toBe(true);
    expect(judge(allHealthy, three, true).ok).toBe(false);
    expect(judge(allHealthy.slice(0, 1), newTasks.slice(0, 1), false).ok).toBe(false);
  });

  it('ignores draining targets and tasks told to stop', () => {
    const j = judge(
      [target('10.0.1.5', 'healthy'), target('10.0.1.6', 'healthy'), target('10.0.2.5', 'draining')],
      [...newTasks, task('c', '10.0.2.5', 7, 'RUNNING', 'STOPPED')],
      true,
    );
    expect(j.targets.map((t) => t.verdict)).toEqual(['serving', 'serving', 'draining']);
    expect(j.newTasks).toHaveLength(2);
    expect(j.ok).toBe(true);
  });
});
