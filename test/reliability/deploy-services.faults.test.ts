/**
 * Fault matrix, deploy-services: dist/deploy-services/index.js deploying the
 * four staging services against the simulator under throttling, 5xx bursts
 * and dropped connections on every kind of call, failing images, a crash loop
 * with no circuit breaker, someone else's deployment, a deleted service and
 * cancellation. "Nothing lost" is read from the simulator: every service's
 * PRIMARY deployment (and its running tasks) all on the new revision or all
 * on the previous one, never mixed; no double registration or update.
 */
import { describe, test } from '@jest/globals';
import type { Sim } from '../../sim/index.js';
import type { FaultSpec } from '../../sim/scenario.js';
import { runAction, type ActionRun } from '../e2e/run-action.js';
import {
  CLUSTER,
  DeleteServiceCommand,
  SERVICES,
  UpdateServiceCommand,
  Verdict,
  consistentOutcome,
  describeRevisions,
  exitDescribe,
  errorText,
  images,
  otherOperator,
  primaryRevisions,
  runningRevisions,
  secretsIn,
  simEnv,
  startStaging,
} from './harness.js';
import { ACTION, acceptedCount, deploy, withExtraImages } from './deploy-run.js';

/** Facts every deploy scenario checks, whatever its outcome. */
function commonChecks(v: Verdict, sim: Sim, run: ActionRun): void {
  v.check(secretsIn(run.log).length === 0, 'no secret in the log');
  const registered = acceptedCount(sim, 'RegisterTaskDefinition');
  v.check(registered <= SERVICES.length, `${registered} revisions registered`);
}

const survivable: { name: string; faults: FaultSpec[] }[] = [
  {
    name: 'throttling burst on DescribeServices while polling',
    faults: [{ service: 'ecs', operation: 'DescribeServices', kind: 'throttle', after: 1, count: 5 }],
  },
  {
    name: 'HTTP 500 burst on DescribeServices while polling',
    faults: [{ service: 'ecs', operation: 'DescribeServices', kind: 'http500', after: 1, count: 3 }],
  },
  {
    name: 'connection dropped mid-poll (DescribeServices reset)',
    faults: [{ service: 'ecs', operation: 'DescribeServices', kind: 'reset', after: 1, count: 2 }],
  },
  {
    name: 'an UpdateService carried out but its reply lost (the SDK retries it)',
    faults: [{ service: 'ecs', operation: 'UpdateService', kind: 'lost', count: 1 }],
  },
  {
    name: 'throttling burst on UpdateService',
    faults: [{ service: 'ecs', operation: 'UpdateService', kind: 'throttle', count: 4 }],
  },
  {
    name: 'HTTP 500 burst on UpdateService',
    faults: [{ service: 'ecs', operation: 'UpdateService', kind: 'http500', count: 2 }],
  },
  {
    name: 'throttling burst on RegisterTaskDefinition',
    faults: [{ service: 'ecs', operation: 'RegisterTaskDefinition', kind: 'throttle', count: 4 }],
  },
  {
    name: 'HTTP 500 burst on RegisterTaskDefinition',
    faults: [{ service: 'ecs', operation: 'RegisterTaskDefinition', kind: 'http500', count: 2 }],
  },
  {
    name: 'throttling and HTTP 500 on DescribeTaskDefinition',
    faults: [
      { service: 'ecs', operation: 'DescribeTaskDefinition', kind: 'throttle', count: 2 },
      { service: 'ecs', operation: 'DescribeTaskDefinition', kind: 'http500', after: 2, count: 2 },
    ],
  },
  {
    name: 'throttling burst on DescribeTargetHealth',
    faults: [{ service: 'elbv2', operation: 'DescribeTargetHealth', kind: 'throttle', count: 5 }],
  },
  {
    name: 'HTTP 500 burst and a dropped connection on DescribeTargetHealth',
    faults: [
      { service: 'elbv2', operation: 'DescribeTargetHealth', kind: 'http500', count: 2 },
      { service: 'elbv2', operation: 'DescribeTargetHealth', kind: 'reset', after: 2, count: 1 },
    ],
  },
  {
    name: 'throttling on ListTasks and HTTP 500 on DescribeTasks',
    faults: [
      { service: 'ecs', operation: 'ListTasks', kind: 'throttle', count: 3 },
      { service: 'ecs', operation: 'DescribeTasks', kind: 'http500', count: 2 },
    ],
  },
  {
    // The reads a good release makes (it reads the ServiceDeployment API only to name a failure:
    // that is the circuit-breaker row below), throttled together while polling.
    name: 'throttling on DescribeServices, DescribeTargetHealth and DescribeTasks together',
    faults: [
      { service: 'ecs', operation: 'DescribeServices', kind: 'throttle', after: 2, count: 3 },
      { service: 'elbv2', operation: 'DescribeTargetHealth', kind: 'throttle', count: 3 },
      { service: 'ecs', operation: 'DescribeTasks', kind: 'throttle', count: 2 },
    ],
  },
];

describe('fault matrix: deploy-services', () => {
  test.concurrent.each(survivable)('$name: all four end on the new revision', async ({ name, faults }) => {
    const { sim, run, before, eventsBefore } = await deploy({ faults });
    try {
      const v = new Verdict(
        ACTION,
        name,
        'exit 0; all four services on the new revision; one registration and one deployment per service',
      );
      v.check(run.exitCode === 0, `${exitDescribe(run)}${run.exitCode ? `: ${errorText(run)}` : ''}`);
      const hit = sim.calls().filter((c) => c.fault).length;
      v.check(hit > 0, `${hit} faulted calls`);
      const outcome = consistentOutcome(sim, before, 'new');
      v.check(outcome.holds, outcome.observed);
      const serving = runningRevisions(sim);
      const servingNew = SERVICES.every((s) => serving[s]!.length === 1 && serving[s]![0] !== before[s]);
      v.check(
        servingNew,
        servingNew ? 'running tasks all on the new revision' : `running tasks ${JSON.stringify(serving)}`,
      );
      // Judged from the simulator's deployments, not the replies: a retried UpdateService may
      // have been carried out twice, and must not have started a second deployment.
      const started = sim
        .events(eventsBefore)
        .filter((e) => e.kind === 'deployment.started' && !e.detail.rollback);
      const perService = SERVICES.map((s) => started.filter((e) => e.detail.service === s).length);
      v.check(
        perService.every((n) => n === 1),
        `deployments started per service: ${perService.join(', ')}`,
      );
      const registered = acceptedCount(sim, 'RegisterTaskDefinition');
      v.check(registered === SERVICES.length, `${registered} revisions registered`);
      v.check(secretsIn(run.log).length === 0, 'no secret in the log');
      v.finish(run);
    } finally {
      await sim.close();
    }
  });

  test.concurrent(
    'circuit breaker fires on one of four services: all four back on the previous revision',
    async () => {
      const { sim, run, before } = await deploy({ images: images('v2', { api: 'broken-v2' }) });
      try {
        const v = new Verdict(
          ACTION,
          'circuit breaker fires on alva-api (one of four)',
          'exit 1 naming alva-api, the exit code and the last log line; all four on the previous revision',
        );
        v.check(run.exitCode === 1, exitDescribe(run));
        const err = errorText(run, 400);
        v.check(/alva-api/.test(err), `message: ${errorText(run, 80)}`);
        v.check(
          /exit code 1/.test(run.log) && run.log.includes("Cannot find module '/app/dist/server.js'"),
          "log shows exit code 1 and the container's last lines",
        );
        const outcome = consistentOutcome(sim, before, 'previous');
        v.check(outcome.holds, outcome.observed);
        commonChecks(v, sim, run);
        v.finish(run);
      } finally {
        await sim.close();
      }
    },
  );

  test.concurrent('crash loop with no circuit breaker: the timeout catches it and rolls back', async () => {
    const { sim, run, before } = await deploy({
      images: images('v2', { auth: 'crashfast-v2' }),
      inputs: { 'timeout-seconds': '6' },
      change: (s) => {
        for (const svc of s.services ?? []) {
          svc.deploymentConfiguration = {
            ...svc.deploymentConfiguration,
            deploymentCircuitBreaker: { enable: false, rollback: false },
          };
        }
      },
    });
    try {
      const v = new Verdict(
        ACTION,
        'crash loop on alva-auth, circuit breaker off, timeout-seconds 6',
        'exit 1 naming alva-auth and the timeout; all four rolled back to the previous revision',
      );
      v.check(run.exitCode === 1, exitDescribe(run));
      v.check(
        /alva-auth/.test(errorText(run, 400)) && /time/i.test(errorText(run, 400)),
        `message: ${errorText(run, 90)}`,
      );
      const outcome = consistentOutcome(sim, before, 'previous');
      v.check(outcome.holds, outcome.observed);
      const serving = runningRevisions(sim);
      const servingOld = SERVICES.every((s) => serving[s]!.every((r) => r === before[s]));
      v.check(
        servingOld,
        servingOld ? 'no task of the crashing revision left running' : `running ${JSON.stringify(serving)}`,
      );
      commonChecks(v, sim, run);
      v.finish(run);
    } finally {
      await sim.close();
    }
  });

  test.concurrent('tasks fail to pull their image: CannotPullContainerError, all four back', async () => {
    const { sim, run, before } = await deploy({ images: images('v2', { web: 'nopull-v2' }) });
    try {
      const v = new Verdict(
        ACTION,
        'alva-web tasks cannot pull the image',
        'exit 1 naming alva-web and CannotPullContainerError; all four on the previous revision',
      );
      v.check(run.exitCode === 1, exitDescribe(run));
      v.check(
        /alva-web/.test(errorText(run, 400)) && run.log.includes('CannotPullContainerError'),
        `message: ${errorText(run, 90)}`,
      );
      const outcome = consistentOutcome(sim, before, 'previous');
      v.check(outcome.holds, outcome.observed);
      commonChecks(v, sim, run);
      v.finish(run);
    } finally {
      await sim.close();
    }
  });

  test.concurrent(
    'circuit breaker while UpdateService and DescribeServices are throttled during the rollback',
    async () => {
      const { sim, run, before } = await deploy({
        images: images('v2', { admin: 'broken-v2' }),
        faults: [
          { service: 'ecs', operation: 'UpdateService', kind: 'throttle', after: 4, count: 3 },
          { service: 'ecs', operation: 'DescribeServices', kind: 'http500', after: 6, count: 3 },
          { service: 'logs', operation: 'GetLogEvents', kind: 'http500', count: 10 },
        ],
      });
      try {
        const v = new Verdict(
          ACTION,
          'circuit breaker on alva-admin; rollback UpdateService throttled, DescribeServices 500s, GetLogEvents failing',
          'exit 1 naming alva-admin; all four on the previous revision',
        );
        v.check(run.exitCode === 1, exitDescribe(run));
        v.check(/alva-admin/.test(errorText(run, 400)), `message: ${errorText(run, 80)}`);
        const outcome = consistentOutcome(sim, before, 'previous');
        v.check(outcome.holds, outcome.observed);
        const hit = sim.calls().filter((c) => c.fault).length;
        v.check(hit > 0, `${hit} faulted calls`);
        commonChecks(v, sim, run);
        v.finish(run);
      } finally {
        await sim.close();
      }
    },
  );

  test.concurrent(
    'circuit breaker while ListServiceDeployments is throttled and DescribeServiceDeployments 500s',
    async () => {
      // A failing release reads the ServiceDeployment API to name the failure: its faults delay
      // the verdict, they do not change it.
      const { sim, run, before } = await deploy({
        images: images('v2', { api: 'broken-v2' }),
        faults: [
          { service: 'ecs', operation: 'ListServiceDeployments', kind: 'throttle', count: 3 },
          { service: 'ecs', operation: 'DescribeServiceDeployments', kind: 'http500', count: 2 },
        ],
      });
      try {
        const v = new Verdict(
          ACTION,
          'circuit breaker on alva-api; ListServiceDeployments throttled, DescribeServiceDeployments 500s',
          'exit 1 naming alva-api; all four on the previous revision; the faulted API was called',
        );
        v.check(run.exitCode === 1, exitDescribe(run));
        v.check(/alva-api/.test(errorText(run, 400)), `message: ${errorText(run, 80)}`);
        const outcome = consistentOutcome(sim, before, 'previous');
        v.check(outcome.holds, outcome.observed);
        const hit = sim.calls().filter((c) => c.fault && /ServiceDeployments$/.test(c.operation)).length;
        v.check(hit > 0, `${hit} faulted ServiceDeployment calls`);
        commonChecks(v, sim, run);
        v.finish(run);
      } finally {
        await sim.close();
      }
    },
  );

  test.concurrent('a deployment replaced by someone else mid-run: fails, all four consistent', async () => {
    const { sim, run, before, midRun } = await deploy({
      images: images('slow-v2'),
      midRun: async (s) => {
        const ecs = otherOperator(s);
        try {
          await ecs.send(
            new UpdateServiceCommand({
              cluster: CLUSTER,
              service: 'alva-auth',
              taskDefinition: 'alva-auth:1',
              forceNewDeployment: true,
            }),
          );
          return 'someone else sent UpdateService alva-auth → alva-auth:1 (force) mid-run';
        } finally {
          ecs.destroy();
        }
      },
    });
    try {
      const v = new Verdict(
        ACTION,
        'alva-auth deployment replaced by another UpdateService mid-run',
        'exit 1 naming alva-auth; all four on the previous revision (never mixed)',
      );
      v.check(midRun !== undefined && midRun.startsWith('someone else'), midRun ?? 'no mid-run action');
      v.check(run.exitCode === 1, exitDescribe(run));
      v.check(/alva-auth/.test(errorText(run, 600)), `message: ${errorText(run, 100)}`);
      const outcome = consistentOutcome(sim, before, 'previous');
      v.check(outcome.holds, outcome.observed);
      commonChecks(v, sim, run);
      v.finish(run);
    } finally {
      await sim.close();
    }
  });

  test.concurrent(
    'a service deleted mid-run: fails naming it, the other three back on the previous revision',
    async () => {
      const { sim, run, before, midRun } = await deploy({
        images: images('slow-v2'),
        midRun: async (s) => {
          const ecs = otherOperator(s);
          try {
            await ecs.send(
              new DeleteServiceCommand({ cluster: CLUSTER, service: 'alva-admin', force: true }),
            );
            return 'someone else sent DeleteService alva-admin (force) mid-run';
          } finally {
            ecs.destroy();
          }
        },
      });
      try {
        const v = new Verdict(
          ACTION,
          'alva-admin deleted (DeleteService) mid-run',
          'exit 1 naming alva-admin; web, api, auth on the previous revision',
        );
        v.check(midRun !== undefined && midRun.startsWith('someone else'), midRun ?? 'no mid-run action');
        v.check(run.exitCode === 1, exitDescribe(run));
        v.check(/alva-admin/.test(errorText(run, 600)), `message: ${errorText(run, 100)}`);
        const others = SERVICES.filter((s) => s !== 'alva-admin');
        const outcome = consistentOutcome(
          sim,
          Object.fromEntries(others.map((s) => [s, before[s]!])),
          'previous',
        );
        v.check(outcome.holds, outcome.observed);
        const admin = primaryRevisions(sim, ['alva-admin'])['alva-admin'];
        v.check(admin === 'DRAINING' || admin === 'INACTIVE', `alva-admin is ${admin}`);
        commonChecks(v, sim, run);
        v.finish(run);
      } finally {
        await sim.close();
      }
    },
  );

  test.concurrent(
    'SIGINT while the rollouts are in progress: rolls all four back, exits non-zero',
    async () => {
      const { sim, run, before } = await deploy({
        images: images('slow-v2'),
        run: { signal: { name: 'SIGINT', when: /Wait until/ } },
      });
      try {
        const v = new Verdict(
          ACTION,
          'cancelled (SIGINT) mid-rollout',
          'exit non-zero; all four on the previous revision',
        );
        v.check(run.exitCode !== 0, exitDescribe(run));
        const outcome = consistentOutcome(sim, before, 'previous');
        v.check(outcome.holds, outcome.observed);
        commonChecks(v, sim, run);
        v.finish(run);
      } finally {
        await sim.close();
      }
    },
  );

  test.concurrent(
    'rollback-to previous with faults added at run time: all four back on their previous revision',
    async () => {
      const sim = await startStaging((s) => {
        s.faults = [];
        withExtraImages(s);
      });
      try {
        const original = primaryRevisions(sim);
        const first = await runAction(ACTION, {
          inputs: {
            cluster: CLUSTER,
            services: SERVICES.join('\n'),
            images: images('v2'),
            'timeout-seconds': '60',
          },
          env: simEnv(sim),
          timeoutMs: 120_000,
        });
        const deployed = primaryRevisions(sim);
        sim.addFaults([
          { service: 'ecs', operation: 'UpdateService', kind: 'http500', count: 2 },
          { service: 'ecs', operation: 'DescribeServices', kind: 'throttle', count: 3 },
          { service: 'ecs', operation: 'DescribeTaskDefinition', kind: 'reset', count: 1 },
        ]);
        const run = await runAction(ACTION, {
          inputs: {
            cluster: CLUSTER,
            services: SERVICES.join('\n'),
            'rollback-to': 'previous',
            'timeout-seconds': '60',
          },
          env: simEnv(sim),
          timeoutMs: 120_000,
        });
        const v = new Verdict(
          ACTION,
          'rollback-to: previous while UpdateService 500s, DescribeServices throttles, a connection drops',
          'exit 0; all four on the revision they ran before the deploy',
        );
        v.check(first.exitCode === 0, `deploy ${exitDescribe(first)} (${describeRevisions(deployed)})`);
        v.check(
          run.exitCode === 0,
          `rollback ${exitDescribe(run)}${run.exitCode ? `: ${errorText(run)}` : ''}`,
        );
        const outcome = consistentOutcome(sim, original, 'previous');
        v.check(outcome.holds, outcome.observed);
        const hit = sim.calls().filter((c) => c.fault).length;
        v.check(hit > 0, `${hit} faulted calls`);
        v.check(secretsIn(run.log + first.log).length === 0, 'no secret in the logs');
        v.finish(run);
      } finally {
        await sim.close();
      }
    },
  );
});
