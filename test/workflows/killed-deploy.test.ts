/**
 * deploy-staging.yml (and the reusable ecs-deploy.yml) run by the local runner
 * against the simulator, with the deploy step SIGKILLed mid-rollout, as an
 * out-of-memory kill or a lost runner would end it: no outputs, no summary,
 * no cleanup of its own. The pipeline's rollback job must still return every
 * service to the revision it ran before the release. Judged from
 * DescribeServices in the simulator, not from what any job says.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { resolve } from 'node:path';
import { DescribeServicesCommand, ECSClient, type Service } from '@aws-sdk/client-ecs';
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

async function describeAll(): Promise<Service[]> {
  const { services = [] } = await ecs.send(
    new DescribeServicesCommand({ cluster: CLUSTER, services: SERVICES }),
  );
  return services;
}

const primary = (s: Service) => s.deployments!.find((d) => d.status === 'PRIMARY')!;

describe('deploy-staging.yml with the deploy step killed', () => {
  it('a deploy step killed (SIGKILL) mid-rollout: the rollback job returns every service to its previous revision', async () => {
    const before = Object.fromEntries((await describeAll()).map((s) => [s.serviceName!, s.taskDefinition!]));
    const images = JSON.stringify(
      Object.fromEntries(['web', 'api', 'auth', 'admin'].map((c) => [c, `${ECR}/alva-${c}:killed1`])),
    );
    const lines: string[] = [];
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
      // Killed once the rollout is under way: every service's UpdateService sent, tasks starting.
      killStep: { job: 'deploy', step: 'deploy', when: /Wait until/, signal: 'SIGKILL' },
    });
    const log = lines.join('\n');

    // The kill really happened mid-rollout: the release had started a deployment on every service.
    const updates = sim.calls().filter((c) => c.operation === 'UpdateService' && c.status === 200);
    const releasedTo = new Map<string, string>();
    for (const call of updates) {
      const service = String(call.params.service);
      if (!releasedTo.has(service)) releasedTo.set(service, String(call.params.taskDefinition));
    }
    expect([...releasedTo.keys()].sort()).toEqual([...SERVICES].sort());
    expect(log).toContain('SIGKILL sent to the step');

    expect(jobs(run)).toMatchObject({
      migrate: 'success',
      deploy: 'failure',
      verify: 'skipped',
      rollback: 'success',
    });
    expect(run.conclusion).toBe('failure');

    // From the simulator: every service back on (and running) its previous revision, nothing left in flight.
    // (The rollback waits for healthy, not for the old tasks to drain: give the drain its few seconds.)
    let after = await describeAll();
    for (let i = 0; i < 100 && after.some((s) => s.deployments!.length > 1); i++) {
      await new Promise((r) => setTimeout(r, 200));
      after = await describeAll();
    }
    for (const service of after) {
      expect({ service: service.serviceName, taskDefinition: primary(service).taskDefinition }).toEqual({
        service: service.serviceName,
        taskDefinition: before[service.serviceName!],
      });
      expect(service.taskDefinition).toBe(before[service.serviceName!]);
      expect(primary(service).rolloutState).toBe('COMPLETED');
      expect(service.deployments).toHaveLength(1);
    }
    expect(log).not.toContain(SECRET);
  }, 180_000);
});
