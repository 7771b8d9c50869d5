/**
 * What the workflow tests share: the staging simulator they run against, the
 * real workflow files run by the local runner with the credentials and
 * variables a staging repository has, and reads of where the services stand.
 */
import { afterAll, beforeAll, beforeEach } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DescribeServicesCommand, ECSClient, type Service } from '@aws-sdk/client-ecs';
import { startSim, type Sim } from '../../sim/index.js';
import { clientConfig, withOperator } from '../sim/helpers.js';
import { loadEnvironments, repositoryRoot } from '../../runner/repo.js';
import { runWorkflow, type JobRecord, type RunnerOptions, type WorkflowRecord } from '../../runner/run.js';

export const CLUSTER = 'alva-staging-cluster';
export const SERVICES = ['alva-web', 'alva-api', 'alva-auth', 'alva-admin'];
export const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
export const SECRET = 'workflow-test-secret-access-key';
/** The repository the workflows run in: infra/cdk.json's `github-repo`, the one the CI roles trust. */
export const REPOSITORY = (
  JSON.parse(readFileSync(resolve(repositoryRoot, 'infra/cdk.json'), 'utf8')) as {
    context: { 'github-repo': string };
  }
).context['github-repo'];
/**
 * The repository variables holding infra's CI roles (AlvaStagingCiIdentity outputs), one per kind of job,
 * as deploy-staging.yml and rollback.yml read them.
 */
export const ROLE_VARS = {
  AWS_BUILD_ROLE_ARN: 'arn:aws:iam::123456789012:role/alva-staging-github-build',
  AWS_READ_ROLE_ARN: 'arn:aws:iam::123456789012:role/alva-staging-github-read',
  AWS_MIGRATE_ROLE_ARN: 'arn:aws:iam::123456789012:role/alva-staging-github-migrate',
  AWS_DEPLOY_ROLE_ARN: 'arn:aws:iam::123456789012:role/alva-staging-github-deploy',
} as const;

export interface StagingWorld {
  sim: Sim;
  ecs: ECSClient;
}

/** Starts the staging simulator before the file's tests and closes it after; the fields are set in beforeAll. */
export function useStagingWorld(speed = 30): StagingWorld {
  const world = {} as StagingWorld;
  beforeAll(async () => {
    // IAM enforced: the jobs get keys only from their credentials step; the test reads as its operator.
    world.sim = await startSim({ scenario: withOperator(), speed, port: 0 });
    world.ecs = new ECSClient(clientConfig(world.sim));
  });
  afterAll(async () => {
    world.ecs.destroy();
    await world.sim.close();
  });
  return world;
}

/** The staging world of useStagingWorld, reset to the scenario before each test so no test sees another's release. */
export function useFreshStagingWorld(speed = 30): StagingWorld {
  const world = useStagingWorld(speed);
  beforeEach(async () => {
    await world.sim.reset();
  });
  return world;
}

/** deploy-staging.yml run with the given `images` input. */
export function releaseToStaging(world: StagingWorld, imagesJson: string): Promise<WorkflowRun> {
  return runStagingWorkflow(world, 'deploy-staging.yml', { inputs: { images: imagesJson } });
}

/** An `images` input: every container on `tag` in the staging registry, unless overridden. */
export function stagingImages(tag: string, overrides: Record<string, string> = {}): string {
  return JSON.stringify(
    Object.fromEntries(
      ['web', 'api', 'auth', 'admin'].map((c) => [c, overrides[c] ?? `${ECR}/alva-${c}:${tag}`]),
    ),
  );
}

export interface WorkflowRun {
  run: WorkflowRecord;
  log: string;
}

/** Runs .github/workflows/<file> on workflow_dispatch against the simulator, approvals given. */
export async function runStagingWorkflow(
  world: StagingWorld,
  file: string,
  options: { inputs: Record<string, string>; vars?: Record<string, string> } & Pick<
    RunnerOptions,
    'killStep' | 'ref'
  >,
): Promise<WorkflowRun> {
  const lines: string[] = [];
  const run = await runWorkflow(resolve(repositoryRoot, '.github/workflows', file), {
    repoRoot: repositoryRoot,
    repository: REPOSITORY,
    event: 'workflow_dispatch',
    inputs: options.inputs,
    env: { AWS_ENDPOINT_URL: world.sim.url, AWS_REGION: 'us-east-1' },
    vars: { ...ROLE_VARS, ...options.vars },
    environments: loadEnvironments(repositoryRoot),
    approve: true,
    sha: 'c0ffee0000000000000000000000000000000000',
    log: (line) => lines.push(line),
    ...(options.killStep ? { killStep: options.killStep } : {}),
    ...(options.ref ? { ref: options.ref } : {}),
  });
  return { run, log: lines.join('\n') };
}

/** Every job's result by id, jobs of called workflows included. */
export function jobResults(run: WorkflowRecord): Record<string, JobRecord['result']> {
  const flat = (r: WorkflowRecord): JobRecord[] => r.jobs.flatMap((j) => (j.called ? flat(j.called) : [j]));
  return Object.fromEntries(flat(run).map((j) => [j.id, j.result]));
}

/** The four staging services as ECS describes them now. */
export async function describeStaging(world: StagingWorld): Promise<Service[]> {
  const { services = [] } = await world.ecs.send(
    new DescribeServicesCommand({ cluster: CLUSTER, services: SERVICES }),
  );
  return services;
}

/** Each staging service's PRIMARY task definition, from the simulator. */
export async function primaryTaskDefinitions(world: StagingWorld): Promise<Record<string, string>> {
  return Object.fromEntries(
    (await describeStaging(world)).map((s) => [
      s.serviceName!,
      s.deployments!.find((d) => d.status === 'PRIMARY')!.taskDefinition!,
    ]),
  );
}
