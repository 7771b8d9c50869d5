/**
 * build-push end to end: the committed bundle, run as a Node 24 process,
 * logs in through the simulator's ECR to a real registry, builds the sample
 * services with a real Docker engine and pushes them.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { services as appServices } from '../../infra/lib/config/services.js';
import { startSim, type Sim } from '../../sim/index.js';
import { freePort, waitFor } from '../sim/helpers.js';
import { runAction, type ActionRun } from './run-action.js';
import {
  REGISTRY_PASSWORD,
  SAMPLE_SERVICES,
  ecrScenario,
  ensureDocker,
  registryDigest,
  registryLabels,
  sampleServices,
} from '../../runner/docker.js';
import { ecrHost } from './build-push-support.js';
import { INFRA_DIR, STAGING_OVERLAY, scenarioFromApp } from '../../sim/assembly/index.js';
import type { EcrRepositorySpec } from '../../sim/scenario.js';
import { repositoryRoot as root } from '../../runner/repo.js';

const DOCKER = '/usr/bin/docker';

// Unique per run, so the first build really builds and the registry keeps older runs apart.
const prefix = `e2e-${Date.now().toString(36)}`;
const SHA = '0123456789abcdef0123456789abcdef01234567';
const repositories = SAMPLE_SERVICES.map((n) => `${prefix}/${n}`);

/** The log as the job log shows it: the runner consumes ::add-mask:: commands, never prints them. */
const visible = (run: ActionRun) =>
  (run.log + (run.postLog ?? ''))
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');

describe('build-push against a real engine and registry', () => {
  let sim: Sim;
  let dockerConfig: string;
  let scratch: string;
  /** The registry host images are named by: the simulator's ECR registry front. */
  let ecr: string;

  beforeAll(async () => {
    await ensureDocker();
    dockerConfig = mkdtempSync(join(tmpdir(), 'build-push-docker-config-'));
    scratch = mkdtempSync(join(tmpdir(), 'build-push-e2e-'));
    sim = await startSim({ scenario: ecrScenario(repositories), speed: 20, port: 0 });
    ecr = await ecrHost(sim);
  }, 320_000);

  afterAll(async () => {
    await sim?.close();
    rmSync(dockerConfig, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  const run = (inputs: Record<string, string>, env: Record<string, string> = {}) =>
    runAction('build-push', {
      inputs: { network: 'host', ...inputs },
      env: { AWS_ENDPOINT_URL: sim.url, DOCKER_CONFIG: dockerConfig, GITHUB_SHA: SHA, ...env },
      timeoutMs: 240_000,
    });

  let firstImages: Record<string, string>;

  test('builds and pushes the four services; the output digests are the ones the registry serves', async () => {
    const result = await run({ services: JSON.stringify(sampleServices(prefix)), tags: 'staging' });
    expect(result.log).toContain(`Logged in to ECR ${ecr} as AWS`);
    expect(result.exitCode).toBe(0);
    const images = JSON.parse(result.outputs.images!) as Record<string, string>;
    expect(Object.keys(images).sort()).toEqual([...SAMPLE_SERVICES].sort());
    for (const name of SAMPLE_SERVICES) {
      const repository = `${prefix}/${name}`;
      const served = await registryDigest(repository, SHA);
      expect(served).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(images[name]).toBe(`${ecr}/${repository}@${served}`);
      // The moving tag points at the same image.
      expect(await registryDigest(repository, 'staging')).toBe(served);
      const labels = await registryLabels(repository, SHA);
      expect(labels['org.opencontainers.image.revision']).toBe(SHA);
      expect(labels['org.opencontainers.image.source']).toBe('https://github.com/acme/alva');
      expect(Date.parse(labels['org.opencontainers.image.created']!)).not.toBeNaN();
    }
    const tags = JSON.parse(result.outputs.tags!) as Record<string, string[]>;
    expect(tags.web).toEqual([`${ecr}/${prefix}/web:${SHA}`, `${ecr}/${prefix}/web:staging`]);
    expect(result.summary).toContain('built, pushed');
    // Logged in through the simulator's ECR, logged out by the post step.
    expect(sim.calls().map((c) => c.operation)).toEqual(
      expect.arrayContaining(['GetAuthorizationToken', 'DescribeRepositories', 'DescribeImages']),
    );
    expect(result.postLog).toContain(`Logged out of ${ecr}`);
    const config = JSON.parse(readFileSync(join(dockerConfig, 'config.json'), 'utf8')) as { auths?: object };
    expect(Object.keys(config.auths ?? {})).not.toContain(ecr);
    firstImages = images;
  }, 300_000);

  test('each built image serves the health check the ALB makes of it (infra config)', async () => {
    expect(firstImages).toBeDefined();
    for (const name of SAMPLE_SERVICES) {
      const { healthCheckPath } = appServices.find((s) => s.name === name)!;
      const port = await freePort();
      // As ECS starts it (PORT from the task definition), but bound to loopback.
      const image = `${ecr}/${prefix}/${name}:${SHA}`;
      const env = ['-e', `PORT=${port}`, '-e', 'HOST=127.0.0.1'];
      const container = execFileSync(DOCKER, ['run', '--detach', '--network', 'host', ...env, image], {
        encoding: 'utf8',
      }).trim();
      try {
        // A server that is starting refuses connections: retry those for 20 s.
        const url = `http://127.0.0.1:${port}${healthCheckPath}`;
        const status = await waitFor(
          () => fetch(url, { signal: AbortSignal.timeout(2000) }).catch(() => undefined),
          url,
          20_000,
        ).then(
          (response) => String(response.status),
          (error: unknown) => `no answer (${String(error)})`,
        );
        // On failure the container's own log says why (crashed, wrong port, wrong route).
        const output =
          status === '200' ? undefined : spawnSync(DOCKER, ['logs', container], { encoding: 'utf8' });
        const logs = output ? output.stdout + output.stderr : '';
        expect({ name, path: healthCheckPath, status, logs }).toEqual({
          name,
          path: healthCheckPath,
          status: '200',
          logs: '',
        });
      } finally {
        execFileSync(DOCKER, ['rm', '--force', container], { stdio: 'ignore' });
      }
    }
  }, 120_000);

  test('a second run with no change skips all four and outputs the same digests', async () => {
    expect(firstImages).toBeDefined();
    const result = await run({ services: JSON.stringify(sampleServices(prefix)), tags: 'staging' });
    expect(result.exitCode).toBe(0);
    for (const name of SAMPLE_SERVICES)
      expect(result.log).toMatch(new RegExp(`${name}: .* already in the registry .*not rebuilt`));
    expect(result.log).not.toMatch(/building .*Dockerfile/);
    expect(result.log).toContain('0 built, 4 skipped');
    expect(JSON.parse(result.outputs.images!)).toEqual(firstImages);
    expect(result.summary.match(/skipped \(already pushed\)/g)).toHaveLength(4);
  }, 300_000);

  test('reuse-unchanged (the default): a new commit that changes nothing tags the images built before instead of building', async () => {
    expect(firstImages).toBeDefined();
    const services = JSON.stringify(sampleServices(prefix));
    const result = await run({ services }, { GITHUB_SHA: '2'.repeat(40) });
    expect(result.exitCode).toBe(0);
    expect(result.log).toContain('0 built, 0 skipped (already in the registry), 4 reused');
    expect(result.log).not.toMatch(/building .*Dockerfile/);
    expect(JSON.parse(result.outputs.images!)).toEqual(firstImages);
    for (const name of SAMPLE_SERVICES) {
      expect(`${ecr}/${prefix}/${name}@${await registryDigest(`${prefix}/${name}`, '2'.repeat(40))}`).toBe(
        firstImages[name],
      );
    }
    expect(JSON.parse(result.outputs['changed-services']!)).toEqual([]);
    expect(JSON.parse(result.outputs['reused-services']!)).toEqual(SAMPLE_SERVICES);
    expect(result.summary.match(/reused \(inputs unchanged\)/g)).toHaveLength(4);
  }, 300_000);

  test('reuse-unchanged: false builds every service of a new commit, even unchanged (a new revision label, a new digest)', async () => {
    const services = JSON.stringify(sampleServices(prefix));
    const result = await run({ services, 'reuse-unchanged': 'false' }, { GITHUB_SHA: '3'.repeat(40) });
    expect(result.exitCode).toBe(0);
    expect(result.log).toContain('4 built, 0 skipped (already in the registry)');
    expect(JSON.parse(result.outputs['changed-services']!)).toEqual(SAMPLE_SERVICES);
    const images = JSON.parse(result.outputs.images!) as Record<string, string>;
    for (const name of SAMPLE_SERVICES) expect(images[name]).not.toBe(firstImages[name]);
  }, 300_000);

  test('a wrong registry password fails the login clearly, and the log never shows it', async () => {
    const wrong = 'Wr0ng-Pa55word-e2e';
    await sim.load(ecrScenario(repositories, { password: wrong }));
    try {
      const result = await run({ services: JSON.stringify(sampleServices(prefix, ['web'])) });
      expect(result.exitCode).not.toBe(0);
      expect(result.log).toMatch(
        new RegExp(
          `docker login to ECR ${ecr.replace(/\./g, '\\.')} as AWS failed: .*(unauthorized|401)`,
          'i',
        ),
      );
      expect(result.log).toContain('rejected the password from ECR GetAuthorizationToken');
      const shown = visible(result);
      expect(shown).not.toContain(wrong);
      expect(shown).not.toContain(Buffer.from(`AWS:${wrong}`).toString('base64'));
      expect(shown).not.toContain(REGISTRY_PASSWORD);
      // Masked for the runner: the secret was registered before anything could print it.
      expect(result.log).toContain(`::add-mask::${wrong}`);
    } finally {
      await sim.load(ecrScenario(repositories));
    }
  }, 300_000);

  test('a broken Dockerfile fails naming the service and the failing step', async () => {
    const context = join(scratch, 'broken');
    cpSync(join(root, 'examples', 'web'), context, { recursive: true });
    const dockerfile = readFileSync(join(context, 'Dockerfile'), 'utf8');
    writeFileSync(
      join(context, 'Dockerfile'),
      dockerfile.replace('COPY server.js ./', 'COPY server.js missing.js ./'),
    );
    // build-push refuses a context outside the workspace: the scratch folder is this run's workspace.
    const api = join(scratch, 'api');
    cpSync(join(root, 'examples', 'api'), api, { recursive: true });
    const services = [
      { name: 'broken', context, repository: `${prefix}/web` },
      { name: 'api', context: api, repository: `${prefix}/api` },
    ];
    const result = await run(
      { services: JSON.stringify(services) },
      { GITHUB_SHA: 'feedfacefeedfacefeedfacefeedfacefeedface', GITHUB_WORKSPACE: scratch },
    );
    expect(result.exitCode).not.toBe(0);
    expect(result.log).toMatch(
      /broken: docker build failed at step \[stage-0 5\/5\] COPY server\.js missing\.js \.\/: .*missing\.js.*not found/,
    );
    expect(result.log).toContain('1 of 2 service(s) failed');
    expect(result.summary).toContain('broken: [stage-0 5/5] COPY');
    // The other service still built and is in the output.
    expect(JSON.parse(result.outputs.images!)).toHaveProperty('api');
  }, 300_000);

  test('a CRITICAL finding fails the scan gate and lists the finding', async () => {
    await sim.load(
      ecrScenario(repositories, {
        scanFindings: {
          [`${prefix}/web`]: [
            {
              name: 'CVE-2099-0001',
              severity: 'CRITICAL',
              uri: 'https://example.invalid/CVE-2099-0001',
              description: 'remote code execution in libexample',
            },
            { name: 'CVE-2099-0002', severity: 'LOW' },
          ],
        },
      }),
    );
    const result = await run({
      services: JSON.stringify(sampleServices(prefix, ['web', 'api'])),
      'fail-on-severity': 'HIGH',
    });
    expect(result.exitCode).not.toBe(0);
    expect(result.log).toMatch(/scan gate: .*web has 1 finding\(s\) at or above HIGH/);
    expect(result.log).toContain('CRITICAL CVE-2099-0001');
    expect(result.log).not.toContain('LOW CVE-2099-0002');
    expect(result.log).toMatch(/web@sha256:[0-9a-f]{12}.*: scan COMPLETE/);
    expect(result.summary).toContain('CVE-2099-0001');
  }, 300_000);
});

/**
 * Two releases through build-push against a repository with the tag rules
 * infra/ gives it (read from the synthesized CDK app, as the simulator's world
 * is): every release moves the build cache tag, so the second one is refused
 * unless the repository lets that tag move; release tags stay immutable.
 */
describe('two releases against the ECR repository infra/ builds', () => {
  const releasePrefix = `e2e-release-${Date.now().toString(36)}`;
  const repository = `${releasePrefix}/web`;
  /** The same service in a plain IMMUTABLE repository: what infra/ built before it excluded the cache tag. */
  const immutableRepository = `${releasePrefix}/immutable-web`;
  const FIRST = '1111111111111111111111111111111111111111';
  const SECOND = '2222222222222222222222222222222222222222';
  let sim: Sim;
  let dockerConfig: string;
  let infraRepository: EcrRepositorySpec;

  beforeAll(async () => {
    await ensureDocker();
    const world = scenarioFromApp({ appDir: INFRA_DIR, overlay: STAGING_OVERLAY }).scenario;
    const web = appServices.find((s) => s.name === 'web')!;
    infraRepository = world.ecr!.repositories.find(
      (r): r is EcrRepositorySpec => typeof r !== 'string' && r.name.endsWith(web.name),
    )!;
    dockerConfig = mkdtempSync(join(tmpdir(), 'build-push-release-docker-config-'));
    const base = ecrScenario([]);
    sim = await startSim({
      scenario: {
        ...base,
        ecr: {
          ...base.ecr!,
          repositories: [
            { ...infraRepository, name: repository },
            { name: immutableRepository, imageTagMutability: 'IMMUTABLE' },
          ],
        },
      },
      speed: 20,
      port: 0,
    });
  }, 320_000);

  afterAll(async () => {
    await sim?.close();
    if (dockerConfig) rmSync(dockerConfig, { recursive: true, force: true });
  });

  const release = (sha: string, inputs: Record<string, string> = {}, into = repository) =>
    runAction('build-push', {
      inputs: {
        network: 'host',
        services: JSON.stringify([{ name: 'web', context: 'examples/web', repository: into }]),
        // These releases are about rebuilding: an unchanged commit would otherwise reuse the first image.
        'reuse-unchanged': 'false',
        ...inputs,
      },
      env: { AWS_ENDPOINT_URL: sim.url, DOCKER_CONFIG: dockerConfig, GITHUB_SHA: sha },
      timeoutMs: 240_000,
    });

  test('infra/ keeps release tags immutable', () => {
    expect(infraRepository.imageTagMutability).toMatch(/^IMMUTABLE/);
  });

  test('the second release moves the build cache tag and succeeds; the first release tag still names the first image', async () => {
    const first = await release(FIRST);
    expect(first.exitCode).toBe(0);
    expect(first.log).not.toContain('ECR tag immutability');
    const firstDigest = await registryDigest(repository, FIRST);
    expect(await registryDigest(repository, 'buildcache')).toBe(firstDigest);

    const second = await release(SECOND);
    expect({ exit: second.exitCode, log: second.exitCode ? second.log.slice(-2000) : '' }).toEqual({
      exit: 0,
      log: '',
    });
    const secondDigest = await registryDigest(repository, SECOND);
    expect(secondDigest).not.toBe(firstDigest);
    expect(await registryDigest(repository, 'buildcache')).toBe(secondDigest);
    expect(await registryDigest(repository, FIRST)).toBe(firstDigest);
    expect(sim.events().filter((e) => e.kind === 'ecr.push.refused')).toEqual([]);
  }, 600_000);

  test('re-pushing a release tag with other content is refused, and build-push names the tag, the repository and the fix', async () => {
    const before = await registryDigest(repository, FIRST);
    expect(before).toBeDefined();
    // skip-existing off: the commit is built again, and the new image differs (its creation time).
    const again = await release(FIRST, { 'skip-existing': 'false' });
    expect(again.exitCode).not.toBe(0);
    expect(again.log).toContain(
      `web: ECR refused to move the tag '${FIRST}' in repository '${repository}': the tag already names another image and the repository's tags are immutable.`,
    );
    expect(again.log).toContain('Fix: keep skip-existing: true');
    expect(await registryDigest(repository, FIRST)).toBe(before);
    expect(
      sim
        .events()
        .filter((e) => e.kind === 'ecr.push.refused')
        .map((e) => [e.detail.repository, e.detail.tag, e.detail.via]),
    ).toEqual([[repository, FIRST, 'registry']]);
  }, 600_000);

  test('a plain IMMUTABLE repository: the first release warns about the cache tag, the second is refused naming it and the fix', async () => {
    const first = await release(FIRST, {}, immutableRepository);
    expect(first.exitCode).toBe(0);
    expect(first.log).toContain(
      `::warning title=ECR tag immutability::ECR repository '${immutableRepository}' keeps the tag 'buildcache' immutable (IMMUTABLE), but it is the build cache tag`,
    );
    const firstCache = await registryDigest(immutableRepository, 'buildcache');

    const second = await release(SECOND, {}, immutableRepository);
    expect(second.exitCode).not.toBe(0);
    expect(second.log).toContain(
      `web: ECR refused to move the tag 'buildcache' in repository '${immutableRepository}': the tag already names another image and the repository's tags are immutable. It is the build cache tag, which moves on every build. Fix: exclude it from tag immutability: imageTagMutability IMMUTABLE_WITH_EXCLUSION with the exclusion filter 'buildcache'`,
    );
    expect(await registryDigest(immutableRepository, 'buildcache')).toBe(firstCache);
  }, 600_000);
});
