/**
 * migrate under outages, cancellation and its judgement: the committed bundle
 * dist/migrate/index.js, run as the runner runs it, against the simulator.
 * Each case is judged from the simulator's state and call log: whether the
 * task was stopped, how it ended, and what the step wrote as outputs.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  OFFLINE_AWS_ENV,
  repositoryAction,
  runNodeAction,
  standaloneEnv,
  type NodeActionRun,
} from '../../runner/action-host.js';
import { repositoryRoot } from '../../runner/repo.js';
import { type Scenario, type Sim } from '../../sim/index.js';
import type { FaultSpec, ImageBehaviour } from '../../sim/scenario.js';
import { startTestSim } from '../sim/helpers.js';
import { pipelineSessionEnv } from './run-action.js';

const staging = JSON.parse(
  readFileSync(join(repositoryRoot, 'sim', 'scenarios', 'staging.json'), 'utf8'),
) as Scenario;
const REPO = '123456789012.dkr.ecr.us-east-1.amazonaws.com/alva-api';
const CLUSTER = 'alva-staging-cluster';

const behaviours: Record<string, ImageBehaviour> = {
  // A minute of simulated time (3 s real at speed 20): long enough to be running when reads fail.
  '*:outage-ok-*': {
    oneOff: { durationMs: 60_000, exitCode: 0, logLines: ['migrating...', 'migration done'] },
  },
  // The migration container fails; the essential sidecar ends well.
  '*:nonessential-fail-*': {
    oneOff: {
      durationMs: 2000,
      exitCode: 0,
      containers: { migrations: { exitCode: 1, logLines: ['error: relation "orders" already exists'] } },
    },
  },
};

interface SimTask {
  arn: string;
  service?: string;
  lastStatus: string;
  desiredStatus: string;
  stopCode?: string;
  stoppedReason?: string;
  containers: { name: string; exitCode?: number }[];
}

let sim: Sim | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function startStaging(change: (s: Scenario) => void = () => undefined): Promise<Sim> {
  const scenario = structuredClone(staging);
  scenario.images = { ...behaviours, ...scenario.images };
  change(scenario);
  sim = await startTestSim({ scenario, speed: 20, port: 0 });
  return sim;
}

/** The one-off tasks of the cluster, as the simulator holds them. */
function migrationTasks(s: Sim): SimTask[] {
  const clusters = s.state().clusters as { name: string; tasks: SimTask[] }[];
  return clusters.find((c) => c.name === CLUSTER)!.tasks.filter((t) => !t.service);
}

function calls(s: Sim, operation: string) {
  return s.calls().filter((c) => c.operation === operation);
}

interface MigrateRun {
  inputs: Record<string, string>;
  env?: Record<string, string>;
  /** Cancels the step as GitHub does (SIGINT, SIGTERM 7.5 s later, SIGKILL 2.5 s after) when the log matches. */
  cancelWhen?: { log: RegExp; before?: () => void };
}

/** The bundle as one step of a job; a cancellation follows the runner's whole signal sequence. */
async function migrate(s: Sim, options: MigrateRun): Promise<NodeActionRun> {
  const runnerTemp = mkdtempSync(join(tmpdir(), 'action-migrate-'));
  const cancel = new AbortController();
  try {
    return await runNodeAction(repositoryAction('migrate'), {
      inputs: {
        cluster: CLUSTER,
        'task-definition': 'alva-migrations',
        'network-from-service': 'alva-api',
        'container-images': 'migrations=api',
        ...options.inputs,
      },
      env: {
        ...standaloneEnv({ workspace: repositoryRoot, runnerTemp }),
        ...OFFLINE_AWS_ENV,
        // As the pipeline runs it: a session of its role (IAM is enforced in the staging world).
        ...(await pipelineSessionEnv(s.url, 'migrate')),
        AWS_ENDPOINT_URL: s.url,
        ...options.env,
      },
      cwd: repositoryRoot,
      cancel: cancel.signal,
      killAfterMs: 120_000,
      onOutput: (log) => {
        if (!cancel.signal.aborted && options.cancelWhen?.log.test(log)) {
          options.cancelWhen.before?.();
          cancel.abort();
        }
      },
    });
  } finally {
    rmSync(runnerTemp, { recursive: true, force: true });
  }
}

describe('migrate under outages and cancellation (end to end against the simulator)', () => {
  it('DescribeTasks failing past the SDK retries for a while never stops the migration: it finishes and its exit code is the output', async () => {
    const s = await startStaging();
    // The SDK gives up after two attempts: the outage is the watch's to ride out.
    const faults: FaultSpec[] = [
      { service: 'ecs', operation: 'DescribeTasks', kind: 'http500', after: 2, count: 4 },
    ];
    s.addFaults(faults);
    const run = await migrate(s, {
      inputs: { images: JSON.stringify({ api: `${REPO}:outage-ok-1` }) },
      env: { AWS_MAX_ATTEMPTS: '2' },
    });

    // Nobody stopped it.
    expect(calls(s, 'StopTask')).toEqual([]);
    // The reads did fail, for longer than 15 s of simulated time, while the task was running.
    const failed = calls(s, 'DescribeTasks').filter((c) => c.fault);
    expect(failed).toHaveLength(4);
    const span = Date.parse(failed.at(-1)!.time) - Date.parse(failed[0]!.time);
    expect(span).toBeGreaterThanOrEqual(15_000);
    const stoppedAt = s.events().find((e) => e.kind === 'task.stopped')?.realMs ?? Infinity;
    expect(failed[0]!.realMs).toBeLessThan(stoppedAt);

    // It ended by itself, and the step reports its exit code.
    const [task] = migrationTasks(s);
    expect(task).toMatchObject({ lastStatus: 'STOPPED', stopCode: 'EssentialContainerExited' });
    const exitCode = task!.containers.find((c) => c.name === 'migrations')!.exitCode;
    expect(exitCode).toBe(0);
    expect(run.outputs['task-arn']).toBe(task!.arn);
    expect(run.outputs['exit-code']).toBe(String(exitCode));
    expect(run.exitCode).toBe(0);
    expect(run.summary).toContain('Where the task stands');
  });

  it('CloudWatch Logs failing throughout never stops the migration: it is followed and judged, and the log says streaming is degraded', async () => {
    const s = await startStaging();
    s.addFaults({ service: 'logs', operation: 'GetLogEvents', kind: 'http500', count: 10_000 });
    const run = await migrate(s, {
      inputs: { images: JSON.stringify({ api: `${REPO}:outage-ok-2` }) },
      env: { AWS_MAX_ATTEMPTS: '2' },
    });

    expect(calls(s, 'GetLogEvents').every((c) => c.fault === 'http500')).toBe(true);
    expect(calls(s, 'StopTask')).toEqual([]);
    const [task] = migrationTasks(s);
    expect(task).toMatchObject({ lastStatus: 'STOPPED', stopCode: 'EssentialContainerExited' });
    expect(run.exitCode).toBe(0);
    expect(run.outputs['exit-code']).toBe('0');
    expect(run.log).toMatch(/::warning::cannot read log stream .*log streaming degraded/);
  });

  it('SIGINT while ECS throttles: StopTask is retried until accepted, task-arn is written, and the step ends before SIGKILL', async () => {
    const s = await startStaging();
    const run = await migrate(s, {
      inputs: { images: JSON.stringify({ api: `${REPO}:migrate-slow-1` }) },
      cancelWhen: {
        log: /Task RUNNING/,
        // From the cancellation on, ECS throttles StopTask a while and every read for good.
        before: () =>
          s.addFaults([
            { service: 'ecs', operation: 'StopTask', kind: 'throttle', count: 3 },
            { service: 'ecs', operation: 'DescribeTasks', kind: 'throttle', count: 10_000 },
            { service: 'logs', operation: 'GetLogEvents', kind: 'throttle', count: 10_000 },
          ]),
      },
    });

    expect(run.signal).toBeNull();
    expect(run.exitCode).toBe(1);
    const stops = calls(s, 'StopTask');
    expect(stops.filter((c) => c.fault === 'throttle').length).toBeGreaterThan(0);
    expect(stops.filter((c) => c.status === 200)).toHaveLength(1);
    const [task] = migrationTasks(s);
    expect(task!.desiredStatus).toBe('STOPPED');
    expect(stops[0]!.params).toMatchObject({
      task: task!.arn,
      reason: 'Stopped by migrate: workflow cancelled (SIGINT)',
    });
    expect(run.outputs['task-arn']).toBe(task!.arn);
    expect(run.outputs['task-definition-arn']).toMatch(/task-definition\/alva-migrations:\d+$/);
    // Where it stands could not be read (DescribeTasks throttled): the summary says so.
    expect(run.summary).toContain('could not be read from AWS');
  });

  it('SIGINT while StopTask is throttled throughout: the step says the stop could not be confirmed, with the task ARN, before SIGKILL', async () => {
    const s = await startStaging();
    const run = await migrate(s, {
      inputs: { images: JSON.stringify({ api: `${REPO}:migrate-slow-2` }) },
      cancelWhen: {
        log: /Task RUNNING/,
        before: () => s.addFaults({ service: 'ecs', operation: '*', kind: 'throttle', count: 10_000 }),
      },
    });

    expect(run.signal).toBeNull();
    expect(run.exitCode).toBe(1);
    const stops = calls(s, 'StopTask');
    expect(stops.length).toBeGreaterThan(0);
    expect(stops.every((c) => c.fault === 'throttle')).toBe(true);
    // The task still runs, and the step does not pretend otherwise.
    const [task] = migrationTasks(s);
    expect(task!.desiredStatus).toBe('RUNNING');
    expect(run.outputs['task-arn']).toBe(task!.arn);
    expect(run.log).toContain('the stop could not be confirmed');
    expect(run.summary).toContain('the stop could not be confirmed');
  });

  it('a non-essential migration container named by `container` that exits 1 fails the migration', async () => {
    const s = await startStaging((scenario) => {
      const migrations = scenario.taskDefinitions.find((t) => t.family === 'alva-migrations')!;
      migrations.containerDefinitions[0]!.essential = false;
      migrations.containerDefinitions.push({
        name: 'proxy',
        image: 'public.ecr.aws/docker/library/busybox:1.36',
        essential: true,
      });
    });
    const run = await migrate(s, {
      inputs: { images: JSON.stringify({ api: `${REPO}:nonessential-fail-1` }), container: 'migrations' },
    });

    const [task] = migrationTasks(s);
    const exitCode = task!.containers.find((c) => c.name === 'migrations')!.exitCode;
    expect(exitCode).toBe(1);
    expect(run.exitCode).toBe(1);
    expect(run.outputs['exit-code']).toBe('1');
    expect(run.log).toMatch(/::error::Migration failed: container migrations exited with code 1/);
    expect(run.summary).toContain('Migration failed');
  });
});
