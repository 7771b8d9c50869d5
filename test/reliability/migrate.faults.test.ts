/**
 * Fault matrix, migrate: dist/migrate/index.js against the simulator under
 * throttling, 5xx bursts, dropped connections, failing and hanging tasks and
 * cancellation. "Nothing lost" is read from the simulator: no migration task
 * left running, exactly one task started, each log line printed once.
 */
import { describe, test } from '@jest/globals';
import type { FaultSpec, Scenario } from '../../sim/scenario.js';
import { runAction, type RunOptions } from '../e2e/run-action.js';
import {
  REGISTRY,
  Verdict,
  actionSeconds,
  callsOf,
  exitDescribe,
  errorText,
  oneOffTasksAlive,
  oneOffTasksStarted,
  secretsIn,
  simEnv,
  staging,
  startStaging,
} from './harness.js';

const ACTION = 'migrate';
/** The staging world's subnet without Fargate capacity, and its tasks' security groups. */
const world = staging();
const UNAVAILABLE_SUBNET = world.clusters[0]!.capacityUnavailableSubnets![0]!;
const TASK_SECURITY_GROUPS = world.services![0]!.networkConfiguration!.awsvpcConfiguration.securityGroups!;
/** The default one-off behaviour's lines (sim/scenarios/staging.json). */
const MIGRATION_LINES = [
  '> alva@1.0.0 db:migrate',
  'Applying migration 20250101_add_users...',
  'Applying migration 20250115_add_orders...',
  'Applying migration 20250201_add_invoices...',
  'Migrations complete: 3 applied',
];

function inputs(tag: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    cluster: 'alva-staging-cluster',
    'task-definition': 'alva-migrations',
    image: `${REGISTRY}/alva-api:${tag}`,
    'network-from-service': 'alva-api',
    'timeout-seconds': '60',
    ...extra,
  };
}

async function migrate(options: {
  faults?: FaultSpec[];
  change?: (s: Scenario) => void;
  tag?: string;
  run?: Partial<RunOptions>;
  extra?: Record<string, string>;
}) {
  const sim = await startStaging((s) => {
    s.faults = options.faults ?? [];
    options.change?.(s);
  });
  try {
    const run = await runAction(ACTION, {
      inputs: inputs(options.tag ?? 'v2', options.extra),
      env: simEnv(sim),
      timeoutMs: 60_000,
      ...options.run,
    });
    return { sim, run };
  } catch (err) {
    await sim.close();
    throw err;
  }
}

/** Each line once, in order. */
function linesOnceInOrder(log: string, lines: string[]): { holds: boolean; observed: string } {
  const counts = lines.map((l) => log.split('\n').filter((x) => x === l).length);
  const positions = lines.map((l) => log.indexOf(`\n${l}\n`));
  const ordered = positions.every((p, i) => p >= 0 && (i === 0 || p > positions[i - 1]!));
  const holds = counts.every((c) => c === 1) && ordered;
  return {
    holds,
    observed: holds
      ? `all ${lines.length} log lines printed once, in order`
      : `log line counts ${counts.join(',')}${ordered ? '' : ', out of order'}`,
  };
}

const successScenarios: { name: string; faults: FaultSpec[] }[] = [
  {
    name: 'throttling burst on RunTask',
    faults: [{ service: 'ecs', operation: 'RunTask', kind: 'throttle', count: 3 }],
  },
  {
    name: 'HTTP 500 burst on RunTask',
    faults: [{ service: 'ecs', operation: 'RunTask', kind: 'http500', count: 2 }],
  },
  {
    name: 'RunTask carried out but its reply lost (the SDK retries with the same clientToken)',
    faults: [{ service: 'ecs', operation: 'RunTask', kind: 'lost', count: 1 }],
  },
  {
    name: 'throttling burst on DescribeTasks mid-poll',
    faults: [{ service: 'ecs', operation: 'DescribeTasks', kind: 'throttle', after: 1, count: 4 }],
  },
  {
    name: 'HTTP 500 burst on DescribeTasks mid-poll',
    faults: [{ service: 'ecs', operation: 'DescribeTasks', kind: 'http500', after: 1, count: 3 }],
  },
  {
    name: 'connection dropped mid-poll (DescribeTasks reset)',
    faults: [{ service: 'ecs', operation: 'DescribeTasks', kind: 'reset', after: 1, count: 2 }],
  },
  {
    name: 'HTTP 500 burst on GetLogEvents while streaming',
    faults: [{ service: 'logs', operation: 'GetLogEvents', kind: 'http500', after: 1, count: 3 }],
  },
  {
    name: 'throttling burst on GetLogEvents while streaming',
    faults: [{ service: 'logs', operation: 'GetLogEvents', kind: 'throttle', after: 1, count: 5 }],
  },
  {
    name: 'connection dropped on GetLogEvents (reset)',
    faults: [{ service: 'logs', operation: 'GetLogEvents', kind: 'reset', after: 2, count: 1 }],
  },
  {
    name: 'throttling and HTTP 500 on RegisterTaskDefinition',
    faults: [
      { service: 'ecs', operation: 'RegisterTaskDefinition', kind: 'throttle', count: 2 },
      { service: 'ecs', operation: 'RegisterTaskDefinition', kind: 'http500', after: 2, count: 1 },
    ],
  },
  {
    name: 'HTTP 500 burst on DescribeTaskDefinition and DescribeServices',
    faults: [
      { service: 'ecs', operation: 'DescribeTaskDefinition', kind: 'http500', count: 2 },
      { service: 'ecs', operation: 'DescribeServices', kind: 'throttle', count: 2 },
    ],
  },
];

describe('fault matrix: migrate', () => {
  test.concurrent.each(successScenarios)(
    '$name: succeeds, one task, every line once',
    async ({ name, faults }) => {
      const { sim, run } = await migrate({ faults });
      try {
        const v = new Verdict(
          ACTION,
          name,
          'exit 0; exactly one task started and stopped; each log line once',
        );
        v.check(run.exitCode === 0, `${exitDescribe(run)}${run.exitCode ? `: ${errorText(run)}` : ''}`);
        const hit = sim.calls().filter((c) => c.fault).length;
        v.check(hit > 0, `${hit} faulted calls`);
        const started = oneOffTasksStarted(sim).length;
        v.check(started === 1, `${started} migration task(s) started`);
        const registered = callsOf(sim, 'RegisterTaskDefinition').filter((c) => c.status === 200).length;
        v.check(registered === 1, `${registered} revision registered`);
        const alive = oneOffTasksAlive(sim);
        v.check(alive.length === 0, `${alive.length} migration tasks left running`);
        v.check(run.outputs['exit-code'] === '0', `output exit-code=${run.outputs['exit-code']}`);
        const lines = linesOnceInOrder(run.log, MIGRATION_LINES);
        v.check(lines.holds, lines.observed);
        v.check(secretsIn(run.log).length === 0, 'no secret in the log');
        v.finish(run);
      } finally {
        await sim.close();
      }
    },
  );

  test.concurrent(
    'DescribeTasks fails for 15 s during a migration: the migration is never stopped, its outputs are written',
    async () => {
      const { sim, run } = await migrate({
        tag: 'migrate-long-1',
        change: (s) => {
          // A migration that runs 25 s of the action's time, with the default one-off's lines.
          s.images = {
            '*:migrate-long-*': {
              oneOff: { durationMs: actionSeconds(25), exitCode: 0, logLines: MIGRATION_LINES },
            },
            ...s.images,
          };
        },
        // From the second DescribeTasks on (the task is running), every one answers 500 for 15 s.
        faults: [
          { service: 'ecs', operation: 'DescribeTasks', kind: 'http500', after: 1, forMs: actionSeconds(15) },
        ],
      });
      try {
        const v = new Verdict(
          ACTION,
          'DescribeTasks answers HTTP 500 for 15 s while the migration runs (longer than the SDK retries)',
          'exit 0; no StopTask; the one task ran to its end (exit 0); task-arn and exit-code outputs written',
        ).inClass('outages');
        const hit = sim.calls().filter((c) => c.fault).length;
        v.check(hit >= 3, `${hit} faulted calls`);
        v.check(run.exitCode === 0, `${exitDescribe(run)}${run.exitCode ? `: ${errorText(run)}` : ''}`);
        const stops = callsOf(sim, 'StopTask').filter((c) => c.status === 200);
        v.check(stops.length === 0, `StopTask ×${stops.length}`);
        const started = oneOffTasksStarted(sim);
        v.check(started.length === 1, `${started.length} migration task(s) started`);
        const task = started[0];
        const ended =
          task?.lastStatus === 'STOPPED' &&
          task.stopCode === 'EssentialContainerExited' &&
          task.containers.every((c) => c.exitCode === 0);
        v.check(
          !!ended,
          ended
            ? 'the task ran to its end, exit 0'
            : `the task is ${task?.lastStatus} (${task?.stoppedReason ?? 'no reason'})`,
        );
        v.check(
          !!task && run.outputs['task-arn'] === task.arn,
          `output task-arn=${run.outputs['task-arn'] ? 'the task' : '(missing)'}`,
        );
        v.check(
          run.outputs['exit-code'] === '0',
          `output exit-code=${run.outputs['exit-code'] ?? '(missing)'}`,
        );
        v.finish(run);
      } finally {
        await sim.close();
      }
    },
    120_000,
  );

  test.concurrent('migration exits 1: fails with the code and last lines, task stopped', async () => {
    const { sim, run } = await migrate({ tag: 'migrate-fail-1' });
    try {
      const v = new Verdict(
        ACTION,
        'migration exits 1',
        'exit 1 naming exit code 1 and the last log line; no task left running',
      );
      v.check(run.exitCode === 1, exitDescribe(run));
      v.check(run.outputs['exit-code'] === '1', `output exit-code=${run.outputs['exit-code']}`);
      v.check(
        /code 1/.test(run.log) && run.log.includes('Migration failed: 20250115_add_orders'),
        `message: ${errorText(run, 90)}`,
      );
      const alive = oneOffTasksAlive(sim);
      v.check(alive.length === 0, `${alive.length} migration tasks left running`);
      v.check(secretsIn(run.log).length === 0, 'no secret in the log');
      v.finish(run);
    } finally {
      await sim.close();
    }
  });

  test.concurrent('migration hangs past its timeout: StopTask with a reason, task STOPPED', async () => {
    const { sim, run } = await migrate({ tag: 'migrate-slow-1', extra: { 'timeout-seconds': '3' } });
    try {
      const v = new Verdict(
        ACTION,
        'migration hangs past timeout-seconds',
        'exit 1 saying timed out; StopTask with a reason naming the timeout; no task left running',
      );
      v.check(run.exitCode === 1, exitDescribe(run));
      v.check(/timed out/.test(errorText(run, 400)), `message: ${errorText(run, 90)}`);
      const stops = callsOf(sim, 'StopTask').filter((c) => c.status === 200);
      const reason = String(stops[0]?.params.reason ?? '');
      v.check(stops.length === 1 && /timed out/.test(reason), `StopTask ×${stops.length} reason "${reason}"`);
      const alive = oneOffTasksAlive(sim);
      v.check(alive.length === 0, `${alive.length} migration tasks left running`);
      v.finish(run);
    } finally {
      await sim.close();
    }
  });

  test.concurrent('timeout while StopTask is throttled: still stopped', async () => {
    const { sim, run } = await migrate({
      tag: 'migrate-slow-2',
      extra: { 'timeout-seconds': '3' },
      faults: [{ service: 'ecs', operation: 'StopTask', kind: 'throttle', count: 2 }],
    });
    try {
      const v = new Verdict(
        ACTION,
        'timeout, StopTask throttled twice',
        'exit 1; StopTask retried until accepted; no task left running',
      );
      v.check(run.exitCode === 1, exitDescribe(run));
      const stops = callsOf(sim, 'StopTask');
      v.check(
        stops.some((c) => c.status === 200),
        `StopTask calls: ${stops.map((c) => c.status).join(',')}`,
      );
      const alive = oneOffTasksAlive(sim);
      v.check(alive.length === 0, `${alive.length} migration tasks left running`);
      v.finish(run);
    } finally {
      await sim.close();
    }
  });

  test.concurrent('image cannot be pulled: CannotPullContainerError, no task left', async () => {
    const { sim, run } = await migrate({ tag: 'nopull-1' });
    try {
      const v = new Verdict(
        ACTION,
        'task fails to pull its image',
        'exit 1 naming CannotPullContainerError; exit-code empty; no task left running',
      );
      v.check(run.exitCode === 1, exitDescribe(run));
      v.check(run.log.includes('CannotPullContainerError'), `message: ${errorText(run, 90)}`);
      v.check(run.outputs['exit-code'] === '', `output exit-code="${run.outputs['exit-code']}"`);
      const alive = oneOffTasksAlive(sim);
      v.check(alive.length === 0, `${alive.length} migration tasks left running`);
      v.finish(run);
    } finally {
      await sim.close();
    }
  });

  test.concurrent('RunTask placement failure: fails with the reason, nothing started', async () => {
    const { sim, run } = await migrate({
      extra: {
        'network-from-service': '',
        subnets: UNAVAILABLE_SUBNET,
        'security-groups': TASK_SECURITY_GROUPS.join(','),
      },
    });
    try {
      const v = new Verdict(
        ACTION,
        'RunTask answers failures[] (no capacity)',
        'exit 1 with the failure reason; no task started',
      );
      v.check(run.exitCode === 1, exitDescribe(run));
      v.check(
        /RunTask did not start.*Capacity is unavailable/.test(run.log),
        `message: ${errorText(run, 110)}`,
      );
      const tasks = oneOffTasksAlive(sim).length;
      v.check(tasks === 0, `${tasks} migration tasks running`);
      v.finish(run);
    } finally {
      await sim.close();
    }
  });

  test.concurrent(
    'SIGINT mid-run: StopTask with the cancellation reason, task STOPPED, exit non-zero',
    async () => {
      const { sim, run } = await migrate({
        tag: 'migrate-slow-3',
        run: { signal: { name: 'SIGINT', when: /Started task/ } },
      });
      try {
        const v = new Verdict(
          ACTION,
          'cancelled (SIGINT) while the task runs',
          'exit non-zero; StopTask with a reason naming the cancellation; no task left running',
        );
        v.check(run.exitCode !== 0, exitDescribe(run));
        const stops = callsOf(sim, 'StopTask').filter((c) => c.status === 200);
        const reason = String(stops[0]?.params.reason ?? '');
        v.check(stops.length >= 1 && /cancel/i.test(reason), `StopTask ×${stops.length} reason "${reason}"`);
        const alive = oneOffTasksAlive(sim);
        v.check(alive.length === 0, `${alive.length} migration tasks left running`);
        v.check(secretsIn(run.log).length === 0, 'no secret in the log');
        v.finish(run);
      } finally {
        await sim.close();
      }
    },
  );
});
