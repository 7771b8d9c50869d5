/**
 * npm run demo: the staging pipeline end to end on this machine.
 *
 * Starts the AWS simulator with the staging world synthesized from infra/ with
 * api and auth deploying blue/green behind the release gate (web and admin
 * roll; runner/gated-world.ts) and runs the real .github/workflows/deploy-staging.yml
 * through the local runner twice, the gate on (RELEASE_GATE_PARAMETER):
 *   1. a good release: build (for real when a Docker engine and the local
 *      registry are up, else images already in the registry), migrate,
 *      deploy: web and admin roll, api and auth wait on test traffic until
 *      both passed verify there, then the gate opens and production moves;
 *      verify all four behind the ALB;
 *   2. a release whose auth revision answers 500: verify on test traffic
 *      fails, the gate closes, ECS shifts api and auth back (production never
 *      reached them), the rollback job rolls web and admin back and proves it.
 * Then one screen: what ran, the AWS role each job assumed (through the
 * simulator's STS, with the OIDC token the runner minted for it), and which
 * revision each service serves with its deployment strategy.
 *
 * As on a GitHub-hosted runner, the jobs get no AWS keys but the ones their
 * configure-aws-credentials step obtains.
 *
 * `npm run demo -- --profile lean`: the same on infra/'s lean profile (ARM64,
 * Fargate Spot, no NAT), the world synthesized from infra/ with that context.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import { startSim, type Sim } from '../sim/index.js';
import { gatedStagingScenario, RELEASE_GATE_PARAMETER } from './gated-world.js';
import { REGISTRY, REGISTRY_PASSWORD, REGISTRY_USER, engineUp, registryUp } from './docker.js';
import { headSha, loadEnvironments, repositoryRoot } from './repo.js';
import { credentialsTable, renderRun, table } from './report.js';
import { runWorkflow, type WorkflowRecord } from './run.js';

const SPEED = Number(process.env.DEMO_SPEED ?? 20);
const CLUSTER = 'alva-staging-cluster';
const SERVICES = ['alva-web', 'alva-api', 'alva-auth', 'alva-admin'];
const CONTAINERS = ['web', 'api', 'auth', 'admin'];
const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
/** The repository variables holding infra's CI roles (the AlvaStagingCiIdentity stack's outputs). */
const ROLE_VARS = {
  AWS_BUILD_ROLE_ARN: 'arn:aws:iam::123456789012:role/alva-staging-github-build',
  AWS_READ_ROLE_ARN: 'arn:aws:iam::123456789012:role/alva-staging-github-read',
  AWS_MIGRATE_ROLE_ARN: 'arn:aws:iam::123456789012:role/alva-staging-github-migrate',
  AWS_DEPLOY_ROLE_ARN: 'arn:aws:iam::123456789012:role/alva-staging-github-deploy',
};
/**
 * The repository the workflows run in: the one infra's OIDC trusts name
 * (infra/cdk.json's `github-repo`), as on GitHub, where the role's trust and
 * the repository are one.
 */
function repositoryOfInfra(): string {
  const cdk = JSON.parse(readFileSync(resolve(repositoryRoot, 'infra/cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const repository = cdk.context?.['github-repo'];
  if (typeof repository !== 'string' || !repository.includes('/')) {
    throw new Error(
      'infra/cdk.json has no context "github-repo" (OWNER/NAME): the roles trust no repository',
    );
  }
  return repository;
}
const REPOSITORY = repositoryOfInfra();

/** The release gate's checks: only the blue/green services' paths (the test listener routes no other). */
const GATE_CHECKS = 'GET /api/health 200\nGET /auth/health 200';

/** Each service's deployment strategy (ROLLING when unset), as ECS reports it. */
async function strategies(sim: Sim): Promise<Record<string, string>> {
  const session = sim.session({ role: 'alva-staging-github-read', sessionName: 'demo-report' });
  const ecs = new ECSClient({ endpoint: sim.url, region: 'us-east-1', credentials: session });
  const { services = [] } = await ecs.send(
    new DescribeServicesCommand({ cluster: CLUSTER, services: SERVICES }),
  );
  ecs.destroy();
  return Object.fromEntries(
    services.map((s) => [s.serviceName!, s.deploymentConfiguration?.strategy ?? 'ROLLING']),
  );
}

async function serving(sim: Sim): Promise<Record<string, string>> {
  // IAM is enforced: the report reads the services as the read-only CI role, with a session an administrator hands out.
  const session = sim.session({ role: 'alva-staging-github-read', sessionName: 'demo-report' });
  const ecs = new ECSClient({ endpoint: sim.url, region: 'us-east-1', credentials: session });
  const { services = [] } = await ecs.send(
    new DescribeServicesCommand({ cluster: CLUSTER, services: SERVICES }),
  );
  const out: Record<string, string> = {};
  for (const s of services) {
    const primary = s.deployments?.find((d) => d.status === 'PRIMARY');
    const arn = primary?.taskDefinition ?? s.taskDefinition!;
    const { taskDefinition } = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
    const image = taskDefinition?.containerDefinitions?.[0]?.image ?? '?';
    out[s.serviceName!] = `${arn.split('/').pop()}  ${image
      .split('/')
      .pop()!
      .replace(/(sha256:[0-9a-f]{12})[0-9a-f]+/, '$1')}`;
  }
  ecs.destroy();
  return out;
}

async function release(title: string, inputs: Record<string, string>, sim: Sim): Promise<WorkflowRecord> {
  console.log(`\n${'═'.repeat(78)}\n${title}\n${'═'.repeat(78)}`);
  const sha = headSha(repositoryRoot);
  const run = await runWorkflow(resolve(repositoryRoot, '.github/workflows/deploy-staging.yml'), {
    repoRoot: repositoryRoot,
    event: 'workflow_dispatch',
    inputs,
    env: { AWS_ENDPOINT_URL: sim.url },
    repository: REPOSITORY,
    vars: {
      ...ROLE_VARS,
      STAGING_URL: '',
      // scripts/docker-up.sh's engine has no bridge network: the examples' `npm ci` runs on the host's.
      BUILD_NETWORK: 'host',
      // The simulator runs SPEED× faster than real time: bake the same simulated 30 s in fewer real seconds.
      BAKE_SECONDS: String(Math.max(1, Math.round(30 / SPEED))),
      // The release gate on (infra's ReleaseGateParameterName): api and auth move production only once both
      // passed verify on test traffic. verify waits in real seconds: 10 s, not 5 minutes, for a check to pass.
      RELEASE_GATE_PARAMETER,
      RELEASE_GATE_CHECKS: GATE_CHECKS,
      RELEASE_GATE_VERIFY_SECONDS: '10',
    },
    environments: loadEnvironments(repositoryRoot),
    // The demo stands in for the release managers; say so where it happens.
    approve: true,
    sha,
    ref: 'refs/heads/staging',
  });
  console.log(`\n${renderRun(run)}`);
  return run;
}

/**
 * `--profile standard|lean`: the infra/ profile the world is deployed with (infra/lib/config/profiles.ts).
 * lean is infra/ synthesized with `-c profile=lean` (sim/assembly, cached in .tmp/assemblies): Fargate Spot,
 * ARM64 task definitions, tasks in public subnets.
 */
function demoProfile(): 'standard' | 'lean' {
  const { values } = parseArgs({ options: { profile: { type: 'string', default: 'standard' } } });
  if (values.profile !== 'standard' && values.profile !== 'lean') {
    throw new Error(`--profile must be standard or lean (infra/'s context profile), got "${values.profile}"`);
  }
  return values.profile;
}

async function main() {
  const started = Date.now();
  const profile = demoProfile();
  // infra/ synthesized with api and auth blue/green behind the release gate (cached in .tmp/assemblies).
  const scenario = await gatedStagingScenario(profile === 'lean' ? { profile } : {});
  if (profile === 'lean') {
    // What is emulated, said where it matters: this x86 machine builds linux/amd64 images (no buildx, no
    // QEMU), and the simulator does not check an image's architecture against the task's.
    console.log(
      'Profile lean: ARM64 task definitions on Fargate Spot. The images built here are linux/amd64 and the simulator does not check an image against the task architecture; on AWS they must be linux/arm64 (build-push `platforms: linux/arm64`, on an arm64 runner or with QEMU), else each task exits at start with "exec format error".',
    );
  }
  // Docker can build here when the registry takes our login and the engine has the samples' base image.
  const docker = (await registryUp()) && engineUp();
  if (docker) {
    // Keep the repositories' settings infra/ synthesized (tag mutability, exclusion filters): only the registry changes.
    scenario.ecr = {
      ...scenario.ecr,
      registry: REGISTRY,
      username: REGISTRY_USER,
      password: REGISTRY_PASSWORD,
      repositories: scenario.ecr?.repositories ?? SERVICES,
    };
  }
  const sim = await startSim({ scenario, speed: SPEED, port: 0 });
  console.log(`AWS simulator on ${sim.url} (staging scenario, profile ${profile}, clock ×${SPEED})`);
  try {
    const strategy = await strategies(sim);
    const before = await serving(sim);
    const tag = headSha(repositoryRoot).slice(0, 7);
    const images = (suffix: string, overrides: Record<string, string> = {}) =>
      JSON.stringify(
        Object.fromEntries(CONTAINERS.map((c) => [c, overrides[c] ?? `${ECR}/alva-${c}:${suffix}`])),
      );

    let first: WorkflowRecord;
    if (docker) {
      console.log(
        `Docker engine and registry ${REGISTRY} reachable: release 1 builds the examples for real.`,
      );
      first = await release('Release 1: build, migrate, deploy, verify', { images: '' }, sim);
    } else {
      console.log(
        `No Docker engine or registry reachable (scripts/docker-up.sh starts them): release 1 uses images already in the registry (${ECR}/alva-*:${tag}), so the build job is skipped.`,
      );
      first = await release('Release 1: migrate, deploy, verify', { images: images(tag) }, sim);
    }
    const afterFirst = await serving(sim);

    const second = await release(
      "Release 2: auth's new revision answers 500 on test traffic; expect the gate to close and an automatic rollback",
      { images: images(`${tag}-2`, { auth: `${ECR}/alva-auth:verify-fails-${tag}` }) },
      sim,
    );
    const afterSecond = await serving(sim);

    console.log(
      `\n${'═'.repeat(78)}\nDemo report (${((Date.now() - started) / 1000).toFixed(1)}s)\n${'═'.repeat(78)}`,
    );
    console.log(
      table([
        ['release', 'expected', 'workflow', 'jobs'],
        [
          '1 good',
          'success',
          first.conclusion,
          flat(first)
            .map((j) => `${j.id}:${j.result}`)
            .join(' '),
        ],
        [
          '2 auth fails on test traffic',
          'failure: gate closed + rollback',
          second.conclusion,
          flat(second)
            .map((j) => `${j.id}:${j.result}`)
            .join(' '),
        ],
      ]),
    );
    for (const [title, run] of [
      ['release 1', first],
      ['release 2', second],
    ] as const) {
      const roles = credentialsTable(run);
      console.log(`\nAWS roles assumed, ${title}\n${roles || '(no job configured AWS credentials)'}`);
    }
    console.log('');
    console.log(
      table([
        ['service', 'strategy', 'before', 'after release 1', 'after release 2'],
        ...SERVICES.map((s) => [
          s,
          strategy[s] === 'ROLLING'
            ? 'rolling'
            : `${strategy[s]?.toLowerCase().replace('_', '/') ?? '?'}, gated`,
          before[s] ?? '',
          afterFirst[s] ?? '',
          afterSecond[s] ?? '',
        ]),
      ]),
    );
    // IAM is enforced: every call the jobs made (API and registry) was authorized against their role's policies.
    const sessionCalls = sim.calls().filter((c) => c.gate?.principal && c.gate.via !== 'admin').length;
    const refused = sim.events().filter((e) => e.kind === 'iam.denied' || e.kind === 'sts.refused');
    console.log(
      `\nIAM enforced: ${sessionCalls} API calls made with the jobs' role sessions, ${refused.length} refused${refused
        .map((e) => `\n  ${e.kind}: ${JSON.stringify(e.detail)}`)
        .join('')}`,
    );
    const rolledBack = SERVICES.every((s) => afterSecond[s] === afterFirst[s]);
    const rollbackJob = flat(second).find((j) => j.id === 'rollback');
    const ok =
      refused.length === 0 &&
      first.conclusion === 'success' &&
      second.conclusion === 'failure' &&
      rollbackJob?.result === 'success' &&
      rolledBack;
    console.log(
      `\n${ok ? '✔' : '✖'} ${
        ok
          ? 'Release 1 is live and verified; release 2 failed on test traffic, the gate stayed closed, and every service is back on release 1.'
          : 'The demo did not end as expected: see the log above.'
      }`,
    );
    process.exitCode = ok ? 0 : 1;
  } finally {
    await sim.close();
  }
}

function flat(run: WorkflowRecord): WorkflowRecord['jobs'] {
  return run.jobs.flatMap((j) => (j.called ? flat(j.called) : [j]));
}

main().catch((err: Error) => {
  console.error(`demo: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
