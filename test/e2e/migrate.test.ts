/**
 * The committed bundle dist/migrate/index.js, run as the runner runs it,
 * against the simulator loaded with the staging scenario plus per-test image
 * behaviours (one-off task duration, exit codes, log lines).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Scenario, type Sim, type SimCall } from '../../sim/index.js';
import type { ImageBehaviour } from '../../sim/scenario.js';
import { runAction, type ActionRun } from './run-action.js';
import { startTestSim } from '../sim/helpers.js';

const root = join(import.meta.dirname, '..', '..');
const staging = JSON.parse(readFileSync(join(root, 'sim', 'scenarios', 'staging.json'), 'utf8')) as Scenario;
const REPO = '123456789012.dkr.ecr.us-east-1.amazonaws.com/alva-api';
const CLUSTER = 'alva-staging-cluster';
const UNAVAILABLE_SUBNET = staging.clusters[0]!.capacityUnavailableSubnets![0]!;
const TASK_SECURITY_GROUPS = staging.services![1]!.networkConfiguration!.awsvpcConfiguration.securityGroups!;

const MIGRATION_LINES = Array.from(
  { length: 40 },
  (_, i) => `migration step ${String(i + 1).padStart(2, '0')} applied`,
);

/** Behaviours this file adds; they come first, so they win over the scenario's own patterns. */
const behaviours: Record<string, ImageBehaviour> = {
  '*:e2e-ok-*': { oneOff: { durationMs: 30_000, exitCode: 0, logLines: MIGRATION_LINES } },
  '*:e2e-quick-ok-*': {
    pullMs: 0,
    oneOff: { durationMs: 10, exitCode: 0, logLines: ['quick migration done'] },
  },
  '*:e2e-quick-fail-*': {
    pullMs: 0,
    oneOff: {
      durationMs: 10,
      exitCode: 3,
      logLines: ['nothing to do?', '::error::printed by the migration, not an annotation', 'exit 3'],
    },
  },
  // The sidecar's image has no behaviour of its own: it ends as the task's behaviour says for it.
  '*:e2e-sidecar-*': {
    oneOff: {
      durationMs: 4000,
      exitCode: 0,
      containers: { xray: { exitCode: 2, reason: 'xray: no daemon' } },
    },
  },
};

function scenario(overrides: Partial<Scenario> = {}, sidecar = true): Scenario {
  const copy = structuredClone(staging);
  copy.images = { ...behaviours, ...copy.images };
  // The migration task definition gets a non-essential sidecar, to prove a failing one only warns.
  const migrations = copy.taskDefinitions.find((t) => t.family === 'alva-migrations')!;
  if (sidecar)
    migrations.containerDefinitions.push({
      name: 'xray',
      image: 'public.ecr.aws/xray/aws-xray-daemon:3.3.12',
      essential: false,
      logConfiguration: {
        logDriver: 'awslogs',
        options: {
          'awslogs-group': '/ecs/alva-staging/migrations',
          'awslogs-region': 'us-east-1',
          'awslogs-stream-prefix': 'migrations',
        },
      },
    });
  return { ...copy, ...overrides };
}

let sim: Sim;
beforeAll(async () => {
  sim = await startTestSim({ scenario: scenario(), speed: 20, port: 0 });
});
afterAll(async () => {
  await sim?.close();
});

function migrate(
  inputs: Record<string, string>,
  options: Parameters<typeof runAction>[1] = {},
): Promise<ActionRun> {
  return runAction('migrate', {
    ...options,
    inputs: {
      cluster: CLUSTER,
      'task-definition': 'alva-migrations',
      'network-from-service': 'alva-api',
      'container-images': 'migrations=api',
      ...inputs,
    },
    env: { AWS_ENDPOINT_URL: sim.url, ...options.env },
  });
}

function callsOf(operation: string, since: number): SimCall[] {
  return sim.calls(since).filter((c) => c.operation === operation);
}

function lastSeq(): number {
  return sim.calls().at(-1)?.seq ?? 0;
}

/** How often each line appears as a whole line of the job log. */
function occurrences(log: string, line: string): number {
  return log.split('\n').filter((l) => l === line).length;
}

describe('migrate (end to end against the simulator)', () => {
  it('registers the new image, streams every log line exactly once and in order, and outputs exit code 0', async () => {
    const since = lastSeq();
    const image = `${REPO}:e2e-ok-1`;
    const run = await migrate({ images: JSON.stringify({ api: image, web: 'ignored:1' }) });
    expect(run.log).toContain('Migration succeeded');
    expect(run.exitCode).toBe(0);
    expect(run.outputs['exit-code']).toBe('0');
    expect(run.outputs['task-arn']).toMatch(
      /^arn:aws:ecs:us-east-1:123456789012:task\/alva-staging-cluster\//,
    );
    expect(run.outputs['task-definition-arn']).toMatch(/task-definition\/alva-migrations:2$/);

    // Each line exactly once, in the order written. Two streams: lines carry the container name.
    const streamed = MIGRATION_LINES.map((l) => `[migrations] ${l}`);
    for (const line of streamed) expect([line, occurrences(run.log, line)]).toEqual([line, 1]);
    const positions = streamed.map((l) => run.log.indexOf(`\n${l}\n`));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(run.log).toContain('::group::');

    const register = callsOf('RegisterTaskDefinition', since);
    expect(register).toHaveLength(1);
    const containers = register[0]!.params.containerDefinitions as { name: string; image: string }[];
    expect(containers.map((c) => [c.name, c.image])).toEqual([
      ['migrations', image],
      ['xray', 'public.ecr.aws/xray/aws-xray-daemon:3.3.12'],
    ]);
    const runTask = callsOf('RunTask', since);
    expect(runTask).toHaveLength(1);
    expect(runTask[0]!.params).toMatchObject({
      cluster: CLUSTER,
      taskDefinition: run.outputs['task-definition-arn'],
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: staging.services![1]!.networkConfiguration!.awsvpcConfiguration.subnets,
        },
      },
    });
    // No forced FARGATE: the cluster's default capacity provider strategy places it.
    expect(runTask[0]!.params.launchType).toBeUndefined();
    expect(callsOf('StopTask', since)).toHaveLength(0);
    expect(run.summary).toContain('Migration succeeded');
    expect(run.summary).toContain('console.aws.amazon.com/ecs/v2/clusters/alva-staging-cluster/tasks/');

    // The same image again: the revision is reused, nothing is registered.
    const again = lastSeq();
    const second = await migrate({ images: JSON.stringify({ api: image }) });
    expect(second.exitCode).toBe(0);
    expect(callsOf('RegisterTaskDefinition', again)).toHaveLength(0);
    expect(second.outputs['task-definition-arn']).toBe(run.outputs['task-definition-arn']);
  });

  it('fails on exit code 1, showing the code and the last log lines', async () => {
    const run = await migrate({
      image: `${REPO}:migrate-fail-1`,
      container: 'migrations',
      'container-images': '',
    });
    expect(run.exitCode).toBe(1);
    expect(run.outputs['exit-code']).toBe('1');
    const error = run.log.slice(run.log.indexOf('::error::'));
    expect(error).toContain('container migrations exited with code 1');
    expect(error).toContain('Migration failed: 20250115_add_orders');
    expect(error).toContain('error: relation');
    expect(run.summary).toContain('Migration failed');
  });

  it('fails with CannotPullContainerError when the image cannot be pulled', async () => {
    const run = await migrate({ images: JSON.stringify({ api: `${REPO}:nopull-1` }) });
    expect(run.exitCode).toBe(1);
    expect(run.log).toMatch(/::error::.*CannotPullContainerError/);
    expect(run.log).toContain('TaskFailedToStart');
    expect(run.outputs['exit-code']).toBe('');
  });

  it('only warns when the non-essential sidecar fails', async () => {
    const run = await migrate({ images: JSON.stringify({ api: `${REPO}:e2e-sidecar-1` }) });
    expect(run.exitCode).toBe(0);
    expect(run.outputs['exit-code']).toBe('0');
    expect(run.log).toMatch(/::warning::non-essential container xray exited with code 2/);
  });

  it('fails with the reason of a RunTask placement failure', async () => {
    const since = lastSeq();
    const run = await migrate({
      images: JSON.stringify({ api: `${REPO}:e2e-ok-2` }),
      'network-from-service': '',
      subnets: UNAVAILABLE_SUBNET,
      'security-groups': TASK_SECURITY_GROUPS.join(','),
    });
    expect(run.exitCode).toBe(1);
    expect(run.log).toMatch(/::error::RunTask did not start the migration task: Capacity is unavailable/);
    expect(callsOf('DescribeTasks', since)).toHaveLength(0);
  });

  it('stops the task with a reason on timeout and fails', async () => {
    const since = lastSeq();
    const run = await migrate({
      images: JSON.stringify({ api: `${REPO}:migrate-slow-1` }),
      'timeout-seconds': '3',
    });
    expect(run.exitCode).toBe(1);
    const stops = callsOf('StopTask', since);
    expect(stops).toHaveLength(1);
    expect(stops[0]!.params).toMatchObject({
      cluster: CLUSTER,
      task: run.outputs['task-arn'],
      reason: 'Stopped by migrate: timed out after 3s',
    });
    expect(run.log).toContain('::error::Migration failed: timed out after 3s; the task was stopped');
    // It waited for the stop: the last DescribeTasks came after StopTask.
    expect(callsOf('DescribeTasks', since).at(-1)!.seq).toBeGreaterThan(stops[0]!.seq);
  });

  it('stops the task with a reason on SIGINT and fails', async () => {
    const since = lastSeq();
    const run = await migrate(
      { images: JSON.stringify({ api: `${REPO}:migrate-slow-2` }) },
      { signal: { name: 'SIGINT', when: /Task RUNNING/ } },
    );
    expect(run.exitCode).toBe(1);
    const stops = callsOf('StopTask', since);
    expect(stops).toHaveLength(1);
    expect(stops[0]!.params.reason).toBe('Stopped by migrate: workflow cancelled (SIGINT)');
    expect(run.log).toContain('Migration failed: workflow cancelled (SIGINT)');
  });

  it('judges a task that stopped before the first poll', async () => {
    // No provisioning, pull or stop time, a fast clock, and the first DescribeTasks throttled
    // (the SDK retries it): by the first answer the action gets, the task has long stopped.
    const quick = await startTestSim({
      // Without the sidecar the task's lines are printed unprefixed, as they are written.
      scenario: scenario(
        { timing: { ...staging.timing, provisionMs: 0, pullMs: 0, stopMs: 0, jitter: 0 } },
        false,
      ),
      speed: 1000,
      port: 0,
    });
    try {
      for (const [tag, exitCode] of [
        ['e2e-quick-ok-1', 0],
        ['e2e-quick-fail-1', 3],
      ] as const) {
        const since = quick.calls().at(-1)?.seq ?? 0;
        quick.addFaults({ service: 'ecs', operation: 'DescribeTasks', kind: 'throttle', count: 1 });
        const run = await migrate(
          { images: JSON.stringify({ api: `${REPO}:${tag}` }) },
          { env: { AWS_ENDPOINT_URL: quick.url } },
        );
        expect(run.outputs['exit-code']).toBe(String(exitCode));
        expect(run.exitCode).toBe(exitCode === 0 ? 0 : 1);
        const started = quick.calls(since).find((c) => c.operation === 'RunTask')!;
        const stopped = quick.events().find((e) => e.kind === 'task.stopped' && e.realMs >= started.realMs)!;
        const firstAnswer = quick
          .calls(since)
          .find((c) => c.operation === 'DescribeTasks' && c.status === 200)!;
        expect(stopped.realMs).toBeLessThanOrEqual(firstAnswer.realMs);
        // The only state the action saw is the final one.
        expect(run.log.split('\n').filter((l) => l.startsWith('Task '))).toEqual([
          expect.stringMatching(/^Task STOPPED/),
        ]);
        if (exitCode !== 0) {
          expect(run.log).toContain('container migrations exited with code 3');
          // A workflow command printed by the task is shown, never obeyed.
          const lines = run.log.split('\n');
          const at = lines.indexOf('::error::printed by the migration, not an annotation');
          const open = lines.slice(0, at).findLastIndex((l) => l.startsWith('::stop-commands::'));
          const token = lines[open]!.slice('::stop-commands::'.length);
          expect(lines.indexOf(`::${token}::`, at)).toBeGreaterThan(at);
        }
      }
    } finally {
      await quick.close();
    }
  });

  it('fails on bad input before any call that changes anything', async () => {
    const since = lastSeq();
    const run = await migrate({ images: JSON.stringify({ api: `${REPO}:e2e-ok-3` }), container: 'nope' });
    expect(run.exitCode).toBe(1);
    expect(run.log).toContain('::error title=container::Input "container": task definition alva-migrations');
    expect(sim.calls(since).filter((c) => c.mutating)).toEqual([]);
  });
});
