/**
 * ecs-deploy.yml's infra job, run by the local runner against a staging
 * account whose stacks CloudFormation deployed and `cdk bootstrap` prepared
 * (IAM enforced): a push that changes infra/ waits for the environment's
 * approval before anything changes, writes `cdk diff` against the deployed
 * stacks to the job summary, deploys the change as a CloudFormation update
 * through the CDK bootstrap roles, and the release then migrates, deploys and
 * verifies. The services keep the images they ran (never the app's
 * placeholder `initial`) and end on the release's. Judged from the
 * simulator: its call log, its stacks and ECS through the SDK.
 *
 * The push comes from a copy of this repository with two commits (before and
 * after the infra/ change), run through deploy-staging.yml's own `release`
 * job on `push`, with `images` given instead of a Docker build. The job's
 * `npm ci` links this machine's node_modules (RunnerOptions.offlineNodeModules).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
} from '@aws-sdk/client-ecs';
import { startSim, type Sim } from '../../sim/index.js';
import { withCdkBootstrap } from '../../sim/cfn/bootstrap.js';
import { synthesize } from '../../sim/assembly/index.js';
import { runAction } from '../e2e/run-action.js';
import { clientConfig, withOperator } from '../sim/helpers.js';
import { loadEnvironments, repositoryRoot } from '../../runner/repo.js';
import { runWorkflow, type JobRecord, type WorkflowRecord } from '../../runner/run.js';
import { expectRunSucceeded } from './run-outcome.js';
import { CLUSTER, ECR, REPOSITORY, ROLE_VARS, SERVICES, jobResults, stagingImages } from './staging-world.js';

/** The image tag the staging world's stacks were deployed with (sim/scenarios/staging.overlay.json). */
const DEPLOYED_TAG = (
  JSON.parse(readFileSync(join(repositoryRoot, 'sim/scenarios/staging.overlay.json'), 'utf8')) as {
    context: { 'image-tag': string };
  }
).context['image-tag'];
const SERVICES_TS = 'infra/lib/config/services.ts';
/** The infra/ change the push carries: a new environment variable of the api service. */
const API_ENVIRONMENT = 'environment: nodeEnv,\n    derivedEnvironment: { REDIS_URL';
const CHANGED_API_ENVIRONMENT =
  "environment: { ...nodeEnv, LOG_LEVEL: 'debug' },\n    derivedEnvironment: { REDIS_URL";
const RELEASE = 'infra1';

/** Top-level paths a fresh clone does not have. */
const NOT_COMMITTED = new Set(['node_modules', '.git', '.tmp', 'coverage', 'infra/cdk.out']);

interface PushRepository {
  root: string;
  before: string;
  after: string;
}

const git = (root: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], {
    cwd: root,
    encoding: 'utf8',
  }).trim();

/**
 * A repository like this one whose `staging` branch has two commits: this working tree (what the
 * simulator's stacks were synthesized from), then `change` applied to it. Its workflow push.yml is
 * deploy-staging.yml's `release` job on push with `images` given (no Docker build).
 */
function pushRepository(
  change: (root: string) => void,
  extraInputs: Record<string, string> = {},
): PushRepository {
  const root = mkdtempSync(join(tmpdir(), 'infra-job-repo-'));
  cpSync(repositoryRoot, root, {
    recursive: true,
    filter: (source) => !NOT_COMMITTED.has(relative(repositoryRoot, source)),
  });
  const caller = parseYaml(readFileSync(join(root, '.github/workflows/deploy-staging.yml'), 'utf8')) as {
    on: unknown;
    jobs: { release: { with: Record<string, unknown> } };
  };
  caller.on = { push: { branches: ['staging'] } };
  const inputs = caller.jobs.release.with;
  delete inputs['build'];
  inputs['images'] = stagingImages(RELEASE);
  Object.assign(inputs, extraInputs);
  writeFileSync(join(root, '.github/workflows/push.yml'), stringifyYaml(caller));
  git(root, 'init', '-q', '-b', 'staging');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'before');
  const before = git(root, 'rev-parse', 'HEAD');
  change(root);
  git(root, 'commit', '-q', '-a', '-m', 'after');
  return { root, before, after: git(root, 'rev-parse', 'HEAD') };
}

function changeApiEnvironment(root: string): void {
  const file = join(root, SERVICES_TS);
  const text = readFileSync(file, 'utf8');
  expect(text.split(API_ENVIRONMENT)).toHaveLength(2);
  writeFileSync(file, text.replace(API_ENVIRONMENT, CHANGED_API_ENVIRONMENT));
}

interface Run {
  run: WorkflowRecord;
  log: string;
}

function push(sim: Sim, repo: PushRepository, approve: boolean | string[]): Promise<Run> {
  const lines: string[] = [];
  return runWorkflow(join(repo.root, '.github/workflows/push.yml'), {
    repoRoot: repo.root,
    repository: REPOSITORY,
    event: 'push',
    eventPayload: { before: repo.before, after: repo.after, ref: 'refs/heads/staging' },
    env: { AWS_ENDPOINT_URL: sim.url, AWS_REGION: 'us-east-1', CDK_DISABLE_CLI_TELEMETRY: 'true' },
    vars: { ...ROLE_VARS },
    environments: loadEnvironments(repo.root),
    approve,
    sha: repo.after,
    ref: 'refs/heads/staging',
    offlineNodeModules: join(repositoryRoot, 'node_modules'),
    log: (line) => lines.push(line),
  }).then((run) => ({ run, log: lines.join('\n') }));
}

function job(run: WorkflowRecord, id: string): JobRecord {
  const flat = (r: WorkflowRecord): JobRecord[] => r.jobs.flatMap((j) => (j.called ? flat(j.called) : [j]));
  return flat(run).find((j) => j.id === id)!;
}

const CHANGES = ['CreateChangeSet', 'ExecuteChangeSet', 'UpdateService', 'RegisterTaskDefinition', 'RunTask'];

describe("ecs-deploy.yml's infra job on a push that changes infra/", () => {
  let sim: Sim;
  let ecs: ECSClient;
  let cfn: CloudFormationClient;
  const repos: string[] = [];
  beforeAll(async () => {
    sim = await startSim({ scenario: withCdkBootstrap(withOperator()), speed: 30, port: 0 });
    ecs = new ECSClient(clientConfig(sim));
    cfn = new CloudFormationClient(clientConfig(sim));
  });
  beforeEach(async () => {
    await sim.reset();
  });
  afterAll(async () => {
    ecs.destroy();
    cfn.destroy();
    await sim.close();
    for (const root of repos) rmSync(root, { recursive: true, force: true });
  });

  const pushChangingInfra = async (approve: boolean | string[], inputs: Record<string, string> = {}) => {
    const repo = pushRepository(changeApiEnvironment, inputs);
    repos.push(repo.root);
    return { ...(await push(sim, repo, approve)), repo };
  };

  /** Every container of every revision of the services' and the migration's families: "family:rev image LOG_LEVEL". */
  async function everyRevision(): Promise<string[]> {
    const containers: string[] = [];
    for (const family of [...SERVICES, 'alva-migrations']) {
      const { taskDefinitionArns = [] } = await ecs.send(
        new ListTaskDefinitionsCommand({ familyPrefix: family }),
      );
      for (const arn of taskDefinitionArns) {
        const { taskDefinition } = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
        for (const c of taskDefinition?.containerDefinitions ?? []) {
          const logLevel = c.environment?.find((e) => e.name === 'LOG_LEVEL')?.value ?? '-';
          containers.push(`${arn.split('/')[1]} ${c.image} ${logLevel}`);
        }
      }
    }
    return containers;
  }

  it("without approval: the infra job waits and nothing changes, the diff already in infra-diff's summary", async () => {
    const { run, log } = await pushChangingInfra(['migrate', 'deploy']);
    const infra = job(run, 'infra');
    expect({ result: infra.result, note: infra.note }).toEqual({
      result: 'failure',
      note: 'waiting for approval of environment "staging"',
    });
    expect(infra.steps).toEqual([]);
    expect(jobResults(run)).toMatchObject({ 'infra-diff': 'success', migrate: 'skipped', deploy: 'skipped' });
    expect(log).toContain('environment "staging" requires approval');

    // What the reviewers judge is there while the approval waits: infra-diff's summary, written
    // as the read role (no environment), names the api's changed task definition.
    const infraDiff = job(run, 'infra-diff');
    const diffStep = infraDiff.steps.find((s) => /LOG_LEVEL/.test(s.summary));
    expect(diffStep?.summary).toContain('AlvaStagingEcs');
    const calls = sim.calls();
    const getTemplates = calls.filter((c) => c.operation === 'GetTemplate' && c.status === 200);
    expect(getTemplates.length).toBeGreaterThan(0);
    expect([...new Set(getTemplates.map((c) => c.gate?.principal))]).toEqual([
      expect.stringMatching(/:assumed-role\/alva-staging-github-read\//),
    ]);

    // Nothing changed: no CloudFormation write, no ECS change.
    const changed = calls.filter((c) => CHANGES.includes(c.operation) && c.status === 200);
    expect(changed.map((c) => c.operation)).toEqual([]);
    const cloudFormationWrites = calls.filter(
      (c) => c.service === 'cloudformation' && !/^(Get|Describe|List)/.test(c.operation),
    );
    expect(cloudFormationWrites.map((c) => c.operation)).toEqual([]);
  }, 300_000);

  it('a push that changes nothing under infra/ releases without the infra job, asking no approval for it', async () => {
    const repo = pushRepository((root) =>
      appendFileSync(join(root, 'README.md'), '\nA change outside infra/.\n'),
    );
    repos.push(repo.root);
    const { run, log } = await push(sim, repo, ['migrate', 'deploy']);
    expectRunSucceeded(run, log);
    expect(jobResults(run)).toMatchObject({
      check: 'success',
      'infra-diff': 'skipped',
      infra: 'skipped',
      deploy: 'success',
      verify: 'success',
    });
    expect(log).toContain('Nothing changed under infra since');
    expect(log).not.toContain('environment "staging" requires approval');
    const cloudFormation = sim.calls().filter((c) => c.service === 'cloudformation');
    expect(cloudFormation.map((c) => c.operation)).toEqual([]);
  }, 600_000);

  it('refuses a cdk-context line that is not key=value, naming the input, before anything changes', async () => {
    const { run, log } = await pushChangingInfra(true, { 'cdk-context': 'profile=standard\nlean' });
    // infra-diff refuses it before anyone is asked to approve; the infra job never runs.
    expect(jobResults(run)).toMatchObject({
      'infra-diff': 'failure',
      infra: 'skipped',
      migrate: 'skipped',
      deploy: 'skipped',
    });
    expect(log).toContain('Input "cdk-context": a line is not key=value');
    const changed = sim.calls().filter((c) => CHANGES.includes(c.operation) && c.status === 200);
    expect(changed.map((c) => c.operation)).toEqual([]);
  }, 300_000);

  it('approved: the diff in the summary, then the update deployed through the bootstrap roles; migrate, deploy, verify green on the running images, ending on the release', async () => {
    const { run, log, repo } = await pushChangingInfra(true);
    expectRunSucceeded(run, log);
    expect(jobResults(run)).toEqual({
      check: 'success',
      build: 'skipped',
      'infra-diff': 'success',
      infra: 'success',
      migrate: 'success',
      deploy: 'success',
      verify: 'success',
      rollback: 'skipped',
    });

    // The diff against the deployed stacks is in infra-diff's summary (before the approval) and again in
    // the infra job's (after it), naming the change. Both synthesized with the images running then, so
    // only the api's task definition differs.
    expect(log).toContain(`api: ${ECR}/alva-api:${DEPLOYED_TAG}`);
    expect(log.match(/AlvaStagingEcs: 0 added, 0 updated, 0 removed, 1 replaced/g)).toHaveLength(2);
    expect(log.match(/AlvaStaging\w+: no changes/g)).toHaveLength(2 * 8);
    for (const id of ['infra-diff', 'infra']) {
      const diffStep = job(run, id).steps.find((s) => /LOG_LEVEL/.test(s.summary));
      expect({ job: id, summary: diffStep?.summary }).toEqual({
        job: id,
        summary: expect.stringContaining('AlvaStagingEcs'),
      });
    }
    const calls = sim.calls();
    const firstGetTemplate = calls.findIndex((c) => c.operation === 'GetTemplate' && c.status === 200);
    const executed = calls.filter((c) => c.operation === 'ExecuteChangeSet' && c.status === 200);
    expect(firstGetTemplate).toBeGreaterThanOrEqual(0);
    expect(calls.findIndex((c) => c.operation === 'CreateChangeSet')).toBeGreaterThan(firstGetTemplate);

    // Deployed as an update of the existing stack, by the CDK bootstrap's deploy role.
    const ecsChangeSets = calls.filter(
      (c) => c.operation === 'CreateChangeSet' && c.status === 200 && c.params.StackName === 'AlvaStagingEcs',
    );
    expect(ecsChangeSets).toHaveLength(1);
    expect(ecsChangeSets[0]!.params.ChangeSetType ?? 'UPDATE').toBe('UPDATE');
    expect(ecsChangeSets[0]!.gate?.principal).toMatch(/:assumed-role\/cdk-hnb659fds-deploy-role-/);
    expect(executed.length).toBeGreaterThan(0);
    const { Stacks = [] } = await cfn.send(new DescribeStacksCommand({ StackName: 'AlvaStagingEcs' }));
    expect(Stacks[0]?.StackStatus).toBe('UPDATE_COMPLETE');

    // No revision ever named the placeholder image: CloudFormation's revisions kept the running images.
    // CloudFormation's own api revision has the change on the image that was running.
    const revisions = await everyRevision();
    expect(revisions.filter((r) => /:initial /.test(r))).toEqual([]);
    expect(revisions.filter((r) => r.endsWith(` ${ECR}/alva-api:${DEPLOYED_TAG} debug`))).toHaveLength(1);

    // Every service ends on the release's image; api's revision carries the change the push made.
    const { services = [] } = await ecs.send(
      new DescribeServicesCommand({ cluster: CLUSTER, services: SERVICES }),
    );
    for (const service of services) {
      const primary = service.deployments!.find((d) => d.status === 'PRIMARY')!;
      const { taskDefinition } = await ecs.send(
        new DescribeTaskDefinitionCommand({ taskDefinition: primary.taskDefinition! }),
      );
      const name = service.serviceName!.replace('alva-', '');
      const container = taskDefinition!.containerDefinitions!.find((c) => c.name === name)!;
      expect(`${service.serviceName} ${container.image}`).toBe(
        `${service.serviceName} ${ECR}/alva-${name}:${RELEASE}`,
      );
      const logLevel = container.environment?.find((e) => e.name === 'LOG_LEVEL')?.value;
      expect(`${service.serviceName} ${logLevel}`).toBe(
        `${service.serviceName} ${name === 'api' ? 'debug' : undefined}`,
      );
    }

    // cdk-diff's deployed mode reads the templates the change sets deployed: the pushed app, synthesized
    // with the context the job used, differs from no stack any more.
    symlinkSync(join(repositoryRoot, 'node_modules'), join(repo.root, 'node_modules'));
    const assembly = synthesize({
      appDir: join(repo.root, 'infra'),
      context: { images: stagingImages(DEPLOYED_TAG) },
    });
    const diff = await runAction('cdk-diff', {
      inputs: { 'cloud-assembly': assembly, deployed: 'true' },
      env: { AWS_ENDPOINT_URL: sim.url, GITHUB_EVENT_NAME: 'push' },
      role: 'alva-staging-github-deploy',
    });
    expect({ exitCode: diff.exitCode, hasChanges: diff.outputs['has-changes'] }).toEqual({
      exitCode: 0,
      hasChanges: 'false',
    });
  }, 900_000);
});
