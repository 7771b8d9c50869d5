/**
 * infra/README.md's "Add the domain later", through the project's own CDK CLI
 * against the simulator: an environment deployed without a domain, then
 * `cdk deploy --all -c domain=alva.app`. CloudFormation updates the ALB stack
 * before the ECS stack that imports from it and refuses to delete an export
 * still imported ("Fn::ImportValue" in the CloudFormation Template Reference:
 * "You can't modify or remove an output value that is referenced by another
 * stack."). So:
 * - the app as it would be without the kept DNS-name export is refused with
 *   CloudFormation's own error, and the ALB stack rolls back (the world is as
 *   it was);
 * - the app as it is deploys the domain as an update: HTTPS with host rules,
 *   port 80 redirecting, api and auth on new revisions with the https
 *   origins, the export kept and no longer imported.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  DescribeStacksCommand,
  ListExportsCommand,
  ListImportsCommand,
} from '@aws-sdk/client-cloudformation';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { cdkDeploy, clientConfig, editedInfra, infraAssembly, outcome, withAppDeployed } from './cdk-cli.js';

const DOMAIN = { domain: 'alva.app' };
const CLUSTER = 'alva-staging-cluster';

describe('adding the domain later with cdk deploy against the simulator', () => {
  const app = withAppDeployed();
  let ecs: ECSClient;

  beforeAll(() => {
    ecs = new ECSClient(clientConfig(app.sim, app.credentials));
  });

  afterAll(() => {
    ecs?.destroy();
  });

  const status = async (name: string) =>
    (await app.cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0]?.StackStatus;
  const listeners = async () => {
    const { LoadBalancers = [] } = await app.elb.send(
      new DescribeLoadBalancersCommand({ Names: ['alva-staging-alb'] }),
    );
    const { Listeners = [] } = await app.elb.send(
      new DescribeListenersCommand({ LoadBalancerArn: LoadBalancers[0]!.LoadBalancerArn }),
    );
    return Listeners.sort((a, b) => a.Port! - b.Port!);
  };
  /** The ALB stack's export of its DNS name (CDK names it after the attribute: ...DNSName...). */
  const dnsExport = async () => {
    const { Exports = [] } = await app.cfn.send(new ListExportsCommand({}));
    return Exports.find((e) => e.Name?.startsWith('AlvaStagingAlb:') && e.Name.includes('DNSName'));
  };

  it("without the kept DNS-name export, the domain is refused with CloudFormation's own export error and the ALB stack rolls back", async () => {
    const exported = await dnsExport();
    expect(exported?.Name).toBeDefined();
    expect((await app.cfn.send(new ListImportsCommand({ ExportName: exported!.Name }))).Imports).toEqual([
      'AlvaStagingEcs',
    ]);
    const before = await listeners();
    const unkept = editedInfra('domain-without-kept-export', [
      {
        file: 'lib/stacks/alb-stack.ts',
        from: 'this.exportValue(this.loadBalancer.loadBalancerDnsName);',
        to: '// (the DNS name export is not kept)',
      },
    ]);
    const run = await cdkDeploy(app.sim, app.credentials, infraAssembly(DOMAIN, unkept));
    expect(run.code).not.toBe(0);
    const reason = `Export ${exported!.Name} cannot be deleted as it is in use by AlvaStagingEcs`;
    expect(run.output).toContain(reason);
    expect(await status('AlvaStagingAlb')).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(await status('AlvaStagingEcs')).toBe('CREATE_COMPLETE');
    // Nothing of the domain reached the world: the same single HTTP listener.
    expect(await listeners()).toEqual(before);
  }, 900_000);

  it('adding the domain deploys as an update: HTTPS with host rules, port 80 redirects, api and auth get the https origins', async () => {
    const exported = await dnsExport();
    const run = await cdkDeploy(app.sim, app.credentials, infraAssembly(DOMAIN));
    expect(outcome(run)).toEqual({ code: 0, tail: '' });
    expect(await status('AlvaStagingAlb')).toBe('UPDATE_COMPLETE');
    expect(await status('AlvaStagingEcs')).toBe('UPDATE_COMPLETE');

    const [http, https] = await listeners();
    expect(http).toMatchObject({ Port: 80, Protocol: 'HTTP' });
    // Port 80 no longer forwards: it answers 301 (the simulator serves ELB's redirect as a fixed response with
    // the redirect's status code and no Location header; sim/README.md, "The world from a CDK app").
    const http80 = http!.DefaultActions?.[0];
    expect(http80?.ForwardConfig ?? http80?.TargetGroupArn).toBeUndefined();
    expect(http80?.RedirectConfig?.StatusCode ?? http80?.FixedResponseConfig?.StatusCode).toMatch(/301$/);
    expect(https).toMatchObject({ Port: 443, Protocol: 'HTTPS' });
    const { Rules = [] } = await app.elb.send(new DescribeRulesCommand({ ListenerArn: https!.ListenerArn }));
    const hosts = Rules.flatMap((r) => r.Conditions ?? []).flatMap(
      (c) => c.HostHeaderConfig?.Values ?? c.Values ?? [],
    );
    expect(hosts).toEqual(expect.arrayContaining(['api-staging.alva.app', 'auth-staging.alva.app']));

    // The export outlived the import: same name and value, imported by no stack now.
    expect(await dnsExport()).toEqual(exported);
    await expect(app.cfn.send(new ListImportsCommand({ ExportName: exported!.Name }))).rejects.toThrow(
      `Export '${exported!.Name}' is not imported by any stack.`,
    );

    // api and auth roll onto revisions with the https origins.
    const { services = [] } = await ecs.send(
      new DescribeServicesCommand({ cluster: CLUSTER, services: ['alva-api', 'alva-auth'] }),
    );
    for (const service of services) {
      expect(service.taskDefinition).toMatch(/:2$/);
      const { taskDefinition } = await ecs.send(
        new DescribeTaskDefinitionCommand({ taskDefinition: service.taskDefinition }),
      );
      const cors = taskDefinition?.containerDefinitions?.[0]?.environment?.find(
        (e) => e.name === 'CORS_ORIGINS',
      );
      expect(cors?.value).toContain('https://api-staging.alva.app');
    }
  }, 900_000);
});
