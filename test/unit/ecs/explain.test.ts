/**
 * The explain step: events chosen by relevance (a flood of routine events
 * does not push out the one that says why), a health-check stop explained
 * with the target group, the check and what it got whether or not a poll saw
 * the target, and the stopped-task explanation verify shares.
 */
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  type ServiceEvent,
  type Task,
  type TaskStopCode,
} from '@aws-sdk/client-ecs';
import {
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { EcsClients } from '../../../lib/ecs/clients.js';
import {
  describeStoppedTask,
  explainFailure,
  explainStoppedTasks,
  stoppedByFailure,
} from '../../../lib/ecs/explain.js';
import { parseUnhealthyEvent, relevantEvents } from '../../../lib/ecs/service-events.js';

const TG =
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/alva-staging-api/a907d090402c802d';
const TD = 'arn:aws:ecs:us-east-1:123456789012:task-definition/alva-api:2';
const at = (s: number) => new Date(Date.UTC(2026, 11, 1, 12, 0, s));

const ecs = mockClient(ECSClient);
const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const logs = mockClient(CloudWatchLogsClient);
const clients: EcsClients = {
  ecs: new ECSClient({ region: 'us-east-1' }),
  elbv2: async () => new ElasticLoadBalancingV2Client({ region: 'us-east-1' }),
  logs: async () => new CloudWatchLogsClient({ region: 'us-east-1' }),
};

function stoppedTask(
  id: string,
  reason: string,
  stopCode: TaskStopCode = 'ServiceSchedulerInitiated',
  exitCode = 143,
): Task {
  return {
    taskArn: `arn:aws:ecs:us-east-1:123456789012:task/alva/${id}`,
    taskDefinitionArn: TD,
    lastStatus: 'STOPPED',
    desiredStatus: 'STOPPED',
    stopCode,
    stoppedReason: reason,
    stoppedAt: at(50),
    containers: [{ name: 'api', exitCode, lastStatus: 'STOPPED' }],
  };
}

const unhealthyEvent: ServiceEvent = {
  createdAt: at(20),
  message: `(service alva-api) (port 3001) is unhealthy in (target-group ${TG}) due to (reason Health checks failed with these codes: [502]).`,
};

/** Newest first, as ECS gives them: the unhealthy event, then twelve routine ones after it. */
function floodedEvents(): ServiceEvent[] {
  const routine: ServiceEvent[] = [];
  for (let i = 0; i < 6; i++) {
    routine.push(
      { createdAt: at(40 - i), message: `(service alva-api) has started 1 tasks: (task t${i}).` },
      { createdAt: at(40 - i), message: `(service alva-api) deregistered 1 targets in (target-group ${TG})` },
    );
  }
  return [
    ...routine,
    unhealthyEvent,
    { createdAt: at(1), message: '(service alva-api) has reached a steady state.' },
  ];
}

beforeEach(() => {
  ecs.reset();
  elbv2.reset();
  logs.reset();
});

describe('service events', () => {
  it('keeps the event that says why even when routine events crowd the newest six', () => {
    const chosen = relevantEvents(floodedEvents(), { targetGroupArns: [TG], max: 6 });
    expect(chosen.map((e) => e.message)).toContain(unhealthyEvent.message);
    expect(chosen).toHaveLength(6);
  });

  it('prefers events naming the failed tasks, and drops those before the deployment began', () => {
    const events = [
      { createdAt: at(30), message: '(service alva-api) has started 1 tasks: (task aaa).' },
      { createdAt: at(29), message: '(service alva-api) has started 1 tasks: (task bbb).' },
      { createdAt: at(1), message: '(service alva-api) was unable to place a task.' },
    ];
    const chosen = relevantEvents(events, { taskIds: ['bbb'], since: at(10), max: 1 });
    expect(chosen.map((e) => e.message)).toEqual(['(service alva-api) has started 1 tasks: (task bbb).']);
  });

  it('reads what ECS says a health check got, with or without the task named', () => {
    expect(parseUnhealthyEvent(unhealthyEvent)).toEqual({
      targetGroup: TG,
      port: 3001,
      reason: 'Health checks failed with these codes: [502]',
      createdAt: at(20),
    });
    expect(
      parseUnhealthyEvent({
        message: `(service web) (task 0123456789abcdef) (port 80) is unhealthy in (target-group ${TG}) due to (reason Request timed out).`,
      }),
    ).toMatchObject({ taskId: '0123456789abcdef', reason: 'Request timed out' });
    expect(parseUnhealthyEvent({ message: '(service web) has reached a steady state.' })).toBeUndefined();
  });
});

describe('explainFailure', () => {
  function world(events: ServiceEvent[]): void {
    ecs.on(DescribeServicesCommand).resolves({
      services: [
        {
          serviceName: 'alva-api',
          status: 'ACTIVE',
          events,
          loadBalancers: [{ targetGroupArn: TG, containerName: 'api', containerPort: 3001 }],
        },
      ],
    });
    ecs
      .on(ListTasksCommand)
      .resolves({ taskArns: ['arn:aws:ecs:us-east-1:123456789012:task/alva/deadbeef01'] });
    ecs.on(DescribeTasksCommand).resolves({
      tasks: [stoppedTask('deadbeef01', `Task failed ELB health checks in (target-group ${TG})`)],
    });
    ecs.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: { taskDefinitionArn: TD, containerDefinitions: [{ name: 'api', essential: true }] },
    });
    elbv2.on(DescribeTargetGroupsCommand).resolves({
      TargetGroups: [
        {
          TargetGroupArn: TG,
          TargetGroupName: 'alva-staging-api',
          Port: 3001,
          HealthCheckProtocol: 'HTTP',
          HealthCheckPort: 'traffic-port',
          HealthCheckPath: '/api/health',
          HealthCheckIntervalSeconds: 5,
          HealthCheckTimeoutSeconds: 3,
          UnhealthyThresholdCount: 2,
          Matcher: { HttpCode: '200' },
        },
      ],
    });
    // The target is gone: no poll and no read now sees it unhealthy.
    elbv2.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [] });
  }

  it('names the target group, the health-check path and the 502 from the service event when no poll saw it', async () => {
    world(floodedEvents());
    const lines = await explainFailure(clients, { cluster: 'alva', service: 'alva-api', taskDefinition: TD });
    const health = lines.find((l) => l.startsWith('Health check of target group'));
    expect(health).toBe(
      'Health check of target group alva-staging-api: HTTP GET /api/health on the traffic port (3001), expecting 200 ' +
        '(every 5 s, 3 s timeout, unhealthy after 2 failures); it got: Health checks failed with these codes: [502] ' +
        '(ECS event 2026-12-01T12:00:20.000Z)',
    );
    expect(lines).toContain(`  2026-12-01T12:00:20.000Z ${unhealthyEvent.message}`);
    expect(lines.join('\n')).toContain('container api: exit code 143 (SIGTERM: ECS stopped it)');
  });

  it('prefers what a poll saw, and says so when nothing recorded what the check got', async () => {
    world([]);
    const seen = await explainFailure(clients, {
      cluster: 'alva',
      service: 'alva-api',
      taskDefinition: TD,
      seen: [{ targetGroupArn: TG, state: 'unhealthy', reason: 'Target.Timeout' }],
    });
    expect(seen.join('\n')).toContain('it got: Request timed out (target health seen by a poll)');
    const none = await explainFailure(clients, { cluster: 'alva', service: 'alva-api', taskDefinition: TD });
    expect(none.join('\n')).toContain('it got: no reason recorded');
  });
});

describe('explainStoppedTasks (verify)', () => {
  it("names the stop reason, exit code and the failed container's last log lines", async () => {
    ecs
      .on(DescribeServicesCommand)
      .resolves({ services: [{ serviceName: 'alva-api', status: 'ACTIVE', events: [] }] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: {
        taskDefinitionArn: TD,
        containerDefinitions: [
          {
            name: 'api',
            essential: true,
            logConfiguration: {
              logDriver: 'awslogs',
              options: {
                'awslogs-group': '/ecs/api',
                'awslogs-region': 'us-east-1',
                'awslogs-stream-prefix': 'api',
              },
            },
          },
        ],
      },
    });
    logs.on(GetLogEventsCommand).resolves({ events: [{ message: 'FATAL ERROR: heap out of memory' }] });
    const crashed = stoppedTask(
      'cafe01',
      'Essential container in task exited',
      'EssentialContainerExited',
      137,
    );
    crashed.containers![0]!.reason = 'OutOfMemoryError: Container killed due to memory usage';
    const lines = await explainStoppedTasks(clients, {
      cluster: 'alva',
      service: 'alva-api',
      tasks: [crashed],
    });
    expect(lines[0]).toBe(
      'task cafe01 stopped: EssentialContainerExited: Essential container in task exited; container api: exit code 137 (OutOfMemoryError: Container killed due to memory usage)',
    );
    expect(lines).toContain('  | FATAL ERROR: heap out of memory');
    expect(lines.join('\n')).not.toContain('undefined');
  });

  it('tells a failure from a stop by scaling or a newer deployment', () => {
    expect(
      stoppedByFailure(stoppedTask('a', 'Essential container in task exited', 'EssentialContainerExited')),
    ).toBe(true);
    expect(stoppedByFailure(stoppedTask('b', `Task failed ELB health checks in (target-group ${TG})`))).toBe(
      true,
    );
    expect(stoppedByFailure(stoppedTask('c', 'Scaling activity initiated by (deployment ecs-svc/1)'))).toBe(
      false,
    );
    const stopping = {
      ...stoppedTask('d', 'x'),
      lastStatus: 'DEACTIVATING',
      containers: [{ name: 'api', lastStatus: 'RUNNING' }],
    };
    expect(describeStoppedTask(stopping)).toBe(
      'task d stopping (DEACTIVATING): ServiceSchedulerInitiated: x; container api: still running, being stopped',
    );
  });
});
