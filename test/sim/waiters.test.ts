/**
 * A client written by someone else works unchanged: the SDK's own waiters
 * against the simulator (delays scaled down, the simulator runs fast).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  ListTasksCommand,
  StopTaskCommand,
  UpdateServiceCommand,
  waitUntilServicesStable,
  waitUntilTasksStopped,
} from '@aws-sdk/client-ecs';
import { CLUSTER, startWithClients, stopClients, type Clients } from './helpers.js';

let c: Clients;
beforeAll(async () => {
  c = await startWithClients();
});
afterAll(() => stopClients(c));

describe('SDK waiters', () => {
  it('waitUntilServicesStable succeeds after an UpdateService, once the deployment has finished', async () => {
    await c.ecs.send(
      new UpdateServiceCommand({ cluster: CLUSTER, service: 'alva-auth', forceNewDeployment: true }),
    );
    const result = await waitUntilServicesStable(
      { client: c.ecs, maxWaitTime: 60, minDelay: 1, maxDelay: 1 },
      { cluster: CLUSTER, services: ['alva-auth', 'alva-web'] },
    );
    expect(result.state).toBe('SUCCESS');
    const { services } = await c.ecs.send(
      new DescribeServicesCommand({ cluster: CLUSTER, services: ['alva-auth'] }),
    );
    expect(services![0].deployments).toHaveLength(1);
    expect(services![0].deployments![0].rolloutState).toBe('COMPLETED');
    // Stable means the old task has drained and stopped too.
    const stopped = await c.ecs.send(
      new ListTasksCommand({ cluster: CLUSTER, serviceName: 'alva-auth', desiredStatus: 'STOPPED' }),
    );
    expect(stopped.taskArns).toHaveLength(1);
  });

  it('waitUntilTasksStopped succeeds after a StopTask, and the service replaces the task', async () => {
    const { taskArns } = await c.ecs.send(
      new ListTasksCommand({ cluster: CLUSTER, serviceName: 'alva-web' }),
    );
    const { task } = await c.ecs.send(
      new StopTaskCommand({ cluster: CLUSTER, task: taskArns![0], reason: 'Stopped by the waiter test' }),
    );
    expect(task!.desiredStatus).toBe('STOPPED');
    expect(task!.lastStatus).not.toBe('STOPPED');
    const result = await waitUntilTasksStopped(
      { client: c.ecs, maxWaitTime: 60, minDelay: 1, maxDelay: 1 },
      { cluster: CLUSTER, tasks: taskArns! },
    );
    expect(result.state).toBe('SUCCESS');
    const { tasks } = await c.ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: taskArns! }));
    expect(tasks![0]).toMatchObject({
      lastStatus: 'STOPPED',
      stopCode: 'UserInitiated',
      stoppedReason: 'Stopped by the waiter test',
    });
    expect(tasks![0].stoppedAt).toBeInstanceOf(Date);
    const again = await waitUntilServicesStable(
      { client: c.ecs, maxWaitTime: 60, minDelay: 1, maxDelay: 1 },
      { cluster: CLUSTER, services: ['alva-web'] },
    );
    expect(again.state).toBe('SUCCESS');
    const running = await c.ecs.send(new ListTasksCommand({ cluster: CLUSTER, serviceName: 'alva-web' }));
    expect(running.taskArns).toHaveLength(1);
    expect(running.taskArns![0]).not.toBe(taskArns![0]);
  });
});
