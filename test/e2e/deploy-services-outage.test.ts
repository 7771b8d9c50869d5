/**
 * A release is never lost: the committed deploy-services bundle, run as the
 * runner runs it, against the simulator, through AWS outages longer than the
 * SDK's retries, a cancellation (SIGINT, SIGTERM 7.5 s later, SIGKILL at 10 s)
 * while AWS throttles, and a SIGKILL mid-rollout. Judged from the simulator's
 * state and call log: which rollback calls reached ECS, where each service's
 * PRIMARY deployment ends; and from what the step left in GITHUB_OUTPUT.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { resolve } from 'node:path';
import { type Sim } from '../../sim/index.js';
import type { FaultSpec } from '../../sim/scenario.js';
import {
  OFFLINE_AWS_ENV,
  repositoryAction,
  runNodeAction,
  standaloneEnv,
  type NodeActionRun,
} from '../../runner/action-host.js';
import { repositoryRoot } from '../../runner/repo.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestSim } from '../sim/helpers.js';
import { pipelineSessionEnv } from './run-action.js';

const root = resolve(import.meta.dirname, '..', '..');
const cluster = 'alva-staging-cluster';
const services = ['alva-web', 'alva-api', 'alva-auth', 'alva-admin'];
const registry = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const images = (tag: string) =>
  JSON.stringify({
    web: `${registry}/alva-web:${tag}`,
    api: `${registry}/alva-api:${tag}`,
    auth: `${registry}/alva-auth:${tag}`,
    admin: `${registry}/alva-admin:${tag}`,
  });

interface Entry {
  previousTaskDefinition: string;
  taskDefinition: string;
  finalTaskDefinition: string;
  status: string;
  rollback?: { status: string; taskDefinition: string; reason?: string };
}

let sim: Sim;

interface SimService {
  name: string;
  taskDefinition: string;
  deployments: { status: string; taskDefinition: string }[];
}

/** Each service's PRIMARY revision, from the simulator's own state (not through the API, which may be faulted). */
function primaries(): Record<string, string> {
  const state = sim.state() as { clusters: { name: string; services: SimService[] }[] };
  const c = state.clusters.find((x) => x.name === cluster)!;
  return Object.fromEntries(
    c.services.map((s) => [s.name, s.deployments.find((d) => d.status === 'PRIMARY')?.taskDefinition ?? '']),
  );
}

function lastSeq(): number {
  return sim.calls().at(-1)?.seq ?? 0;
}

/** UpdateService calls that reached ECS (answered 200) and put `service` on `taskDefinition`. */
function updatesTo(since: number, service: string, taskDefinition: string) {
  return sim
    .calls(since)
    .filter(
      (c) =>
        c.operation === 'UpdateService' &&
        c.status === 200 &&
        c.params.service === service &&
        c.params.taskDefinition === taskDefinition,
    );
}

interface StepOptions {
  inputs: Record<string, string>;
  env?: Record<string, string>;
  /** Called with the log so far; may add faults, signal the step, or cancel it. */
  onOutput?: (log: string, kill: (signal: NodeJS.Signals) => void) => void;
  /** Aborting it cancels the step as GitHub does: SIGINT, SIGTERM 7.5 s later, SIGKILL at 10 s. */
  cancel?: AbortSignal;
}

/** deploy-services as one step of a job, as the runner starts it. */
async function deployStep(options: StepOptions): Promise<NodeActionRun> {
  const runnerTemp = mkdtempSync(join(tmpdir(), 'action-deploy-outage-'));
  try {
    return await runNodeAction(repositoryAction('deploy-services'), {
      inputs: { cluster, services: services.join('\n'), ...options.inputs },
      env: {
        ...standaloneEnv({ workspace: repositoryRoot, runnerTemp }),
        ...OFFLINE_AWS_ENV,
        // As the pipeline runs it: a session of its role (IAM is enforced in the staging world).
        ...(await pipelineSessionEnv(sim.url, 'deploy-services')),
        AWS_ENDPOINT_URL: sim.url,
        // The SDK's retries as most clients have them: an outage of seconds is longer than they last.
        AWS_MAX_ATTEMPTS: '3',
        ...options.env,
      },
      cwd: repositoryRoot,
      killAfterMs: 150_000,
      ...(options.onOutput ? { onOutput: options.onOutput } : {}),
      ...(options.cancel ? { cancel: options.cancel } : {}),
    });
  } finally {
    rmSync(runnerTemp, { recursive: true, force: true });
  }
}

/** Adds `faults` once, the first time the log matches `when`; then runs `then`. */
function once(when: RegExp, faults: FaultSpec[], then?: (kill: (signal: NodeJS.Signals) => void) => void) {
  let done = false;
  return (log: string, kill: (signal: NodeJS.Signals) => void) => {
    if (done || !when.test(log)) return;
    done = true;
    sim.addFaults(faults);
    then?.(kill);
  };
}

beforeAll(async () => {
  sim = await startTestSim({ scenario: resolve(root, 'sim/scenarios/staging.json'), speed: 20, port: 0 });
});
afterAll(async () => {
  await sim?.close();
});
beforeEach(async () => {
  await sim.reset();
});

describe('deploy-services: outages, cancellation and kills never lose a release', () => {
  it('a DescribeServices outage much longer than the SDK retries is ridden out: the release completes', async () => {
    const before = primaries();
    const since = lastSeq();
    // 200 s of simulated time (10 s real at speed 20): many polls' worth of SDK retries.
    const outage: FaultSpec = {
      service: 'ecs',
      operation: 'DescribeServices',
      kind: 'http500',
      forMs: 200_000,
    };
    const run = await deployStep({
      inputs: { images: images('outage-1'), 'timeout-seconds': '120' },
      onOutput: once(/Wait until/, [outage]),
    });
    const faulted = sim.calls(since).filter((c) => c.operation === 'DescribeServices' && c.fault);
    expect(faulted.length).toBeGreaterThan(6);
    expect(run.exitCode).toBe(0);
    const out = JSON.parse(run.outputs.deployments!) as Record<string, Entry>;
    const after = primaries();
    for (const service of services) {
      expect(after[service]).not.toBe(before[service]);
      expect(out[service]!.status).toBe('deployed');
      expect(out[service]!.taskDefinition).toBe(after[service]);
    }
  });

  it('DescribeServices down until the deadline: the release fails, the rollback is sent without reading first, and the output and summary are written', async () => {
    const before = primaries();
    const since = lastSeq();
    const outage: FaultSpec = {
      service: 'ecs',
      operation: 'DescribeServices',
      kind: 'http500',
      count: 100_000,
    };
    const run = await deployStep({
      inputs: { images: images('outage-2'), 'timeout-seconds': '8' },
      onOutput: once(/Wait until/, [outage]),
    });
    expect(run.exitCode).toBe(1);
    // Every service's rollback reached ECS, and ECS put each back on its previous revision.
    for (const service of services) expect(updatesTo(since, service, before[service]!)).toHaveLength(1);
    expect(primaries()).toEqual(before);
    const out = JSON.parse(run.outputs.deployments!) as Record<string, Entry>;
    for (const service of services) {
      expect(out[service]!.previousTaskDefinition).toBe(before[service]);
      expect(out[service]!.status).toBe('failed');
      expect(out[service]!.rollback?.taskDefinition).toBe(before[service]);
    }
    expect(run.log).toMatch(/AWS could not be read until the deadline/);
    expect(run.summary).toMatch(/could not be read from AWS/);
  });

  it('SIGINT while AWS throttles: every rollback call reaches ECS within the grace, the output and summary are written, and the step ends before SIGKILL', async () => {
    const before = primaries();
    const since = lastSeq();
    const cancel = new AbortController();
    let cancelledAt = 0;
    const throttling: FaultSpec[] = [
      { service: 'ecs', operation: 'UpdateService', kind: 'throttle', count: 8 },
      { service: 'ecs', operation: 'DescribeServices', kind: 'throttle', count: 100_000 },
      { service: 'elbv2', operation: 'DescribeTargetHealth', kind: 'throttle', count: 100_000 },
    ];
    const run = await deployStep({
      inputs: { images: images('cancel-1') },
      onOutput: once(/Wait until/, throttling, () => {
        cancelledAt = Date.now();
        cancel.abort();
      }),
      cancel: cancel.signal,
    });
    // It ended by itself (no SIGKILL), failing.
    expect(run.signal).toBeNull();
    expect(run.exitCode).toBe(1);
    expect(cancelledAt).toBeGreaterThan(0);
    for (const service of services) {
      const rollbacks = updatesTo(since, service, before[service]!);
      expect(rollbacks).toHaveLength(1);
      expect(rollbacks[0]!.realMs).toBeLessThan(cancelledAt + 10_000);
    }
    expect(primaries()).toEqual(before);
    const out = JSON.parse(run.outputs.deployments!) as Record<string, Entry>;
    for (const service of services) {
      expect(out[service]!.status).toBe('cancelled');
      expect(out[service]!.rollback).toMatchObject({ status: 'started', taskDefinition: before[service] });
    }
    expect(run.summary).toContain('requested, not confirmed');
  });

  it('a SIGKILL right after the first deployment started leaves the early deployments output: what it started, from which revision', async () => {
    const before = primaries();
    const since = lastSeq();
    const run = await deployStep({
      inputs: { images: images('kill-1') },
      onOutput: (log, kill) => {
        if (/\(new revision\)/.test(log)) kill('SIGKILL');
      },
    });
    expect(run.signal).toBe('SIGKILL');
    expect(
      sim.calls(since).filter((c) => c.operation === 'UpdateService' && c.status === 200).length,
    ).toBeGreaterThan(0);
    const out = JSON.parse(run.outputs.deployments!) as Record<string, Entry>;
    expect(Object.keys(out).sort()).toEqual([...services].sort());
    for (const service of services) {
      expect(out[service]!.previousTaskDefinition).toBe(before[service]);
      expect(out[service]!.status).toBe('in-progress');
    }
  });

  it('a release killed mid-rollout, its output lost, is undone from ECS record of what it registered (rollback-release)', async () => {
    const before = primaries();
    const release = '9990001';
    const killed = await deployStep({
      inputs: { images: images('kill-2') },
      env: { GITHUB_RUN_ID: release },
      onOutput: (log, kill) => {
        if (/Wait until/.test(log)) kill('SIGKILL');
      },
    });
    expect(killed.signal).toBe('SIGKILL');
    const moved = primaries();
    for (const service of services) expect(moved[service]).not.toBe(before[service]);

    const since = lastSeq();
    const rollback = await deployStep({ inputs: { 'rollback-release': release } });
    expect(rollback.exitCode).toBe(0);
    expect(primaries()).toEqual(before);
    for (const service of services) expect(updatesTo(since, service, before[service]!)).toHaveLength(1);
    expect(rollback.log).toMatch(/registered by release 9990001; going back to/);
  });
});
