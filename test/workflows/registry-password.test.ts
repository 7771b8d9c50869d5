/**
 * ecs-deploy.yml with a registry other than ECR: `registry`,
 * `registry-username` and the `registry-password` secret reach build-push,
 * which logs in to the machine's registry (htpasswd, scripts/docker-up.sh),
 * pushes, and the release deploys the pushed digest. Judged from the
 * registry's digests, the simulator's state and its call log. Needs Docker.
 */
import { beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { resolve } from 'node:path';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { loadEnvironments, repositoryRoot } from '../../runner/repo.js';
import { runWorkflow, type WorkflowRecord } from '../../runner/run.js';
import {
  REGISTRY,
  REGISTRY_PASSWORD,
  REGISTRY_USER,
  ensureDocker,
  registryDigest,
} from '../../runner/docker.js';
import { CLUSTER, REPOSITORY, ROLE_VARS, jobResults, useStagingWorld } from './staging-world.js';

const world = useStagingWorld();
beforeAll(async () => {
  await ensureDocker();
}, 300_000);
beforeEach(async () => {
  await world.sim.reset();
});

const SHA = 'c0ffee0000000000000000000000000000000000';

async function release(
  inputs: Record<string, string>,
  password: string,
): Promise<{ run: WorkflowRecord; log: string }> {
  const lines: string[] = [];
  const run = await runWorkflow(resolve(repositoryRoot, 'test/workflows/fixtures/registry-release.yml'), {
    repoRoot: repositoryRoot,
    repository: REPOSITORY,
    event: 'workflow_dispatch',
    inputs,
    env: { AWS_ENDPOINT_URL: world.sim.url, AWS_REGION: 'us-east-1' },
    vars: { ...ROLE_VARS },
    secrets: { REGISTRY_PASSWORD: password },
    environments: loadEnvironments(repositoryRoot),
    approve: true,
    sha: SHA,
    log: (line) => lines.push(line),
  });
  return { run, log: lines.join('\n') };
}

const build = (repository: string, name = 'web') =>
  `- { name: ${name}, context: test/workflows/fixtures/tiny, repository: ${repository} }`;

describe('ecs-deploy.yml with registry, registry-username and registry-password', () => {
  it('a wrong password fails the build at the login, before anything is pushed or deployed', async () => {
    const repository = `workflow-registry-denied-${Date.now()}`;
    const since = world.sim.calls().length;
    const { run, log } = await release(
      { registry: REGISTRY, username: REGISTRY_USER, build: build(repository) },
      'not-the-password',
    );
    expect(jobResults(run)).toMatchObject({ check: 'success', build: 'failure', deploy: 'skipped' });
    expect(log).toMatch(new RegExp(`${REGISTRY.replace(/\./g, '\\.')}.*(401|unauthorized|denied)`, 'i'));
    expect(log).not.toContain('not-the-password');
    expect(await registryDigest(repository, SHA)).toBeUndefined();
    expect(world.sim.calls(since).filter((c) => c.operation === 'UpdateService')).toEqual([]);
  });

  it('logs in with them, pushes, and deploys the pushed digest (no AWS role for the build)', async () => {
    const repository = `workflow-registry-${Date.now()}`;
    const since = world.sim.calls().length;
    const { run, log } = await release(
      { registry: REGISTRY, username: REGISTRY_USER, build: build(repository) },
      REGISTRY_PASSWORD,
    );
    expect({ results: jobResults(run), log }).toEqual(
      expect.objectContaining({
        results: expect.objectContaining({ check: 'success', build: 'success', deploy: 'success' }),
      }),
    );
    expect(log).not.toContain(REGISTRY_PASSWORD);
    const digest = await registryDigest(repository, SHA);
    expect(digest).toMatch(/^sha256:/);
    const image = `${REGISTRY}/${repository}@${digest}`;
    expect(JSON.parse(run.jobs[0]!.outputs.images!)).toEqual({ web: image });
    const { services = [] } = await world.ecs.send(
      new DescribeServicesCommand({ cluster: CLUSTER, services: ['alva-web'] }),
    );
    const { taskDefinition } = await world.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: services[0]!.taskDefinition! }),
    );
    expect(taskDefinition!.containerDefinitions!.find((c) => c.name === 'web')!.image).toBe(image);
    // The build job assumed no role: the registry is not ECR.
    const buildJob = run.jobs[0]!.called!.jobs.find((j) => j.id === 'build')!;
    expect(buildJob.credentials ?? []).toEqual([]);
    expect(world.sim.calls(since).filter((c) => c.operation === 'GetAuthorizationToken')).toEqual([]);
  });

  it('a build without the migration image fails right after the build, naming migration-image-from, before any migration', async () => {
    const repository = `workflow-registry-nomigration-${Date.now()}`;
    const since = world.sim.calls().length;
    const { run, log } = await release(
      {
        registry: REGISTRY,
        username: REGISTRY_USER,
        build: build(repository),
        'migration-task-definition': 'alva-migrations',
      },
      REGISTRY_PASSWORD,
    );
    expect(jobResults(run)).toMatchObject({
      check: 'success',
      build: 'failure',
      infra: 'skipped',
      migrate: 'skipped',
      deploy: 'skipped',
    });
    expect(log).toContain(
      'Input "migration-image-from": names "api", which build did not build (it built "web")',
    );
    expect(
      world.sim
        .calls(since)
        .filter((c) => ['RunTask', 'RegisterTaskDefinition', 'UpdateService'].includes(c.operation)),
    ).toEqual([]);
  });
});
