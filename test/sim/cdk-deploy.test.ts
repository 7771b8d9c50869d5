/**
 * The project's own CDK CLI (`cdk deploy --all` from infra/) against the
 * simulator from a fresh account: refused with the CLI's own "bootstrap"
 * message when the account is not bootstrapped; bootstrapped
 * (sim/cfn/bootstrap.ts), it assumes the bootstrap roles, publishes the
 * templates to the staging bucket, deploys every stack through change sets
 * with TemplateURL, and the world serves the app; a second run changes nothing.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { startSim, type Sim } from '../../sim/index.js';
import { withCdkBootstrap } from '../../sim/cfn/bootstrap.js';
import {
  ACCOUNT,
  SPEED,
  STACKS,
  adminCredentials,
  calls,
  cdkDeploy as deployApp,
  freshAccount as fresh,
  infraAssembly,
  sessionFor,
  type Credentials,
} from './cdk-cli.js';

const ROLE_PREFIX = `arn:aws:sts::${ACCOUNT}:assumed-role/cdk-hnb659fds-`;

let app: string | undefined;

/** `cdk deploy --all` of infra/ as it is (synthesized once, cached). */
function cdkDeploy(sim: Sim, credentials: Credentials) {
  app ??= infraAssembly();
  return deployApp(sim, credentials, app);
}

describe('cdk deploy --all against the simulator', () => {
  const sims: Sim[] = [];
  afterAll(async () => {
    await Promise.all(sims.map((s) => s.close()));
  });

  it("refuses an account that is not bootstrapped with the CLI's own message, deploying nothing", async () => {
    const sim = await startSim({ scenario: fresh, port: 0, speed: SPEED });
    sims.push(sim);
    const run = await cdkDeploy(sim, await adminCredentials(sim));
    expect(run.code).not.toBe(0);
    expect(run.output).toContain(
      "SSM parameter /cdk-bootstrap/hnb659fds/version not found in aws://123456789012/us-east-1. Has the environment been bootstrapped? Please run 'cdk bootstrap'",
    );
    const log = await calls(sim);
    expect(log.filter((c) => c.service === 'cloudformation' && c.operation === 'CreateChangeSet')).toEqual(
      [],
    );
  }, 180_000);

  it('deploys every stack of a fresh bootstrapped account through the bootstrap roles; runs with no change are no-ops (also as the pipeline deploy role)', async () => {
    const sim = await startSim({ scenario: withCdkBootstrap(fresh), port: 0, speed: SPEED });
    sims.push(sim);
    const credentials = await adminCredentials(sim);
    const first = await cdkDeploy(sim, credentials);
    expect({ code: first.code, tail: first.code === 0 ? '' : first.output.slice(-3000) }).toEqual({
      code: 0,
      tail: '',
    });

    const log = await calls(sim);
    // Templates went to the staging bucket as the file-publishing role, change sets came from the deploy role.
    const puts = log.filter((c) => c.service === 's3' && c.operation === 'PutObject' && c.status === 200);
    expect(puts.length).toBeGreaterThanOrEqual(STACKS.length);
    for (const put of puts) {
      expect(put.params.Bucket).toBe(`cdk-hnb659fds-assets-${ACCOUNT}-us-east-1`);
      expect(put.gate?.principal).toMatch(new RegExp(`^${ROLE_PREFIX}file-publishing-role-`));
    }
    const created = log.filter((c) => c.operation === 'CreateChangeSet' && c.status === 200);
    expect(created.map((c) => c.params.StackName).sort()).toEqual([...STACKS].sort());
    for (const cs of created) {
      expect(cs.gate?.principal).toMatch(new RegExp(`^${ROLE_PREFIX}deploy-role-`));
      expect(String(cs.params.TemplateURL)).toContain(`/cdk-hnb659fds-assets-${ACCOUNT}-us-east-1/`);
    }

    const clientConfig = { endpoint: sim.url, region: 'us-east-1', credentials };
    const cfn = new CloudFormationClient(clientConfig);
    const ecs = new ECSClient(clientConfig);
    try {
      const stacks = (await cfn.send(new DescribeStacksCommand({}))).Stacks ?? [];
      const status = Object.fromEntries(stacks.map((s) => [s.StackName, s.StackStatus]));
      for (const name of STACKS) expect(`${name} ${status[name]}`).toBe(`${name} CREATE_COMPLETE`);
      // The world serves the app: the ECS stack's services exist and run their first revisions.
      const services = await ecs.send(
        new DescribeServicesCommand({
          cluster: 'alva-staging-cluster',
          services: ['alva-web', 'alva-api', 'alva-auth', 'alva-admin'],
        }),
      );
      expect(services.failures).toEqual([]);
      expect(
        services.services?.map((s) => [s.serviceName, s.status, s.taskDefinition?.split('/')[1]]),
      ).toEqual([
        ['alva-web', 'ACTIVE', 'alva-web:1'],
        ['alva-api', 'ACTIVE', 'alva-api:1'],
        ['alva-auth', 'ACTIVE', 'alva-auth:1'],
        ['alva-admin', 'ACTIVE', 'alva-admin:1'],
      ]);
    } finally {
      cfn.destroy();
      ecs.destroy();
    }

    // Run again with no change: as the administrator, then as the pipeline's deploy role (the CiIdentity stack
    // just made it; its CdkBootstrapRoles statement lets it assume the bootstrap roles). The first no-op run
    // deletes the executed change set, so the second finds none to delete ("if it exists").
    let since = log[log.length - 1]!.seq;
    for (const role of ['admin', 'alva-staging-github-deploy']) {
      const again = await cdkDeploy(sim, await sessionFor(sim, role));
      expect({ role, code: again.code, tail: again.code === 0 ? '' : again.output.slice(-3000) }).toEqual({
        role,
        code: 0,
        tail: '',
      });
      for (const name of STACKS) expect(again.output).toContain(`${name} (no changes)`);
      const made = await calls(sim, since);
      expect(
        made.filter(
          (c) =>
            c.service === 'cloudformation' && ['CreateChangeSet', 'ExecuteChangeSet'].includes(c.operation),
        ),
      ).toEqual([]);
      const assumed = made.filter((c) => c.operation === 'AssumeRole' && c.status === 200);
      expect(assumed.length).toBeGreaterThan(0);
      for (const call of assumed) expect(call.gate?.principal).toContain(`:assumed-role/${role}/`);
      since = made[made.length - 1]!.seq;
    }
  }, 900_000);
});
