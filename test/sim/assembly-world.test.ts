/**
 * The staging world comes from infra/: sim/scenarios/staging.json is what
 * infra/ + staging.overlay.json synthesize now (so nobody hand-edits it or
 * forgets to regenerate), loads are deterministic, what is not modelled is
 * listed, the loaded world has a past, and changing a health-check setting
 * in infra/ changes what the simulator does with no other edit.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeServicesCommand, ECSClient, ListServiceDeploymentsCommand } from '@aws-sdk/client-ecs';
import {
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  INFRA_DIR,
  loadAssembly,
  readOverlay,
  scenarioFromApp,
  STAGING_OVERLAY,
  STAGING_SCENARIO,
  synthesize,
  type AssemblyLoad,
} from '../../sim/assembly/index.js';
import { repositoryRoot } from '../../sim/assembly/synth.js';
import type { Sim } from '../../sim/index.js';
import { clientConfig, startTestSim } from './helpers.js';
import type { Scenario } from '../../sim/scenario.js';

const overlay = readOverlay(STAGING_OVERLAY);
let staging: AssemblyLoad;
let assembly: string;

beforeAll(() => {
  assembly = synthesize({ appDir: INFRA_DIR, context: overlay.context });
  staging = loadAssembly({ assembly, overlay });
}, 120_000);

/** The test's clients, as its operator (the staging world enforces IAM: test/sim/helpers.ts). */
function clients(sim: Sim) {
  const config = clientConfig(sim);
  return { ecs: new ECSClient(config), elb: new ElasticLoadBalancingV2Client(config) };
}

describe('sim/scenarios/staging.json', () => {
  it('is exactly what infra/ and the overlay synthesize now (regenerate with npm run world)', () => {
    const committed = JSON.parse(readFileSync(STAGING_SCENARIO, 'utf8')) as Scenario;
    expect(committed).toEqual(JSON.parse(JSON.stringify(staging.scenario)));
  });

  it('a second load of the same assembly is identical, down to every generated id and secret value', () => {
    expect(JSON.stringify(loadAssembly({ assembly, overlay }).scenario)).toBe(
      JSON.stringify(staging.scenario),
    );
  });

  it('holds what infra/ builds, not a hand-written copy', () => {
    const { scenario } = staging;
    expect(scenario.services!.map((s) => s.name).sort()).toEqual([
      'alva-admin',
      'alva-api',
      'alva-auth',
      'alva-web',
    ]);
    const web = scenario.targetGroups!.find((tg) => tg.name === 'alva-staging-web')!;
    const template = JSON.parse(readFileSync(join(assembly, 'AlvaStagingAlb.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    const webTemplate = Object.values(template.Resources).find(
      (r) =>
        r.Type === 'AWS::ElasticLoadBalancingV2::TargetGroup' && r.Properties.Name === 'alva-staging-web',
    )!.Properties;
    expect(web.healthCheck!.timeoutSeconds).toBe(webTemplate.HealthCheckTimeoutSeconds);
    expect(String(web.deregistrationDelaySeconds)).toBe(
      (webTemplate.TargetGroupAttributes as { Key: string; Value: string }[]).find(
        (a) => a.Key === 'deregistration_delay.timeout_seconds',
      )!.Value,
    );
    // Subnets and security groups are the VPC's, with generated ids.
    const subnetIds = scenario.network!.subnets.map((s) => s.id);
    for (const service of scenario.services!) {
      for (const subnet of service.networkConfiguration!.awsvpcConfiguration.subnets)
        expect(subnetIds).toContain(subnet);
    }
    expect(subnetIds.every((id) => /^subnet-[0-9a-f]{17}$/.test(id))).toBe(true);
    // ECR repositories carry their settings; IAM its roles and the OIDC provider; secrets their names.
    expect(scenario.ecr!.repositories).toContainEqual(
      expect.objectContaining({ name: 'alva-api', imageTagMutability: expect.any(String), scanOnPush: true }),
    );
    expect(scenario.iam!.oidcProviders!.map((p) => p.url)).toEqual([
      'https://token.actions.githubusercontent.com',
    ]);
    expect(scenario.secrets!.map((s) => s.name)).toContain('alva-staging-jwt-public-key');
    expect(scenario.stacks!.map((s) => s.name)).toContain('AlvaStagingEcs');
  });

  it('lists what the simulator does not model, and GET /_sim/state shows the same list', async () => {
    const types = new Set(staging.unmodelled.map((u) => u.type));
    for (const type of ['AWS::CDK::Metadata', 'AWS::RDS::DBInstance', 'AWS::ElastiCache::ReplicationGroup'])
      expect(types).toContain(type);
    for (const type of ['AWS::ECS::Service', 'AWS::IAM::Role', 'AWS::ElasticLoadBalancingV2::TargetGroup'])
      expect(types).not.toContain(type);
    const sim = await startTestSim({ scenario: staging.scenario, port: 0 });
    try {
      const state = (await (await fetch(`${sim.url}/_sim/state`)).json()) as { unmodelled: unknown[] };
      expect(state.unmodelled).toEqual(staging.unmodelled);
    } finally {
      await sim.close();
    }
  });

  it('an overlay naming a subnet no stack defines is refused', () => {
    expect(() =>
      loadAssembly({
        assembly,
        overlay: { ...overlay, capacityUnavailableSubnets: ['AlvaStagingNetwork/NoSuchSubnet'] },
      }),
    ).toThrow(/capacityUnavailableSubnets names "AlvaStagingNetwork\/NoSuchSubnet"/);
  });
});

describe('the loaded world has a past', () => {
  it('its deployments and service deployments were made a day before the load, not at the load instant', async () => {
    const sim = await startTestSim({ scenario: staging.scenario, speed: 10, port: 0 });
    const { ecs, elb } = clients(sim);
    try {
      const loadedAt = sim.now();
      const { services = [] } = await ecs.send(
        new DescribeServicesCommand({ cluster: 'alva-staging-cluster', services: ['alva-api'] }),
      );
      const [deployment] = services[0]!.deployments!;
      expect(loadedAt - deployment!.createdAt!.getTime()).toBeGreaterThanOrEqual(24 * 3600 * 1000);
      expect(loadedAt - services[0]!.createdAt!.getTime()).toBeGreaterThanOrEqual(24 * 3600 * 1000);
      const { serviceDeployments = [] } = await ecs.send(
        new ListServiceDeploymentsCommand({ cluster: 'alva-staging-cluster', service: 'alva-api' }),
      );
      expect(serviceDeployments).toHaveLength(1);
      expect(loadedAt - serviceDeployments[0]!.createdAt!.getTime()).toBeGreaterThanOrEqual(24 * 3600 * 1000);
    } finally {
      ecs.destroy();
      elb.destroy();
      await sim.close();
    }
  });
});

describe('changing a health-check setting in infra/', () => {
  const variantDir = join(repositoryRoot, '.tmp', `infra-variant-${process.pid}`);
  const tag = overlay.context!['image-tag']!;
  // Health checks of the initial image answer 302: inside infra's matcher (200-399), outside the variant's (200).
  const redirecting = {
    ...overlay,
    images: { [`*:${tag}`]: { health: 'unhealthy' as const, healthStatus: 302 } },
  };
  let variant: AssemblyLoad;

  beforeAll(() => {
    cpSync(INFRA_DIR, variantDir, {
      recursive: true,
      filter: (src) => !src.includes('cdk.out') && !src.includes('node_modules'),
    });
    const albStack = join(variantDir, 'lib/stacks/alb-stack.ts');
    const source = readFileSync(albStack, 'utf8');
    if (!source.includes("healthyHttpCodes: '200-399'"))
      throw new Error(`${albStack} no longer sets healthyHttpCodes: '200-399'; update this test's edit`);
    writeFileSync(albStack, source.replace("healthyHttpCodes: '200-399'", "healthyHttpCodes: '200'"));
    variant = scenarioFromApp({ appDir: variantDir, overlay: redirecting });
  }, 120_000);
  afterAll(() => rmSync(variantDir, { recursive: true, force: true }));

  it('DescribeTargetGroups reports the new matcher, and the targets that passed now fail their health checks', async () => {
    const original = await startTestSim({
      scenario: { ...staging.scenario, images: redirecting.images },
      speed: 40,
      port: 0,
    });
    const changed = await startTestSim({ scenario: variant.scenario, speed: 40, port: 0 });
    const a = clients(original);
    const b = clients(changed);
    try {
      const matcher = async (c: typeof a) =>
        (await c.elb.send(new DescribeTargetGroupsCommand({ Names: ['alva-staging-api'] }))).TargetGroups![0]!
          .Matcher;
      expect(await matcher(a)).toEqual({ HttpCode: '200-399' });
      expect(await matcher(b)).toEqual({ HttpCode: '200' });

      const unhealthy = (sim: Sim) =>
        sim.events().filter((e) => e.kind === 'target.health' && e.detail.state === 'unhealthy');
      const originalStart = original.now();
      for (let i = 0; i < 600 && unhealthy(changed).length === 0; i++)
        await new Promise((r) => setTimeout(r, 50));
      const [failed] = unhealthy(changed);
      expect(failed?.detail).toMatchObject({ reason: 'Target.ResponseCodeMismatch' });
      // The original world ran at least as long, through enough checks to fail them too, and stayed healthy.
      const tg = staging.scenario.targetGroups!.find((t) => t.name === failed!.detail.targetGroup)!;
      while (
        original.now() - originalStart <
        tg.healthCheck!.intervalSeconds! * 1000 * (tg.healthCheck!.unhealthyThresholdCount! + 1)
      )
        await new Promise((r) => setTimeout(r, 50));
      expect(unhealthy(original)).toEqual([]);
    } finally {
      for (const c of [a, b]) {
        c.ecs.destroy();
        c.elb.destroy();
      }
      await original.close();
      await changed.close();
    }
  });
});
