/**
 * The reusable workflow's rollback job when the deploy job left no
 * `deployments` output: it must still run, say that it uses ECS's own record
 * (the revisions this run registered, tagged with the run id), and undo
 * only what this run changed. Here the deploy step fails on its input before
 * any change, so the record holds nothing of this run: the job runs, says
 * which source it used, changes nothing, and verify confirms the services.
 * (Undoing a release from that record is tested on the action itself in
 * test/e2e/deploy-services-outage.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { resolve } from 'node:path';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { startSim, type Sim } from '../../sim/index.js';
import { loadEnvironments, repositoryRoot } from '../../runner/repo.js';
import { runWorkflow, type JobRecord, type WorkflowRecord } from '../../runner/run.js';

const CLUSTER = 'alva-staging-cluster';
const SERVICES = ['alva-web', 'alva-api', 'alva-auth', 'alva-admin'];
const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const SECRET = 'workflow-test-secret-access-key';

let sim: Sim;
let ecs: ECSClient;

beforeAll(async () => {
  sim = await startSim({
    scenario: resolve(repositoryRoot, 'sim/scenarios/staging.json'),
    speed: 30,
    port: 0,
  });
  ecs = new ECSClient({
    endpoint: sim.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIATEST', secretAccessKey: SECRET },
  });
});
afterAll(async () => {
  ecs.destroy();
  await sim.close();
});

function jobs(run: WorkflowRecord): Record<string, JobRecord['result']> {
  const flat = (r: WorkflowRecord): JobRecord[] => r.jobs.flatMap((j) => (j.called ? flat(j.called) : [j]));
  return Object.fromEntries(flat(run).map((j) => [j.id, j.result]));
}

async function taskDefinitions(): Promise<Record<string, string>> {
  const { services = [] } = await ecs.send(
    new DescribeServicesCommand({ cluster: CLUSTER, services: SERVICES }),
  );
  return Object.fromEntries(services.map((s) => [s.serviceName!, s.taskDefinition!]));
}

describe('ecs-deploy.yml rollback job without the deployments output', () => {
  it('runs from ECS record, says so, and changes nothing this run did not change', async () => {
    const before = await taskDefinitions();
    // A container no service has: deploy-services refuses it before any change, writing no output.
    const images = JSON.stringify({
      ...Object.fromEntries(['web', 'api', 'auth', 'admin'].map((c) => [c, `${ECR}/alva-${c}:noout1`])),
      worker: `${ECR}/alva-worker:noout1`,
    });
    const lines: string[] = [];
    const since = sim.calls().at(-1)?.seq ?? 0;
    const run = await runWorkflow(resolve(repositoryRoot, '.github/workflows/deploy-staging.yml'), {
      repoRoot: repositoryRoot,
      event: 'workflow_dispatch',
      inputs: { images },
      env: {
        AWS_ENDPOINT_URL: sim.url,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'AKIATEST',
        AWS_SECRET_ACCESS_KEY: SECRET,
      },
      vars: { AWS_DEPLOY_ROLE_ARN: 'arn:aws:iam::123456789012:role/alva-staging-deploy' },
      environments: loadEnvironments(repositoryRoot),
      approve: true,
      sha: 'c0ffee0000000000000000000000000000000000',
      log: (line) => lines.push(line),
    });
    const log = lines.join('\n');
    expect(jobs(run)).toMatchObject({ deploy: 'failure', verify: 'skipped', rollback: 'success' });
    expect(log).toMatch(/Input "images": no task definition .* "worker"/);
    expect(log).toMatch(/The deploy step left no deployments output .* rolling back from ECS's own record/);
    for (const service of SERVICES) {
      expect(log).toMatch(
        new RegExp(`${service}: runs ${service}:\\d+, which release \\d+ did not register; nothing to undo`),
      );
    }
    expect(
      sim
        .calls(since)
        .filter((c) => c.mutating && c.operation !== 'RunTask' && c.operation !== 'RegisterTaskDefinition'),
    ).toEqual([]);
    expect(await taskDefinitions()).toEqual(before);
  });
});
