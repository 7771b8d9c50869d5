/**
 * build-push: builds the services' images, pushes them tagged with the commit
 * SHA (plus moving tags), and outputs digest-pinned references. The same
 * bundle runs as the post step, which logs docker out again.
 */
import * as core from '@actions/core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledError, InputError, OperationError, errorMessage } from '../../../lib/errors.js';
import { clientConfig } from '../../../lib/aws/config.js';
import { serializeImages } from '../../../lib/contracts/images.js';
import { ociLabels, type BuildPlan } from '../../../lib/images/command.js';
import { buildAll, formatSize, type ImageStore, type ServiceResult } from '../../../lib/images/pipeline.js';
import { buildFingerprint, fingerprintTag } from '../../../lib/images/fingerprint.js';
import { RegistryClient, registryHost } from '../../../lib/images/registry.js';
import { formatDuration } from '../../../lib/time.js';
import { cancellationSignal } from '../../_common/cancel.js';
import { coreLog } from '../../_common/core-log.js';
import { dockerRunner, selectDocker } from './docker.js';
import { getInputs, type Inputs } from './inputs.js';
import type { ScanResult } from '../../../lib/images/ecr.js';

const STATE_PHASE = 'phase';
const STATE_LOGIN_HOST = 'login-host';
const STATE_DOCKER = 'docker';

export async function run(): Promise<void> {
  if (core.getState(STATE_PHASE) === 'main') return post();
  core.saveState(STATE_PHASE, 'main');
  const signal = cancellationSignal((name) => core.warning(`build-push: ${name} received, stopping builds`));
  try {
    await main(signal);
  } catch (err) {
    if (err instanceof OperationError && err.details.length) core.error(err.details.join('\n'));
    core.setFailed(
      err instanceof InputError || err instanceof CancelledError ? err.message : errorMessage(err),
    );
  }
}

/** Post step: forget the registry credentials docker stored during the run. */
async function post(): Promise<void> {
  const host = core.getState(STATE_LOGIN_HOST);
  const docker = core.getState(STATE_DOCKER);
  if (!host || !docker) return;
  const out = await dockerRunner(docker)
    .run(['logout', host])
    .catch((err: Error) => ({ exitCode: 1, output: err.message }));
  if (out.exitCode === 0) core.info(`Logged out of ${host}`);
  else core.warning(`docker logout ${host} failed: ${out.output.trim()}`);
}

interface Registry {
  host: string;
  store: ImageStore;
  credentials?: { username: string; password: string };
  describe: string;
  scan?: (result: ServiceResult, signal: AbortSignal) => Promise<ScanResult>;
}

async function connectRegistry(inputs: Inputs): Promise<Registry> {
  const repositories = [...new Set(inputs.services.map((s) => s.repository))];
  if (inputs.registry.kind === 'generic') {
    const { registry, username, password } = inputs.registry;
    if (password) core.setSecret(password);
    const credentials = username && password ? { username, password } : undefined;
    const client = new RegistryClient(registry, credentials);
    return {
      host: registryHost(registry),
      credentials,
      describe: registryHost(registry),
      store: { lookup: (r, t) => client.lookup(r, t), retag: (r, d, t) => client.retag(r, d, t) },
    };
  }
  const { registryId, region } = inputs.registry;
  const [{ ECRClient }, ecrLib] = await Promise.all([
    import('@aws-sdk/client-ecr'),
    import('../../../lib/images/ecr.js'),
  ]);
  const ecr = new ECRClient(clientConfig({ region }));
  const login = await ecrLogin(ecrLib, ecr, registryId);
  await ecrLib.checkRepositories(ecr, repositories, registryId);
  const client = new RegistryClient(login.proxyEndpoint, login);
  const threshold = inputs.failOnSeverity;
  return {
    host: registryHost(login.proxyEndpoint),
    credentials: login,
    describe: `ECR ${registryHost(login.proxyEndpoint)}`,
    store: {
      lookup: (r, t) => ecrLib.ecrLookup(ecr, r, t, registryId),
      // ECR speaks the registry API too: moving a tag is putting the same manifest under it.
      retag: (r, d, t) => client.retag(r, d, t),
    },
    scan: threshold
      ? (result, scanSignal) =>
          ecrLib.awaitScan(ecr, {
            repository: result.repository,
            digest: result.digest!,
            threshold,
            registryId,
            timeoutMs: inputs.scanTimeoutMs,
            log: coreLog,
            signal: scanSignal,
          })
      : undefined,
  };
}

async function ecrLogin(
  ecrLib: typeof import('../../../lib/images/ecr.js'),
  ecr: import('@aws-sdk/client-ecr').ECRClient,
  registryId?: string,
) {
  try {
    const login = await ecrLib.ecrLogin(ecr, registryId);
    core.setSecret(login.password);
    core.setSecret(Buffer.from(`${login.username}:${login.password}`).toString('base64'));
    return login;
  } catch (err) {
    if (err instanceof OperationError) throw err;
    throw new OperationError(`ECR GetAuthorizationToken failed: ${errorMessage(err)}`, [
      'The job needs AWS credentials allowed ecr:GetAuthorizationToken (aws-actions/configure-aws-credentials), and a region (AWS_REGION or the aws-region input).',
    ]);
  }
}

export async function main(signal: AbortSignal): Promise<void> {
  const inputs = getInputs();
  // The registry login (read-only AWS calls) and the docker client probes are
  // independent: run them together, off every build's critical path.
  const connecting = connectRegistry(inputs);
  connecting.catch(() => undefined); // awaited below; a docker error may come first
  const docker = await selectDocker(inputs.docker);
  if (docker.builder.kind === 'plain' && inputs.platforms.length > 1) {
    throw new InputError(
      'platforms',
      `${inputs.platforms.join(', ')}: more than one platform needs docker buildx, which ${docker.binary} lacks`,
      'install buildx (docker/setup-buildx-action) or build one platform',
    );
  }
  core.info(
    `Docker: ${docker.binary} ${docker.version}, ${docker.builder.kind === 'buildx' ? 'buildx' : 'docker build with BuildKit'}, ${docker.builder.cache} cache`,
  );
  const runner = dockerRunner(docker.binary);
  const registry = await core.group('Registry login', async () => {
    const reg = await connecting;
    if (reg.credentials) {
      const { username, password } = reg.credentials;
      const login = await runner.run(['login', '--username', username, '--password-stdin', reg.host], {
        stdin: password,
      });
      const said = login.output.split(password).join('***').trim();
      if (login.exitCode !== 0) {
        throw new OperationError(
          `docker login to ${reg.describe} as ${username} failed: ${said
            .split('\n')
            .filter((l) => !/^WARNING|credential|login\/#/i.test(l))
            .slice(-3)
            .join(' ')}`,
          [
            inputs.registry.kind === 'ecr'
              ? "The registry rejected the password from ECR GetAuthorizationToken: check the credentials' account and region, and that the registry is the ECR endpoint."
              : 'Check the `username` and `password` inputs (a token with push permission).',
          ],
        );
      }
      core.saveState(STATE_LOGIN_HOST, reg.host);
      core.saveState(STATE_DOCKER, docker.binary);
      core.info(`Logged in to ${reg.describe} as ${username}`);
    } else {
      core.info(`Using ${reg.describe} without login (no username/password given)`);
    }
    return reg;
  });

  const created = new Date();
  const labels = ociLabels({ source: inputs.source, revision: inputs.sha, created });
  const plans: BuildPlan[] = await Promise.all(
    inputs.services.map(async (service) => ({
      service,
      image: `${registry.host}/${service.repository}`,
      tags: [inputs.sha, ...inputs.movingTags],
      cacheTag: inputs.cacheTag,
      labels,
      platforms: inputs.platforms,
      push: inputs.push,
      network: inputs.network,
      inputsTag: inputs.reuseUnchanged
        ? fingerprintTag(await buildFingerprint(service, inputs.platforms))
        : undefined,
    })),
  );

  const started = Date.now();
  const results = await buildAll({
    plans,
    docker: runner,
    builder: docker.builder,
    store: registry.store,
    skipExisting: inputs.skipExisting,
    maxParallel: inputs.maxParallel,
    log: coreLog,
    tempDir: mkdtempSync(join(process.env.RUNNER_TEMP ?? tmpdir(), 'build-push-')),
    signal,
  });

  const images: Record<string, string> = {};
  const tags: Record<string, string[]> = {};
  for (const r of results) {
    if (r.status === 'failed') continue;
    images[r.name] = r.digest ? `${r.image}@${r.digest}` : r.tags[0]!;
    tags[r.name] = r.tags;
  }
  core.setOutput('images', serializeImages(images));
  core.setOutput('tags', JSON.stringify(tags));

  const failed = results.filter((r) => r.status === 'failed');
  let scans: ScanResult[] = [];
  if (failed.length === 0 && registry.scan) {
    const scan = registry.scan;
    scans = await core.group(`Scan gate (fail on ${inputs.failOnSeverity} or above)`, () =>
      Promise.all(results.filter((r) => r.digest).map((r) => scan(r, signal))),
    );
  }
  await writeSummary(inputs, results, scans, Date.now() - started);

  if (failed.length) {
    for (const r of failed) {
      const lines = r.failure
        ? [r.error!, ...(r.failure.output.length ? ['Output of the failing step:', ...r.failure.output] : [])]
        : [r.error!];
      core.error(lines.join('\n'), { title: `build-push: ${r.name} failed` });
    }
    throw new OperationError(
      `${failed.length} of ${results.length} service(s) failed: ${failed.map((r) => r.error).join('; ')}`,
    );
  }
  const blocking = scans.filter((s) => s.blocking.length);
  if (blocking.length) {
    const lines = blocking.flatMap((s) => [
      `${s.repository}@${s.digest}:`,
      ...s.blocking.map(
        (f) =>
          `  ${f.severity} ${f.name}${f.uri ? ` ${f.uri}` : ''}${f.description ? ` — ${f.description.slice(0, 160)}` : ''}`,
      ),
    ]);
    throw new OperationError(
      `scan gate: ${blocking.map((s) => `${s.repository} has ${s.blocking.length} finding(s) at or above ${inputs.failOnSeverity}`).join('; ')}\n${lines.join('\n')}`,
    );
  }
  const count = (status: ServiceResult['status']) => results.filter((r) => r.status === status).length;
  core.info(
    `Done in ${formatDuration(Date.now() - started)}: ${count('built')} built, ${count('skipped')} skipped (already in the registry)` +
      (inputs.reuseUnchanged ? `, ${count('reused')} reused (inputs unchanged)` : ''),
  );
}

async function writeSummary(
  inputs: Inputs,
  results: ServiceResult[],
  scans: ScanResult[],
  durationMs: number,
): Promise<void> {
  const summary = core.summary.addHeading(`build-push: ${inputs.sha.slice(0, 12)}`, 3);
  summary.addTable([
    [
      { data: 'Service', header: true },
      { data: 'Result', header: true },
      { data: 'Duration', header: true },
      { data: 'Size', header: true },
      { data: 'Image', header: true },
    ],
    ...results.map((r) => [
      r.name,
      r.status === 'skipped'
        ? 'skipped (already pushed)'
        : r.status === 'reused'
          ? 'reused (inputs unchanged)'
          : r.status === 'failed'
            ? '❌ failed'
            : inputs.push
              ? 'built, pushed'
              : 'built (not pushed)',
      formatDuration(r.durationMs),
      formatSize(r.sizeBytes),
      r.digest
        ? `<code>${r.image}@${r.digest}</code>`
        : r.status === 'failed'
          ? '—'
          : `<code>${r.tags[0]}</code>`,
    ]),
  ]);
  summary.addRaw(
    `Total ${formatDuration(durationMs)}. Tags: ${[inputs.sha, ...inputs.movingTags].map((t) => `<code>${t}</code>`).join(', ')}.`,
    true,
  );
  for (const r of results.filter((x) => x.status === 'failed')) {
    const body = [r.error ?? '', ...(r.failure?.output ?? [])].join('\n');
    summary.addDetails(`${r.name}: ${r.failure?.step ?? 'failed'}`, `\n\n\`\`\`\n${body}\n\`\`\`\n`);
  }
  for (const s of scans.filter((x) => x.blocking.length)) {
    summary.addDetails(
      `${s.repository}: ${s.blocking.length} finding(s) at or above ${inputs.failOnSeverity}`,
      `\n\n${s.blocking.map((f) => `- **${f.severity}** ${f.name}${f.uri ? ` (${f.uri})` : ''}`).join('\n')}\n`,
    );
  }
  await summary.write();
}
