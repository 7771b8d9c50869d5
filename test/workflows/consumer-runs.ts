/**
 * What the consumer tests share about a run: the shop's workflows run by the
 * local runner against the simulator, with `acme/ecs-ship` mapped to the
 * suite's clone, and the jobs of a run with those of called workflows.
 */
import { join } from 'node:path';
import { ECSClient } from '@aws-sdk/client-ecs';
import type { Scenario, Sim } from '../../sim/index.js';
import { REGISTRY, REGISTRY_PASSWORD, REGISTRY_USER } from '../../runner/docker.js';
import { loadEnvironments } from '../../runner/repo.js';
import { runWorkflow, type JobRecord, type RunnerOptions, type WorkflowRecord } from '../../runner/run.js';

/** Every job of a run, the jobs of called workflows in place of the job that called them. */
export function flatJobs(run: WorkflowRecord): JobRecord[] {
  return run.jobs.flatMap((j) => (j.called ? flatJobs(j.called) : [j]));
}

/** The world's ECR served by the machine's shared registry (127.0.0.1:5000), holding `repositories`. */
export function sharedRegistryEcr(repositories: string[]): NonNullable<Scenario['ecr']> {
  return { registry: REGISTRY, username: REGISTRY_USER, password: REGISTRY_PASSWORD, repositories };
}

/** An ECS client of the simulator with unsigned test keys (served where the world has no IAM model). */
export function testKeysEcsClient(sim: Sim): ECSClient {
  return new ECSClient({
    endpoint: sim.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIATEST', secretAccessKey: 'test' },
  });
}

export interface ShopCheckout {
  /** The shop's repository and the commit the run is for. */
  shop: string;
  sha: string;
  /** The suite's clone that `acme/ecs-ship` maps to. */
  suite: string;
  sim: Sim;
  /** The deploy role the repository's variable AWS_DEPLOY_ROLE_ARN names. */
  deployRole: string;
}

/** Runs the shop's .github/workflows/<workflow> on workflow_dispatch of main against the simulator, approvals given. */
export async function runShopWorkflow(
  checkout: ShopCheckout,
  workflow: string,
  inputs: Record<string, string>,
  extra: Partial<RunnerOptions> = {},
): Promise<{ run: WorkflowRecord; log: string }> {
  const lines: string[] = [];
  const run = await runWorkflow(join(checkout.shop, '.github/workflows', workflow), {
    repoRoot: checkout.shop,
    repository: 'acme/shop',
    event: 'workflow_dispatch',
    ref: 'refs/heads/main',
    sha: checkout.sha,
    inputs,
    // No AWS keys of the runner's own, as on a GitHub-hosted runner: only the credentials steps give any.
    env: { AWS_ENDPOINT_URL: checkout.sim.url, AWS_REGION: 'us-east-1' },
    vars: { AWS_DEPLOY_ROLE_ARN: checkout.deployRole },
    environments: loadEnvironments(checkout.shop),
    approve: true,
    uses: { 'acme/ecs-ship': checkout.suite },
    log: (line) => lines.push(line),
    ...extra,
  });
  return { run, log: lines.join('\n') };
}

/**
 * The shop's release.yml run as GitHub runs it on a push to main from `before` to `checkout.sha`, building its
 * images on this machine: the base image made locally, and an engine without a bridge network.
 */
export async function pushShopRelease(
  checkout: ShopCheckout,
  before: string,
): Promise<{ run: WorkflowRecord; log: string }> {
  const lines: string[] = [];
  const run = await runWorkflow(join(checkout.shop, '.github/workflows/release.yml'), {
    repoRoot: checkout.shop,
    repository: 'acme/shop',
    event: 'push',
    ref: 'refs/heads/main',
    sha: checkout.sha,
    eventPayload: { before, after: checkout.sha },
    env: { AWS_ENDPOINT_URL: checkout.sim.url, AWS_REGION: 'us-east-1' },
    vars: {
      AWS_DEPLOY_ROLE_ARN: checkout.deployRole,
      BASE_IMAGE: 'ecs-ship/node:24',
      BUILD_NETWORK: 'host',
    },
    environments: loadEnvironments(checkout.shop),
    approve: true,
    uses: { 'acme/ecs-ship': checkout.suite },
    log: (line) => lines.push(line),
  });
  return { run, log: lines.join('\n') };
}
