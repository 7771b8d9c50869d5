/**
 * sim/scale.ts: N services of staging's four shapes, deterministic names,
 * and the generated scenario loads into the simulator as a steady account.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { loadScenario } from '../../sim/index.js';
import { scaleScenario, scaleServiceName } from '../../sim/scale.js';
import type { Scenario } from '../../sim/scenario.js';
import { CLUSTER, STAGING, startWithClients, stopClients, type Clients } from './helpers.js';

const staging: Scenario = loadScenario(STAGING);

describe('scaleScenario', () => {
  it('refuses a count that is not a positive integer, and a base without services', () => {
    expect(() => scaleScenario(staging, 0)).toThrow(/positive integer/);
    expect(() => scaleScenario(staging, 2.5)).toThrow(/positive integer/);
    expect(() => scaleScenario({ ...staging, services: [] }, 3)).toThrow(/no services/);
  });

  it('cycles through the base services: family, container, image, target group, desired count per service', () => {
    const scaled = scaleScenario(staging, 10);
    expect(scaled.services!.map((s) => s.name)).toEqual([
      'svc-001',
      'svc-002',
      'svc-003',
      'svc-004',
      'svc-005',
      'svc-006',
      'svc-007',
      'svc-008',
      'svc-009',
      'svc-010',
    ]);
    // svc-006 has alva-api's shape (the second of four).
    const svc = scaled.services![5]!;
    const api = staging.services![1]!;
    expect(svc).toMatchObject({
      cluster: api.cluster,
      taskDefinition: 'svc-006',
      desiredCount: api.desiredCount,
      deploymentConfiguration: api.deploymentConfiguration,
      loadBalancers: [{ targetGroup: 'svc-006', containerName: 'svc-006', containerPort: 3001 }],
    });
    const td = scaled.taskDefinitions.find((t) => t.family === 'svc-006')!;
    expect(td.cpu).toBe('512');
    expect(td.containerDefinitions[0]).toMatchObject({
      name: 'svc-006',
      image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/svc-006:3f2a1c9',
      portMappings: [{ containerPort: 3001, protocol: 'tcp' }],
      logConfiguration: {
        options: { 'awslogs-group': '/ecs/alva-staging/svc-006', 'awslogs-stream-prefix': 'svc-006' },
      },
    });
    const tg = scaled.targetGroups!.find((t) => t.name === 'svc-006')!;
    const apiTargetGroup = staging.targetGroups!.find((t) => t.name === api.loadBalancers![0]!.targetGroup)!;
    expect(tg).toMatchObject({
      port: 3001,
      deregistrationDelaySeconds: apiTargetGroup.deregistrationDelaySeconds,
    });
    expect(tg.arn).not.toBe(apiTargetGroup.arn);
    expect(tg.healthCheck).toMatchObject({ path: '/svc-006/health', intervalSeconds: 5 });
    // The base services' own records are gone; the migration family (no service uses it) stays.
    expect(scaled.taskDefinitions.map((t) => t.family)).toContain('alva-migrations');
    expect(scaled.taskDefinitions.map((t) => t.family)).not.toContain('alva-web');
    expect(scaled.targetGroups!.map((t) => t.name)).not.toContain('alva-staging-web');
    // One listener: svc-001 by default, a path rule for each of the others.
    const listener = scaled.loadBalancers![0]!.listeners[0]!;
    expect(listener.defaultTargetGroup).toBe('svc-001');
    expect(listener.rules).toHaveLength(9);
    expect(listener.rules![8]).toEqual({ priority: 9, pathPatterns: ['/svc-010/*'], targetGroup: 'svc-010' });
  });

  it('is deterministic and leaves the base untouched', () => {
    const before = JSON.stringify(staging);
    expect(JSON.stringify(scaleScenario(staging, 25))).toBe(JSON.stringify(scaleScenario(staging, 25)));
    expect(JSON.stringify(staging)).toBe(before);
    expect(scaleServiceName(7, 100)).toBe('svc-007');
    expect(scaleServiceName(7, 1000)).toBe('svc-0007');
  });
});

describe('a scaled scenario in the simulator', () => {
  let c: Clients | undefined;
  afterAll(() => stopClients(c));

  it('loads 25 services, each steady on its own family, target group and listener rule', async () => {
    c = await startWithClients(scaleScenario(staging, 25));
    const names = Array.from({ length: 25 }, (_, i) => scaleServiceName(i + 1, 25));
    const described = [];
    for (let i = 0; i < names.length; i += 10) {
      const { services, failures } = await c.ecs.send(
        new DescribeServicesCommand({ cluster: CLUSTER, services: names.slice(i, i + 10) }),
      );
      expect(failures).toEqual([]);
      described.push(...services!);
    }
    expect(described.map((s) => s.serviceName)).toEqual(names);
    for (const s of described) {
      expect(s.runningCount).toBe(s.desiredCount);
      expect(s.deployments).toHaveLength(1);
    }
    const { taskDefinition } = await c.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: described[24]!.taskDefinition! }),
    );
    expect(taskDefinition!.family).toBe('svc-025');
    const { TargetGroups } = await c.elb.send(new DescribeTargetGroupsCommand({ Names: ['svc-025'] }));
    const { Rules } = await c.elb.send(new DescribeRulesCommand({ ListenerArn: (await listenerArn(c))! }));
    const rule = Rules!.find((r) => r.Actions?.[0]?.TargetGroupArn === TargetGroups![0]!.TargetGroupArn);
    expect(rule?.Conditions?.[0]?.Values ?? rule?.Conditions?.[0]?.PathPatternConfig?.Values).toEqual([
      '/svc-025/*',
    ]);
  });
});

async function listenerArn(c: Clients): Promise<string | undefined> {
  const { LoadBalancers } = await c.elb.send(new DescribeLoadBalancersCommand({}));
  const { Listeners } = await c.elb.send(
    new DescribeListenersCommand({ LoadBalancerArn: LoadBalancers![0]!.LoadBalancerArn }),
  );
  return Listeners![0]!.ListenerArn;
}
