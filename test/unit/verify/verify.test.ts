import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  type TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { OperationError } from '../../../lib/errors.js';
import { memoryLog } from '../../../lib/log.js';
import { manualClock } from '../../../lib/time.js';
import { parseChecks } from '../../../lib/verify/checks.js';
import { checkTable, targetTable, verdict } from '../../../lib/verify/report.js';
import { discoverBaseUrl } from '../../../lib/verify/base-url.js';
import { verifyRelease, type VerifyOptions } from '../../../lib/verify/verify.js';

const TD = (rev: number) => `arn:aws:ecs:us-east-1:123456789012:task-definition/alva-api:${rev}`;
const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/alva-api-tg/0123456789abcdef';
const LB = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/alva/0123456789abcdef';

const ecsMock = mockClient(ECSClient);
const elbMock = mockClient(ElasticLoadBalancingV2Client);
let server: Server;
let port: number;
let answer = { status: 200, body: '{"status":"ok"}' };

function task(id: string, ip: string, rev: number): Task {
  return {
    taskArn: `arn:aws:ecs:us-east-1:123456789012:task/alva/${id}`,
    taskDefinitionArn: TD(rev),
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    attachments: [{ type: 'ElasticNetworkInterface', details: [{ name: 'privateIPv4Address', value: ip }] }],
    containers: [{ name: 'api' }],
  };
}
const healthy = (ip: string): TargetHealthDescription => ({
  Target: { Id: ip, Port: 8080 },
  TargetHealth: { State: 'healthy' },
});

const deployedAt = new Date('2026-11-26T22:00:00Z');

function world(opts: {
  primaryRev?: number;
  tasks: Task[];
  targets: TargetHealthDescription[];
  events?: { createdAt: Date; message: string }[];
}) {
  ecsMock.on(DescribeServicesCommand).resolves({
    services: [
      {
        serviceName: 'alva-api',
        status: 'ACTIVE',
        desiredCount: 2,
        taskDefinition: TD(opts.primaryRev ?? 7),
        loadBalancers: [{ targetGroupArn: TG, containerName: 'api', containerPort: 8080 }],
        deployments: [
          {
            status: 'PRIMARY',
            taskDefinition: TD(opts.primaryRev ?? 7),
            rolloutState: 'COMPLETED',
            createdAt: deployedAt,
          },
        ],
        events: opts.events ?? [],
      },
    ],
    failures: [],
  });
  ecsMock.on(ListTasksCommand).resolves({ taskArns: opts.tasks.map((t) => t.taskArn!) });
  ecsMock.on(DescribeTasksCommand).resolves({ tasks: opts.tasks });
  elbMock.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: opts.targets });
}

function options(
  overrides: Partial<VerifyOptions> = {},
): VerifyOptions & { log: ReturnType<typeof memoryLog> } {
  return {
    cluster: 'alva',
    services: ['alva-api'],
    checks: parseChecks('GET /api/health 200 "status":"ok"'),
    consecutiveSuccesses: 2,
    timeoutMs: 5000,
    ecs: new ECSClient({ region: 'us-east-1' }),
    elbv2: async () => new ElasticLoadBalancingV2Client({ region: 'us-east-1' }),
    log: memoryLog(),
    pollMinMs: 20,
    pollMaxMs: 50,
    checkGapMs: 10,
    // The poll loop's waits take no real time; the HTTP checks still go to a real server.
    clock: manualClock(),
    ...overrides,
  } as VerifyOptions & { log: ReturnType<typeof memoryLog> };
}

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  ecsMock.reset();
  elbMock.reset();
  answer = { status: 200, body: '{"status":"ok"}' };
  elbMock
    .on(DescribeTargetGroupsCommand)
    .resolves({ TargetGroups: [{ TargetGroupArn: TG, LoadBalancerArns: [LB] }] });
  elbMock.on(DescribeLoadBalancersCommand).resolves({
    LoadBalancers: [{ LoadBalancerArn: LB, LoadBalancerName: 'alva', DNSName: `127.0.0.1:${port}` }],
  });
  elbMock.on(DescribeListenersCommand).resolves({ Listeners: [{ Port: 80, Protocol: 'HTTP' }] });
});

describe('verifyRelease', () => {
  it('passes when the new revision alone is healthy and the checks pass in a row, through the discovered ALB', async () => {
    world({
      tasks: [task('a', '10.0.0.1', 7), task('b', '10.0.0.2', 7)],
      targets: [healthy('10.0.0.1'), healthy('10.0.0.2')],
    });
    const opts = options();
    const report = await verifyRelease(opts);
    expect(report.status).toBe('passed');
    expect(report.baseUrl).toBe(`http://127.0.0.1:${port}`);
    expect(report.services[0]!.targetGroups[0]).toMatchObject({
      targetGroupName: 'alva-api-tg',
      healthy: 2,
      desired: 2,
      ok: true,
    });
    expect(report.checks[0]).toMatchObject({ ok: true, passes: 2, required: 2, attempts: 2, status: 200 });
    expect(report.checks[0]!.latencyMs).toEqual(expect.any(Number));
    expect(report.problems).toEqual([]);
    expect(opts.log.lines).toContain('alva-api → alva-api-tg (alva-api:7): 2/2 healthy on the new revision');
    expect(verdict(report)).toMatch(/^Verified 1 services, 1 target groups, 1 HTTP checks in/);
    expect(targetTable(report)[1]).toEqual(['alva-api', 'alva-api:7', 'alva-api-tg', '2/2', '0', '-', '✅']);
    expect(checkTable(report)[1]![3]).toBe('2/2 (2 tries)');
  });

  it('fails at the timeout while an old revision still takes traffic, and never runs the checks', async () => {
    const unhealthyEvent =
      '(service alva-api) (task b) (port 8080) is unhealthy in (target-group alva-api-tg) due to (reason Request timed out).';
    world({
      tasks: [task('a', '10.0.0.1', 7), task('b', '10.0.0.2', 7), task('c', '10.0.0.3', 6)],
      targets: [healthy('10.0.0.1'), healthy('10.0.0.2'), healthy('10.0.0.3')],
      events: [
        {
          createdAt: new Date('2026-11-26T22:01:00Z'),
          message: '(service alva-api) has reached a steady state.',
        },
        { createdAt: new Date('2026-11-26T22:00:30Z'), message: unhealthyEvent },
        { createdAt: new Date('2026-11-26T21:50:00Z'), message: 'an older deployment failed' },
      ],
    });
    const report = await verifyRelease(options({ timeoutMs: 300 }));
    expect(report.status).toBe('failed');
    expect(report.services[0]!.events).toEqual([
      { createdAt: '2026-11-26T22:00:30.000Z', message: unhealthyEvent },
    ]);
    expect(report.problems).toEqual([
      'not verified within 0s',
      'alva-api / target group alva-api-tg: target 10.0.0.3:8080 is healthy; an old revision still healthy and taking traffic although the new revision is live; task c (alva-api:6, old revision, RUNNING)',
      `alva-api: ECS event 2026-11-26T22:00:30.000Z: ${unhealthyEvent}`,
      'HTTP GET /api/health 200 "status":"ok": not run, the targets never passed',
    ]);
  });

  it('fails at once when the PRIMARY deployment is not the revision deploy-services reported', async () => {
    world({
      primaryRev: 6,
      tasks: [task('c', '10.0.0.3', 6), task('d', '10.0.0.4', 6)],
      targets: [healthy('10.0.0.3'), healthy('10.0.0.4')],
    });
    const report = await verifyRelease(
      options({
        timeoutMs: 60_000,
        deployments: new Map([
          ['alva-api', { newTaskDefinitionArn: TD(7), previousTaskDefinitionArn: TD(6) }],
        ]),
      }),
    );
    expect(report.status).toBe('failed');
    expect(report.durationMs).toBeLessThan(60_000);
    expect(report.problems[0]).toBe(
      "alva-api: the service's PRIMARY deployment runs alva-api:6, not alva-api:7 that `deployments` names as new: the update never happened, was rolled back, or was replaced by another deployment",
    );
    expect(report.problems[1]).toContain(
      '0 of 2 desired targets are healthy running tasks of the new revision',
    );
    expect(report.services[0]).toMatchObject({ previousTaskDefinition: TD(6), primaryTaskDefinition: TD(6) });
  });

  it('fails a check whose status or body does not match, with the status and a body excerpt', async () => {
    world({
      tasks: [task('a', '10.0.0.1', 7), task('b', '10.0.0.2', 7)],
      targets: [healthy('10.0.0.1'), healthy('10.0.0.2')],
    });
    answer = { status: 503, body: '{"status":"degraded","db":"down"}' };
    const opts = options({ timeoutMs: 300 });
    const report = await verifyRelease(opts);
    // Every attempt failed the same way: one line, not one per attempt.
    expect(report.checks[0]!.attempts).toBeGreaterThan(1);
    expect(opts.log.lines.filter((l) => l.includes('got 503'))).toHaveLength(1);
    expect(report.status).toBe('failed');
    expect(report.checks[0]).toMatchObject({
      ok: false,
      passes: 0,
      status: 503,
      bodyExcerpt: '{"status":"degraded","db":"down"}',
    });
    expect(report.problems.at(-1)).toBe(
      `HTTP GET /api/health 200 "status":"ok" (http://127.0.0.1:${port}/api/health): got 503, expected 200; body does not contain \`"status":"ok"\`; body: {"status":"degraded","db":"down"}`,
    );
  });

  it('names services the cluster does not have', async () => {
    ecsMock.on(DescribeServicesCommand).resolves({
      services: [],
      failures: [{ arn: 'arn:aws:ecs:us-east-1:1:service/alva/alva-api', reason: 'MISSING' }],
    });
    await expect(verifyRelease(options())).rejects.toThrow(OperationError);
    await expect(verifyRelease(options())).rejects.toThrow(
      'service "alva-api" (MISSING) not found in cluster "alva"',
    );
  });

  it('prints a heartbeat naming what it still waits for while nothing changes', async () => {
    world({
      tasks: [task('a', '10.0.0.1', 7), task('c', '10.0.0.3', 6)],
      targets: [healthy('10.0.0.1'), healthy('10.0.0.3')],
    });
    const opts = options({ timeoutMs: 400, heartbeatMs: 100, pollMaxMs: 30 });
    await verifyRelease(opts);
    const beats = opts.log.lines.filter((l) => l.startsWith('… still waiting after'));
    expect(beats.length).toBeGreaterThan(0);
    expect(beats[0]).toContain('alva-api-tg 1/2, GET /api/health 200 "status":"ok" 0/2');
    // The state line itself appears once: it never changed.
    expect(opts.log.lines.filter((l) => l.startsWith('alva-api → alva-api-tg'))).toHaveLength(1);
  });

  it('asks for base-url when the services sit behind several load balancers', async () => {
    world({
      tasks: [task('a', '10.0.0.1', 7), task('b', '10.0.0.2', 7)],
      targets: [healthy('10.0.0.1'), healthy('10.0.0.2')],
    });
    elbMock.on(DescribeLoadBalancersCommand).resolves({
      LoadBalancers: [
        { LoadBalancerArn: LB, LoadBalancerName: 'public', DNSName: 'public.example' },
        { LoadBalancerArn: `${LB}2`, LoadBalancerName: 'internal', DNSName: 'internal.example' },
      ],
    });
    await expect(verifyRelease(options())).rejects.toThrow(
      'The services sit behind 2 load balancers (public, internal): which one the checks use is ambiguous',
    );
  });

  it('uses https and the listener port when the load balancer only listens on HTTPS', async () => {
    world({ tasks: [], targets: [] });
    elbMock.on(DescribeLoadBalancersCommand).resolves({
      LoadBalancers: [{ LoadBalancerArn: LB, LoadBalancerName: 'alva', DNSName: 'alva-1.elb.example' }],
    });
    elbMock.on(DescribeListenersCommand).resolves({ Listeners: [{ Port: 8443, Protocol: 'HTTPS' }] });
    const services = [{ targetGroups: [{ targetGroupArn: TG }] }] as never;
    const elbv2 = async () => new ElasticLoadBalancingV2Client({ region: 'us-east-1' });
    await expect(discoverBaseUrl(services, { elbv2 })).resolves.toBe('https://alva-1.elb.example:8443');
  });

  it('uses base-url as given and skips discovery', async () => {
    world({
      tasks: [task('a', '10.0.0.1', 7), task('b', '10.0.0.2', 7)],
      targets: [healthy('10.0.0.1'), healthy('10.0.0.2')],
    });
    const report = await verifyRelease(options({ baseUrl: `http://127.0.0.1:${port}/` }));
    expect(report.status).toBe('passed');
    expect(elbMock.commandCalls(DescribeLoadBalancersCommand)).toHaveLength(0);
    expect(report.checks[0]!.url).toBe(`http://127.0.0.1:${port}/api/health`);
  });

  it('rides out an outage longer than the SDK retries: reads again, backing off, and passes once AWS answers', async () => {
    world({
      tasks: [task('a', '10.0.0.1', 7), task('b', '10.0.0.2', 7)],
      targets: [healthy('10.0.0.1'), healthy('10.0.0.2')],
    });
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    // The world's answer, withheld for the first three reads.
    const answer = await new ECSClient({ region: 'us-east-1' }).send(
      new DescribeServicesCommand({ cluster: 'alva', services: ['alva-api'] }),
    );
    let reads = 0;
    ecsMock.on(DescribeServicesCommand).callsFake(() => {
      reads += 1;
      if (reads <= 3) throw throttled;
      return answer;
    });
    const opts = options({ timeoutMs: 60_000 });
    const report = await verifyRelease(opts);
    expect(report.status).toBe('passed');
    expect(reads).toBeGreaterThanOrEqual(4);
    expect(opts.log.lines).toContain(
      'warning: Could not read AWS (Rate exceeded); trying again until the deadline',
    );
    expect(opts.log.lines.some((l) => l.startsWith('AWS can be read again, after'))).toBe(true);
  });

  it('fails at the deadline when AWS cannot be read, saying for how long and why', async () => {
    ecsMock
      .on(DescribeServicesCommand)
      .rejects(Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable' }));
    const report = await verifyRelease(options({ timeoutMs: 30_000 }));
    expect(report.status).toBe('failed');
    expect(report.problems[0]).toMatch(
      /^not verified within 30s: AWS could not be read for the last \d+s \(Service Unavailable\)$/,
    );
  });
});
