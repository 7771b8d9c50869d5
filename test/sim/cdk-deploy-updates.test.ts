/**
 * Updates through the project's own CDK CLI against the simulator, after a
 * first `cdk deploy --all` of a fresh bootstrapped account:
 * - an app change to the target groups' health check (interval and the api's
 *   path) deploys as an update of the ALB stack and the live target groups
 *   take it: DescribeTargetGroups, and the data plane's checks run on the new
 *   settings with the targets still healthy;
 * - a resource ELBv2 refuses (a health-check timeout equal to its interval, as
 *   an escape hatch could write it: CDK's synthesis would refuse it) fails the
 *   update, the stack rolls back to UPDATE_ROLLBACK_COMPLETE with
 *   CloudFormation's reason, which the CLI prints; the live group is unchanged;
 * - an export another stack imports cannot be removed: CloudFormation's own
 *   "Export X cannot be deleted as it is in use by Y", printed by the CLI.
 * Rollback and export behaviour: CloudFormation User Guide, "Stack status
 * codes" (UPDATE_ROLLBACK_COMPLETE) and "Fn::ImportValue" ("You can't modify
 * or remove an output value that is referenced by another stack.").
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import {
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ListImportsCommand,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import {
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { CfnTemplate } from '../../sim/assembly/manifest.js';
import {
  STACKS,
  cdkDeploy,
  editedAssembly,
  editedInfra,
  infraAssembly,
  outcome,
  withAppDeployed,
} from './cdk-cli.js';

const ALB = 'AlvaStagingAlb';
const GROUPS = ['alva-staging-web', 'alva-staging-api', 'alva-staging-auth', 'alva-staging-admin'];

/** The infra/ app with a health check every 10 s instead of 5, and the api checked on /api/ready. */
const healthCheckChange = () =>
  editedInfra('health-check', [
    { file: 'lib/stacks/alb-stack.ts', from: 'intervalSeconds: 5,', to: 'intervalSeconds: 10,' },
    {
      file: 'lib/config/services.ts',
      from: "healthCheckPath: '/api/health'",
      to: "healthCheckPath: '/api/ready'",
    },
  ]);

/** The logical id of the target group named `name` in a template. */
function targetGroupId(template: CfnTemplate, name: string): string {
  const found = Object.entries(template.Resources ?? {}).find(
    ([, r]) => r.Type === 'AWS::ElasticLoadBalancingV2::TargetGroup' && r.Properties?.Name === name,
  );
  if (!found) throw new Error(`no target group ${name}`);
  return found[0];
}

describe('cdk deploy updates against the simulator', () => {
  const app = withAppDeployed();
  let changedApp: string;

  const groups = async (): Promise<Record<string, TargetGroup>> => {
    const { TargetGroups = [] } = await app.elb.send(new DescribeTargetGroupsCommand({ Names: GROUPS }));
    return Object.fromEntries(TargetGroups.map((g) => [g.TargetGroupName!, g]));
  };
  const stackStatus = async (name: string) =>
    (await app.cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0]?.StackStatus;
  const eventsSince = async (name: string, since: Date): Promise<StackEvent[]> => {
    const { StackEvents = [] } = await app.cfn.send(new DescribeStackEventsCommand({ StackName: name }));
    return StackEvents.filter((e) => e.Timestamp! >= since).reverse();
  };

  it('a changed health check deploys as an update of the ALB stack, and the live target groups check on the new settings', async () => {
    const before = await groups();
    expect(before['alva-staging-api']).toMatchObject({
      HealthCheckPath: '/api/health',
      HealthCheckIntervalSeconds: 5,
    });
    changedApp = infraAssembly({}, healthCheckChange());
    const run = await cdkDeploy(app.sim, app.credentials, changedApp);
    expect(outcome(run)).toEqual({ code: 0, tail: '' });
    for (const name of STACKS.filter((s) => s !== ALB)) expect(run.output).toContain(`${name} (no changes)`);
    expect(await stackStatus(ALB)).toBe('UPDATE_COMPLETE');

    const after = await groups();
    expect(after['alva-staging-api']).toMatchObject({
      HealthCheckPath: '/api/ready',
      HealthCheckIntervalSeconds: 10,
    });
    for (const name of GROUPS) {
      expect(after[name]).toMatchObject({
        HealthCheckIntervalSeconds: 10,
        HealthCheckTimeoutSeconds: before[name]!.HealthCheckTimeoutSeconds,
        TargetGroupArn: before[name]!.TargetGroupArn, // updated in place, not replaced
      });
      // The data plane's checks run on the group's live settings: the next check comes 10 s after the last.
      const live = app.sim.world.elb.targetGroups.get(after[name]!.TargetGroupArn!);
      expect(live?.healthCheck).toMatchObject({ intervalSeconds: 10, path: after[name]!.HealthCheckPath });
    }
    // The tasks pass the new checks: wait out a few intervals of simulated time, every target still healthy.
    await new Promise<void>((resolve) => app.sim.world.clock.after(35_000, resolve));
    for (const name of GROUPS) {
      const { TargetHealthDescriptions = [] } = await app.elb.send(
        new DescribeTargetHealthCommand({ TargetGroupArn: after[name]!.TargetGroupArn }),
      );
      expect(TargetHealthDescriptions.length).toBeGreaterThan(0);
      expect(TargetHealthDescriptions.map((t) => `${name} ${t.TargetHealth?.State}`)).toEqual(
        TargetHealthDescriptions.map(() => `${name} healthy`),
      );
    }
  }, 600_000);

  it("a resource ELBv2 refuses rolls the stack back to UPDATE_ROLLBACK_COMPLETE with CloudFormation's reason, which the CLI prints", async () => {
    const before = await groups();
    let failingId = '';
    const broken = editedAssembly(changedApp, 'timeout-equals-interval', ALB, (template) => {
      failingId = targetGroupId(template, 'alva-staging-api');
      const props = template.Resources![failingId]!.Properties!;
      props.HealthCheckTimeoutSeconds = props.HealthCheckIntervalSeconds;
    });
    const started = new Date(app.sim.world.clock.now());
    const run = await cdkDeploy(app.sim, app.credentials, broken);
    expect(run.code).not.toBe(0);
    const message = 'Health check interval must be greater than the timeout.';
    // The CLI prints the stack events (statuses cut to its column: UPDATE_ROLLBACK_COMPLET) and the failure.
    expect(run.output).toContain(`${ALB} failed to deploy`);
    expect(run.output).toMatch(/UPDATE_ROLLBACK_COMPLET\w* +\| AWS::CloudFormation::Stack/);
    expect(run.output).toContain('Resource updates failed');
    expect(run.output).toContain(message);

    expect(await stackStatus(ALB)).toBe('UPDATE_ROLLBACK_COMPLETE');
    const events = await eventsSince(ALB, started);
    const failed = events.find((e) => e.ResourceStatus === 'UPDATE_FAILED');
    expect(failed).toMatchObject({ LogicalResourceId: failingId });
    expect(failed?.ResourceStatusReason).toMatch(
      /^Resource handler returned message: "Health check interval must be greater than the timeout\. \(Service: ElasticLoadBalancingV2, Status Code: 400, Request ID: [-0-9a-f]+\)" \(RequestToken: [-0-9a-f]+, HandlerErrorCode: InvalidRequest\)$/,
    );
    const stackStatuses = events.filter((e) => e.LogicalResourceId === ALB).map((e) => e.ResourceStatus);
    expect(stackStatuses).toEqual([
      'UPDATE_IN_PROGRESS',
      'UPDATE_ROLLBACK_IN_PROGRESS',
      'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
      'UPDATE_ROLLBACK_COMPLETE',
    ]);
    expect(events.find((e) => e.ResourceStatus === 'UPDATE_ROLLBACK_IN_PROGRESS')?.ResourceStatusReason).toBe(
      `The following resource(s) failed to update: [${failingId}].`,
    );
    // The live group never took the refused setting.
    expect(await groups()).toEqual(before);
  }, 600_000);

  it("removing an export another stack imports is refused with CloudFormation's own error, and the stack rolls back", async () => {
    let removed = '';
    const ecsTemplate = readFileSync(join(changedApp, 'AlvaStagingEcs.template.json'), 'utf8');
    const dropped = editedAssembly(changedApp, 'export-removed', ALB, (template) => {
      // An output the ECS stack imports (a target group, the DNS name).
      const [key, output] = Object.entries(template.Outputs ?? {}).find(
        ([, o]) => typeof o.Export?.Name === 'string' && ecsTemplate.includes(`"${o.Export.Name}"`),
      )!;
      removed = output.Export!.Name as string;
      delete template.Outputs![key];
    });
    const started = new Date(app.sim.world.clock.now());
    const run = await cdkDeploy(app.sim, app.credentials, dropped, [ALB]);
    expect(run.code).not.toBe(0);
    const { Imports = [] } = await app.cfn.send(new ListImportsCommand({ ExportName: removed }));
    expect(Imports).toContain('AlvaStagingEcs');
    const reason = `Export ${removed} cannot be deleted as it is in use by ${Imports.join(', ')}`;
    expect(run.output).toContain(reason);
    expect(await stackStatus(ALB)).toBe('UPDATE_ROLLBACK_COMPLETE');
    const events = await eventsSince(ALB, started);
    expect(events.find((e) => e.ResourceStatus === 'UPDATE_ROLLBACK_IN_PROGRESS')?.ResourceStatusReason).toBe(
      reason,
    );
    // The export is still there for its importer.
    expect((await app.cfn.send(new ListImportsCommand({ ExportName: removed }))).Imports).toEqual(Imports);
  }, 600_000);
});
