/**
 * lib/verify/green.ts: which revision and listener `traffic: test` checks,
 * from what ECS and ELB answer (mocked SDK clients); refusals first.
 */
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  type Service,
} from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { InputError, OperationError } from '../../../lib/errors.js';
import {
  endedProblem,
  findGreen,
  greensServing,
  pathPatternMatches,
  listenerArnOfRule,
  readGreen,
  testListenerBaseUrl,
  testListenerRuleOf,
  type GreenRevision,
} from '../../../lib/verify/green.js';

const ELB = 'arn:aws:elasticloadbalancing:us-east-1:123456789012';
const LB = `${ELB}:loadbalancer/app/alb/0123456789abcdef`;
const LISTENER = `${ELB}:listener/app/alb/0123456789abcdef/1111111111111111`;
const TEST_RULE = `${ELB}:listener-rule/app/alb/0123456789abcdef/1111111111111111/2222222222222222`;
const BLUE = `${ELB}:targetgroup/web-blue/aaaaaaaaaaaaaaaa`;
const GREEN = `${ELB}:targetgroup/web-green/bbbbbbbbbbbbbbbb`;
const TD = (rev: number) => `arn:aws:ecs:us-east-1:123456789012:task-definition/web:${rev}`;
const SD = 'arn:aws:ecs:us-east-1:123456789012:service-deployment/bg/web/sd1';
const SR = 'arn:aws:ecs:us-east-1:123456789012:service-revision/bg/web/2';

const ecsMock = mockClient(ECSClient);
const elbMock = mockClient(ElasticLoadBalancingV2Client);
beforeEach(() => {
  ecsMock.reset();
  elbMock.reset();
});

const blueGreen = (testListenerRule?: string): Service => ({
  serviceName: 'web',
  desiredCount: 2,
  deploymentConfiguration: { strategy: 'BLUE_GREEN' },
  loadBalancers: [
    {
      targetGroupArn: BLUE,
      containerName: 'web',
      containerPort: 3000,
      advancedConfiguration: {
        alternateTargetGroupArn: GREEN,
        productionListenerRule: `${ELB}:listener-rule/app/alb/0123456789abcdef/9999999999999999/3333333333333333`,
        roleArn: 'arn:aws:iam::123456789012:role/ecs',
        ...(testListenerRule ? { testListenerRule } : {}),
      },
    },
  ],
});

const green: GreenRevision = {
  serviceDeploymentArn: SD,
  serviceRevisionArn: SR,
  taskDefinition: TD(2),
  bindings: [{ targetGroupArn: GREEN, containerName: 'web', containerPort: 3000 }],
  testListenerRuleArn: TEST_RULE,
};

describe('testListenerRuleOf', () => {
  it('a rolling service (no strategy, or ROLLING) is an input error naming it and the fix', () => {
    for (const service of [
      { serviceName: 'worker' },
      { serviceName: 'worker', deploymentConfiguration: { strategy: 'ROLLING' as const } },
    ]) {
      expect(() => testListenerRuleOf('worker', service)).toThrow(InputError);
      expect(() => testListenerRuleOf('worker', service)).toThrow(
        'Input "traffic": is "test", but service "worker" deploys with the ROLLING strategy: it has no green revision and no test listener. Fix: set `traffic: production` (the default) for rolling services, or verify them in a step of their own',
      );
    }
  });

  it('a blue/green service without a test listener rule is an input error too', () => {
    expect(() => testListenerRuleOf('web', blueGreen())).toThrow(
      /service "web" \(BLUE_GREEN\) has no testListenerRule/,
    );
  });

  it('gives the test listener rule of a blue/green service', () => {
    expect(testListenerRuleOf('web', blueGreen(TEST_RULE))).toBe(TEST_RULE);
  });
});

describe('findGreen', () => {
  it('no IN_PROGRESS deployment: a problem naming the latest and its status', async () => {
    ecsMock
      .on(ListServiceDeploymentsCommand)
      .resolves({ serviceDeployments: [{ serviceDeploymentArn: SD, status: 'ROLLBACK_SUCCESSFUL' }] });
    const found = await findGreen(new ECSClient({}), 'bg', 'web', blueGreen(TEST_RULE), undefined);
    expect(found).toBe(
      `web: no deployment is IN_PROGRESS, so no green revision is on test traffic (the latest, ${SD}, is ROLLBACK_SUCCESSFUL); verify with \`traffic: test\` while the deployment holds before production traffic moves`,
    );
  });

  it('green runs another revision than `deployments` names: a problem naming both', async () => {
    ecsMock.on(ListServiceDeploymentsCommand).resolves({
      serviceDeployments: [{ serviceDeploymentArn: SD, status: 'IN_PROGRESS', targetServiceRevisionArn: SR }],
    });
    ecsMock.on(DescribeServiceRevisionsCommand).resolves({ serviceRevisions: [{ taskDefinition: TD(3) }] });
    const found = await findGreen(new ECSClient({}), 'bg', 'web', blueGreen(TEST_RULE), {
      newTaskDefinitionArn: TD(2),
    });
    expect(found).toMatch(/runs web:3 as green, not web:2 that `deployments` names as new$/);
  });

  it("the in-progress deployment's target revision: its task definition and the target group its loadBalancers name", async () => {
    ecsMock.on(ListServiceDeploymentsCommand).resolves({
      serviceDeployments: [
        { serviceDeploymentArn: SD, status: 'IN_PROGRESS', targetServiceRevisionArn: SR },
        { serviceDeploymentArn: `${SD}-old`, status: 'SUCCESSFUL', targetServiceRevisionArn: `${SR}-old` },
      ],
    });
    ecsMock.on(DescribeServiceRevisionsCommand, { serviceRevisionArns: [SR] }).resolves({
      serviceRevisions: [
        {
          taskDefinition: TD(2),
          loadBalancers: [{ targetGroupArn: GREEN, containerName: 'web', containerPort: 3000 }],
        },
      ],
    });
    const found = await findGreen(new ECSClient({}), 'bg', 'web', blueGreen(TEST_RULE), undefined);
    expect(found).toEqual(green);
  });
});

describe('readGreen and endedProblem', () => {
  it('the share of the test rule forwarded to green, from the weighted forward', async () => {
    ecsMock
      .on(DescribeServiceDeploymentsCommand)
      .resolves({ serviceDeployments: [{ status: 'IN_PROGRESS', lifecycleStage: 'SCALE_UP' }] });
    const weights = (blue: number, toGreen: number) =>
      elbMock.on(DescribeRulesCommand).resolves({
        Rules: [
          {
            RuleArn: TEST_RULE,
            Actions: [
              {
                Type: 'forward',
                ForwardConfig: {
                  TargetGroups: [
                    { TargetGroupArn: BLUE, Weight: blue },
                    { TargetGroupArn: GREEN, Weight: toGreen },
                  ],
                },
              },
            ],
          },
        ],
      });
    weights(100, 0);
    const before = await readGreen(new ECSClient({}), new ElasticLoadBalancingV2Client({}), green);
    expect(before.testWeightPercent).toBe(0);
    weights(0, 100);
    const after = await readGreen(new ECSClient({}), new ElasticLoadBalancingV2Client({}), green);
    expect(after.testWeightPercent).toBe(100);
    expect(endedProblem('web', after)).toBeUndefined();
  });

  it('a rolled back deployment is a problem naming its status and reason', () => {
    const problem = endedProblem('web', {
      green,
      deployment: { status: 'ROLLBACK_IN_PROGRESS', rollback: { reason: 'A user requested the rollback.' } },
      testWeightPercent: 0,
    });
    expect(problem).toBe(
      `web: the deployment of green web:2 (${SD}) is ROLLBACK_IN_PROGRESS (A user requested the rollback.): it was stopped or rolled back before verify passed on test traffic`,
    );
  });
});

describe('testListenerBaseUrl', () => {
  it('several test listeners: ambiguous, an OperationError naming them', async () => {
    await expect(
      testListenerBaseUrl([LISTENER, `${LISTENER}x`], new ElasticLoadBalancingV2Client({})),
    ).rejects.toThrow(OperationError);
  });

  it("the rule's listener, on its own port of the load balancer's DNS name", async () => {
    expect(listenerArnOfRule(TEST_RULE)).toBe(LISTENER);
    elbMock.on(DescribeListenersCommand, { ListenerArns: [LISTENER] }).resolves({
      Listeners: [{ ListenerArn: LISTENER, LoadBalancerArn: LB, Port: 8080, Protocol: 'HTTP' }],
    });
    elbMock
      .on(DescribeLoadBalancersCommand, { LoadBalancerArns: [LB] })
      .resolves({ LoadBalancers: [{ DNSName: 'alb-123.us-east-1.elb.amazonaws.com' }] });
    expect(await testListenerBaseUrl([LISTENER, LISTENER], new ElasticLoadBalancingV2Client({}))).toEqual({
      baseUrl: 'http://alb-123.us-east-1.elb.amazonaws.com:8080',
      listenerArn: LISTENER,
      port: 8080,
    });
  });
});

describe('whose green a test-traffic check reaches', () => {
  it('matches ALB path patterns: case-sensitive, * any run, ? one character', () => {
    expect(pathPatternMatches('/auth/*', '/auth/health')).toBe(true);
    expect(pathPatternMatches('/auth/*', '/api/health')).toBe(false);
    expect(pathPatternMatches('/auth/*', '/Auth/health')).toBe(false);
    expect(pathPatternMatches('/v?/x', '/v2/x')).toBe(true);
    expect(pathPatternMatches('/v?/x', '/v10/x')).toBe(false);
    expect(pathPatternMatches('/a.b', '/aXb')).toBe(false);
  });

  it("names the services whose test listener rule routes the check's path; a rule without paths takes all", () => {
    const service = (name: string, testPathPatterns?: string[], testRulePriority?: number) => ({
      service: name,
      desiredCount: 1,
      newTaskDefinition: `arn:aws:ecs:us-east-1:1:task-definition/${name}:3`,
      runningTasks: { new: 1, old: 0 },
      ok: true,
      targetGroups: [],
      testTraffic: {
        serviceDeploymentArn: SD,
        serviceRevisionArn: 'arn:rev',
        taskDefinition: `arn:aws:ecs:us-east-1:1:task-definition/${name}:3`,
        targetGroupArns: [],
        testListenerRuleArn: TEST_RULE,
        testListenerArn: 'arn:listener',
        testWeightPercent: 100,
        ...(testPathPatterns ? { testPathPatterns } : {}),
        ...(testRulePriority !== undefined ? { testRulePriority } : {}),
      },
    });
    const services = [
      service('alva-web', ['/*'], 40),
      service('alva-api', ['/api/*'], 10),
      service('alva-auth', ['/auth', '/auth/*'], 20),
    ];
    expect(greensServing('http://127.0.0.1:9000/auth/health', services)).toEqual([
      "alva-auth's green alva-auth:3",
    ]);
    // The lowest priority among the matching rules wins, as the ALB routes: web's catch-all only for the rest.
    expect(greensServing('http://127.0.0.1:9000/', services)).toEqual(["alva-web's green alva-web:3"]);
    expect(greensServing('http://127.0.0.1:9000/', services.slice(1))).toEqual([]);
    expect(greensServing('http://127.0.0.1:9000/x', [service('web')])).toEqual(["web's green web:3"]);
    // Production checks (no test traffic read): nobody's green.
    expect(
      greensServing('http://127.0.0.1/api/x', [{ ...service('alva-api'), testTraffic: undefined }]),
    ).toEqual([]);
  });

  it('reads the path patterns of the test listener rule', async () => {
    ecsMock
      .on(DescribeServiceDeploymentsCommand)
      .resolves({ serviceDeployments: [{ status: 'IN_PROGRESS' }] });
    elbMock.on(DescribeRulesCommand).resolves({
      Rules: [
        {
          RuleArn: TEST_RULE,
          Priority: '20',
          Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/auth', '/auth/*'] } }],
          Actions: [{ Type: 'forward', TargetGroupArn: GREEN }],
        },
      ],
    });
    const reading = await readGreen(new ECSClient({}), new ElasticLoadBalancingV2Client({}), green);
    expect(reading).toMatchObject({ testPathPatterns: ['/auth', '/auth/*'], testRulePriority: 20 });
  });
});
