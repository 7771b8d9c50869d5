/**
 * build-push: builds the services' images, pushes them tagged with the commit
 * SHA (plus moving tags), and outputs digest-pinned references. The same
 * bundle runs as the post step, which logs docker out again.
 */
import * as core from '@actions/core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InputError, OperationError } from '../../../lib/errors.js';
import { serializeImages } from '../../../lib/contracts/images.js';
import { ociLabels, type BuildPlan } from '../../../lib/images/command.js';
import { buildAll, formatSize, imageChanged, type ServiceResult } from '../../../lib/images/pipeline.js';
import { fingerprintInputs, fingerprintTag } from '../../../lib/images/fingerprint.js';
import type { ScanResult } from '../../../lib/images/ecr.js';
import { formatDuration } from '../../../lib/time.js';
import { coreLog } from '../../_common/core-log.js';
import { annotateError, runAction } from '../../_common/host.js';
import { stepState } from '../../_common/state.js';
import { code, concat, jobSummary, list, pre, strong } from '../../_common/summary.js';
import { dockerRunner, selectDocker } from './docker.js';
import { getInputs, type Inputs } from './inputs.js';
import { connectRegistry, dockerLogin, type Registry } from './registry.js';

/** What main leaves for the post step: where docker stored credentials to forget. */
interface LoginState extends Record<string, string> {
  'login-host': string;
  docker: string;
}
const state = stepState<LoginState>();

export function run(): Promise<void> {
  return runAction({ subject: 'Build', onCancel: 'stopping builds', main, post });
}

/** Post step: forget the registry credentials docker stored during the run. */
async function post(): Promise<void> {
  const host = state.get('login-host');
  const docker = state.get('docker');
  if (!host || !docker) return;
  const out = await dockerRunner(docker)
    .run(['logout', host])
    .catch((err: Error) => ({ exitCode: 1, output: err.message }));
  if (out.exitCode === 0) core.info(`Logged out of ${host}`);
  else core.warning(`docker logout ${host} failed: ${out.output.trim()}`);
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
      await dockerLogin(runner, { ...reg, credentials: reg.credentials }, inputs.registry.kind);
      state.save('login-host', reg.host);
      state.save('docker', docker.binary);
      core.info(`Logged in to ${reg.describe} as ${reg.credentials.username}`);
    } else {
      core.info(`Using ${reg.describe} without login (no username/password given)`);
    }
    return reg;
  });

  const started = Date.now();
  const results = await buildAll({
    plans: await buildPlans(inputs, registry),
    docker: runner,
    builder: docker.builder,
    store: registry.store,
    skipExisting: inputs.skipExisting,
    maxParallel: inputs.maxParallel,
    log: coreLog,
    tempDir: mkdtempSync(join(process.env.RUNNER_TEMP ?? tmpdir(), 'build-push-')),
    signal,
  });
  writeOutputs(results, inputs.sha);

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
    for (const r of failed) annotateError(r.name, failureLines(r).join('\n'));
    throw new OperationError(
      `${failed.length} of ${results.length} service(s) failed: ${failed.map((r) => r.error).join('; ')}`,
    );
  }
  const blocking = scans.filter((s) => s.blocking.length);
  if (blocking.length) {
    throw new OperationError(
      `scan gate: ${blocking.map((s) => `${s.repository} has ${s.blocking.length} finding(s) at or above ${inputs.failOnSeverity}`).join('; ')}`,
      blocking.flatMap((s) => [
        `${s.repository}@${s.digest}:`,
        ...s.blocking.map(
          (f) =>
            `  ${f.severity} ${f.name}${f.uri ? ` ${f.uri}` : ''}${f.description ? ` — ${f.description.slice(0, 160)}` : ''}`,
        ),
      ]),
    );
  }
  const count = (status: ServiceResult['status']) => results.filter((r) => r.status === status).length;
  core.info(
    `Done in ${formatDuration(Date.now() - started)}: ${count('built')} built, ${count('skipped')} skipped (already in the registry)` +
      (inputs.reuseUnchanged ? `, ${count('reused')} reused (inputs unchanged)` : ''),
  );
}

function buildPlans(inputs: Inputs, registry: Registry): Promise<BuildPlan[]> {
  const labels = ociLabels({ source: inputs.source, revision: inputs.sha, created: new Date() });
  return Promise.all(
    inputs.services.map(async (service) => ({
      service,
      image: `${registry.host}/${service.repository}`,
      tags: [inputs.sha, ...inputs.movingTags],
      cacheTag: inputs.cacheTag,
      labels,
      platforms: inputs.platforms,
      push: inputs.push,
      network: inputs.network,
      inputsTag: inputs.reuseUnchanged ? await inputsTagOf(inputs, service) : undefined,
    })),
  );
}

/** The service's fingerprint tag; a `paths` glob that matches nothing is warned about (likely a typo). */
async function inputsTagOf(inputs: Inputs, service: Inputs['services'][number]): Promise<string> {
  const fingerprint = await fingerprintInputs(service, {
    platforms: inputs.platforms,
    workspace: resolve(inputs.workspace),
  });
  for (const glob of fingerprint.unmatched) {
    core.warning(`paths entry "${glob}" of ${service.name} matches no file in the repository`, {
      title: service.name,
    });
  }
  if (fingerprint.sendsGit) {
    core.warning(
      `the build context of ${service.name} holds .git and its .dockerignore does not exclude it: Docker sends it, so every commit changes the service's inputs and it is rebuilt every time. Add .git to .dockerignore, or list the service's inputs in paths.`,
      { title: service.name },
    );
  }
  core.info(
    `${service.name}: inputs ${fingerprintTag(fingerprint.hash)} (${fingerprint.files} file(s) of ${service.paths ? `paths ${service.paths.join(', ')}` : 'its context'}, the Dockerfile, target, build args, platforms)`,
  );
  return fingerprintTag(fingerprint.hash);
}

/**
 * `images` and `tags` for every service that succeeded, even when another
 * failed; `changed-services` and `reused-services` split them for callers
 * that deploy only what changed.
 */
function writeOutputs(results: ServiceResult[], sha: string): void {
  const images: Record<string, string> = {};
  const tags: Record<string, string[]> = {};
  for (const r of results) {
    if (r.status === 'failed') continue;
    images[r.name] = r.digest ? `${r.image}@${r.digest}` : r.tags[0]!;
    tags[r.name] = r.tags;
  }
  core.setOutput('images', serializeImages(images));
  core.setOutput('tags', JSON.stringify(tags));
  const succeeded = results.filter((r) => r.status !== 'failed');
  core.setOutput(
    'changed-services',
    JSON.stringify(succeeded.filter((r) => imageChanged(r, sha)).map((r) => r.name)),
  );
  core.setOutput(
    'reused-services',
    JSON.stringify(succeeded.filter((r) => !imageChanged(r, sha)).map((r) => r.name)),
  );
}

/** A failed service's error, then the output of the step that failed. */
function failureLines(r: ServiceResult): string[] {
  return r.failure?.output.length
    ? [r.error!, 'Output of the failing step:', ...r.failure.output]
    : [r.error!];
}

async function writeSummary(
  inputs: Inputs,
  results: ServiceResult[],
  scans: ScanResult[],
  durationMs: number,
): Promise<void> {
  const summary = jobSummary()
    .heading(`build-push: ${inputs.sha.slice(0, 12)}`)
    .table(
      ['Service', 'Result', 'Image changed', 'Duration', 'Size', 'Image'],
      results.map((r) => [
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
        r.status === 'failed'
          ? '—'
          : imageChanged(r, inputs.sha)
            ? 'yes'
            : r.builtFrom
              ? concat('no (built from ', code(r.builtFrom.slice(0, 12)), ')')
              : 'no (reused)',
        formatDuration(r.durationMs),
        formatSize(r.sizeBytes),
        r.digest ? code(`${r.image}@${r.digest}`) : r.status === 'failed' ? '—' : code(r.tags[0]!),
      ]),
    )
    .paragraph(
      concat(
        `Total ${formatDuration(durationMs)}. Tags: `,
        ...[inputs.sha, ...inputs.movingTags].flatMap((t, i) => (i ? [', ', code(t)] : [code(t)])),
        '.',
      ),
    );
  for (const r of results.filter((x) => x.status === 'failed')) {
    summary.details(
      `${r.name}: ${r.failure?.step ?? 'failed'}`,
      pre([r.error ?? '', ...(r.failure?.output ?? [])].join('\n')),
    );
  }
  for (const s of scans.filter((x) => x.blocking.length)) {
    summary.details(
      `${s.repository}: ${s.blocking.length} finding(s) at or above ${inputs.failOnSeverity}`,
      list(
        s.blocking.map((f) => concat(strong(String(f.severity)), ` ${f.name}${f.uri ? ` (${f.uri})` : ''}`)),
      ),
    );
  }
  await summary.write();
}
