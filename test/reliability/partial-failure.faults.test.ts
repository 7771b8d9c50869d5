/**
 * Fault matrix, deploy-services under partial failure (issue #17): kills and
 * reruns, outages longer than the SDK's retries, cancellation under
 * throttling, two releases at once, whose deployment is ours, and late
 * crashes. Each is judged from the simulator's state and call log: no wrong success (an exit 0 means the
 * simulator shows the release healthy), no lost release (every service ends
 * on one consistent side, and a rollback job has what it needs), outputs
 * written on every exit path.
 */
import { describe, test } from '@jest/globals';
import { runAction, type ActionRun } from '../e2e/run-action.js';
import {
  CANCEL_GRACE_MS,
  CLUSTER,
  SERVICES,
  Verdict,
  actionSeconds,
  callsOf,
  cluster,
  consistentOutcome,
  deploymentsOutput,
  describeRevisions,
  errorText,
  exitDescribe,
  healthyOn,
  images,
  primaryRevisions,
  runActionCancelled,
  runningRevisions,
  secretsIn,
  shortTd,
  simEnv,
  startStaging,
} from './harness.js';
import { ACTION, deploy, withExtraImages } from './deploy-run.js';

/** Two runs, a 20 s outage, a bake and a rollback each take real time; the jest default (60 s) is too short under load. */
const SCENARIO_TIMEOUT_MS = 180_000;

const BASE_INPUTS = { cluster: CLUSTER, services: SERVICES.join('\n'), 'timeout-seconds': '60' };

/** Outputs a rollback job can act on: a `deployments` entry for every service, with the revision it ran before. */
function outputsWritten(v: Verdict, run: ActionRun, what = 'deployments output'): void {
  const out = deploymentsOutput(run);
  const complete = !!out && SERVICES.every((s) => !!out[s]?.previousTaskDefinition);
  v.check(
    complete,
    complete
      ? `${what}: all four services with their previous revision`
      : `${what}: ${out ? `services ${Object.keys(out).join(', ') || 'none'}` : 'missing'}`,
  );
  v.check(run.summary.trim().length > 0, run.summary.trim() ? 'summary written' : 'no summary');
}

/**
 * A release refused because another one's deployment was in progress changed nothing: no `deployments` output
 * is its truthful answer (an output would hand a rollback job the other release's revisions); it fails, names
 * the deployment in its way, and still writes a summary.
 */
function refusedBeforeAnyChange(v: Verdict, run: ActionRun, what: string): void {
  v.check(run.exitCode === 1, `${what} refused: ${exitDescribe(run)}`);
  v.check(
    !deploymentsOutput(run),
    `${what}: ${deploymentsOutput(run) ? 'a deployments output' : 'no deployments output'}`,
  );
  v.check(/deployment ecs-svc\/\S+ of alva-\w+:\d+/.test(run.log), `${what} names the deployment in its way`);
  v.check(run.summary.trim().length > 0, run.summary.trim() ? 'summary written' : 'no summary');
}

/** Statuses the run reported per service ("unchanged" must not be said of an unfinished deployment). */
function reported(run: ActionRun): string {
  const out = deploymentsOutput(run);
  return out
    ? SERVICES.map((s) => `${s.replace(/^alva-/, '')}=${out[s]?.status ?? '?'}`).join(' ')
    : 'no deployments output';
}

function saidUnchanged(run: ActionRun): boolean {
  const out = deploymentsOutput(run);
  return !!out && Object.values(out).some((d) => d.status === 'unchanged');
}

describe('fault matrix: deploy-services under partial failure', () => {
  // ------------------------------------------------------------ kills and reruns

  test.concurrent(
    'rerun after a kill adopts the in-progress deployment: waits until healthy, never "unchanged"',
    async () => {
      const {
        sim,
        run: killed,
        before,
      } = await deploy({
        images: images('slow-v2'),
        run: { signal: { name: 'SIGKILL', when: /Wait until/ } },
      });
      try {
        const released = primaryRevisions(sim);
        const rerun = await runAction(ACTION, {
          inputs: { ...BASE_INPUTS, images: images('slow-v2') },
          env: simEnv(sim),
          timeoutMs: 120_000,
        });
        // Read at the moment the rerun ended: is what it reports true then?
        const healthyAtExit = healthyOn(sim, released);
        const v = new Verdict(
          ACTION,
          'deploy SIGKILLed mid-rollout, then rerun with the same images',
          'rerun adopts the four in-progress deployments: exit 0 only once every new task is healthy, no service "unchanged", no second deployment',
        ).inClass('kills and reruns');
        v.check(killed.signal === 'SIGKILL', `first run ${exitDescribe(killed)}`);
        // Written as each deployment started, so a rollback job can act even after a kill.
        outputsWritten(
          v,
          { ...killed, summary: killed.summary || '(a killed step writes no summary)' },
          'killed run deployments output',
        );
        v.check(
          SERVICES.every((s) => released[s] !== before[s]),
          `after the kill the services were moving to ${describeRevisions(released)}`,
        );
        v.check(
          rerun.exitCode === 0,
          `rerun ${exitDescribe(rerun)}${rerun.exitCode ? `: ${errorText(rerun)}` : ''}`,
        );
        v.check(!saidUnchanged(rerun), `rerun reported ${reported(rerun)}`);
        const notHealthy = SERVICES.filter((s) => !healthyAtExit[s]);
        v.check(
          notHealthy.length === 0,
          notHealthy.length
            ? `when the rerun ended, no healthy task of the new revision on ${notHealthy.join(', ')}`
            : 'when the rerun ended, every service had a healthy task of the new revision',
        );
        const outcome = consistentOutcome(sim, before, 'new');
        v.check(outcome.holds, outcome.observed);
        const started = sim.events().filter((e) => e.kind === 'deployment.started' && !e.detail.rollback);
        const perService = SERVICES.map((s) => started.filter((e) => e.detail.service === s).length - 1);
        v.check(
          perService.every((n) => n === 1),
          `deployments started per service across both runs: ${perService.join(', ')}`,
        );
        v.check(secretsIn(rerun.log + killed.log).length === 0, 'no secret in the logs');
        v.finish(rerun);
      } finally {
        await sim.close();
      }
    },
    SCENARIO_TIMEOUT_MS,
  );

  test.concurrent(
    'rerun after a failed run with rollback-on-failure false judges the failing deployment as its own',
    async () => {
      const noBreaker = images('v2', { auth: 'crashfast-v2' });
      const {
        sim,
        run: first,
        before,
      } = await deploy({
        images: noBreaker,
        inputs: { 'timeout-seconds': '6', 'rollback-on-failure': 'false' },
        change: (s) => {
          for (const svc of s.services ?? [])
            svc.deploymentConfiguration = {
              ...svc.deploymentConfiguration,
              deploymentCircuitBreaker: { enable: false, rollback: false },
            };
        },
      });
      try {
        const left = primaryRevisions(sim);
        const rerun = await runAction(ACTION, {
          inputs: { ...BASE_INPUTS, images: noBreaker, 'timeout-seconds': '6' },
          env: simEnv(sim),
          timeoutMs: 120_000,
        });
        const v = new Verdict(
          ACTION,
          'alva-auth crash-looping (no breaker) after a run with rollback-on-failure false; rerun with the same images',
          'rerun exits 1 naming alva-auth, never calls it "unchanged", and puts alva-auth back on the revision before the failed one',
        ).inClass('kills and reruns');
        v.check(first.exitCode === 1, `first run ${exitDescribe(first)}; left auth on ${left['alva-auth']}`);
        v.check(rerun.exitCode === 1, `rerun ${exitDescribe(rerun)}`);
        v.check(/alva-auth/.test(errorText(rerun, 600)), `message: ${errorText(rerun, 90)}`);
        const out = deploymentsOutput(rerun);
        v.check(out?.['alva-auth']?.status !== 'unchanged', `rerun reported ${reported(rerun)}`);
        const auth = primaryRevisions(sim, ['alva-auth'])['alva-auth'];
        v.check(
          auth === before['alva-auth'],
          `alva-auth is on ${auth} (before the release: ${before['alva-auth']})`,
        );
        const crashing = runningRevisions(sim, ['alva-auth'])['alva-auth']!.filter(
          (r) => r !== before['alva-auth'],
        );
        v.check(
          crashing.length === 0,
          crashing.length
            ? `tasks of ${crashing.join(', ')} still running`
            : 'no task of the crashing revision left',
        );
        outputsWritten(v, rerun);
        v.finish(rerun);
      } finally {
        await sim.close();
      }
    },
    SCENARIO_TIMEOUT_MS,
  );

  // ------------------------------------------------------------ outages

  test.concurrent(
    'DescribeServices fails for 20 s mid-rollout of a good release: keeps following, all four deployed',
    async () => {
      const { sim, run, before, midRun } = await deploy({
        images: images('slow-v2'),
        midRun: async (s) => {
          s.addFaults({
            service: 'ecs',
            operation: 'DescribeServices',
            kind: 'http500',
            forMs: actionSeconds(20),
          });
          return 'DescribeServices answers 500 for 20 s from the next call';
        },
      });
      try {
        const v = new Verdict(
          ACTION,
          'DescribeServices answers HTTP 500 for 20 s mid-rollout (longer than the SDK retries)',
          'exit 0; all four on the new revision and healthy; deployments output and summary written',
        ).inClass('outages');
        const hit = sim.calls().filter((c) => c.fault).length;
        v.check(hit >= 3, `${midRun}; ${hit} faulted calls`);
        v.check(run.exitCode === 0, `${exitDescribe(run)}${run.exitCode ? `: ${errorText(run)}` : ''}`);
        const outcome = consistentOutcome(sim, before, 'new');
        v.check(outcome.holds, outcome.observed);
        outputsWritten(v, run);
        v.finish(run);
      } finally {
        await sim.close();
      }
    },
    SCENARIO_TIMEOUT_MS,
  );

  test.concurrent(
    'DescribeServices fails for 20 s while a release fails: rolls all four back, outputs written',
    async () => {
      const { sim, run, before, midRun } = await deploy({
        images: images('v2', { api: 'unhealthy-v2' }),
        inputs: { 'timeout-seconds': '30' },
        change: (s) => {
          for (const svc of s.services ?? [])
            svc.deploymentConfiguration = {
              ...svc.deploymentConfiguration,
              deploymentCircuitBreaker: { enable: false, rollback: false },
            };
        },
        midRun: async (s) => {
          s.addFaults({
            service: 'ecs',
            operation: 'DescribeServices',
            kind: 'http500',
            forMs: actionSeconds(20),
          });
          return 'DescribeServices answers 500 for 20 s from the next call';
        },
      });
      try {
        const v = new Verdict(
          ACTION,
          'alva-api unhealthy (no breaker, timeout 30 s) while DescribeServices answers 500 for 20 s',
          'exit 1 naming alva-api; all four back on the previous revision; deployments output and summary written',
        ).inClass('outages');
        const hit = sim.calls().filter((c) => c.fault).length;
        v.check(hit >= 3, `${midRun}; ${hit} faulted calls`);
        v.check(run.exitCode === 1, exitDescribe(run));
        v.check(/alva-api/.test(errorText(run, 600)), `message: ${errorText(run, 90)}`);
        const outcome = consistentOutcome(sim, before, 'previous');
        v.check(outcome.holds, outcome.observed);
        outputsWritten(v, run);
        v.finish(run);
      } finally {
        await sim.close();
      }
    },
    SCENARIO_TIMEOUT_MS,
  );

  // ------------------------------------------------------------ cancellation

  test.concurrent(
    'cancelled (SIGINT, SIGTERM, SIGKILL at 10 s) while UpdateService and DescribeServices are throttled: rolled back within the grace',
    async () => {
      const sim = await startStaging((s) => {
        s.faults = [];
        withExtraImages(s);
      });
      try {
        const before = primaryRevisions(sim);
        let cancelSeq = 0;
        const run = await runActionCancelled(ACTION, {
          inputs: { ...BASE_INPUTS, images: images('slow-v2') },
          env: simEnv(sim),
          when: /Wait until/,
          onCancel: () => {
            cancelSeq = sim.calls().at(-1)?.seq ?? 0;
            sim.addFaults([
              { service: 'ecs', operation: 'UpdateService', kind: 'throttle', forMs: actionSeconds(3) },
              { service: 'ecs', operation: 'DescribeServices', kind: 'throttle', forMs: actionSeconds(60) },
            ]);
          },
        });
        const v = new Verdict(
          ACTION,
          'cancelled as GitHub cancels (SIGINT, SIGTERM 7.5 s, SIGKILL 10 s) mid-rollout; UpdateService throttled 3 s, DescribeServices throttled throughout',
          'every rollback UpdateService accepted before the SIGKILL deadline; all four on the previous revision; exits by itself; deployments output and summary written',
        ).inClass('cancellation under throttling');
        v.check(
          run.cancelledAt !== undefined,
          run.cancelledAt ? 'SIGINT sent mid-rollout' : 'never cancelled',
        );
        const deadline = (run.cancelledAt ?? 0) + CANCEL_GRACE_MS;
        const rollbacks = callsOf(sim, 'UpdateService', cancelSeq).filter(
          (c) => c.status === 200 && c.realMs <= deadline,
        );
        const rolledBack = SERVICES.filter((s) =>
          rollbacks.some(
            (c) => String(c.params.service) === s && shortTd(String(c.params.taskDefinition)) === before[s],
          ),
        );
        v.check(
          rolledBack.length === SERVICES.length,
          `rollback UpdateService accepted within the grace for ${rolledBack.length ? rolledBack.join(', ') : 'none'}`,
        );
        v.check(
          run.signal !== 'SIGKILL',
          run.signal === 'SIGKILL' ? 'killed by SIGKILL at the deadline' : `${exitDescribe(run)} by itself`,
        );
        const outcome = consistentOutcome(sim, before, 'previous');
        v.check(outcome.holds, outcome.observed);
        outputsWritten(v, run);
        v.finish(run);
      } finally {
        await sim.close();
      }
    },
    SCENARIO_TIMEOUT_MS,
  );

  // ------------------------------------------------------------ two releases at once

  test.concurrent(
    'two releases at once on the same four services: neither reports a wrong success, production consistent and reported truthfully',
    async () => {
      const sim = await startStaging((s) => {
        s.faults = [];
        withExtraImages(s);
      });
      try {
        const before = primaryRevisions(sim);
        const release = (tag: string) =>
          runAction(ACTION, {
            inputs: { ...BASE_INPUTS, images: images(tag) },
            env: simEnv(sim),
            timeoutMs: 120_000,
          });
        const [a, b] = await Promise.all([release('slow-v2'), release('slow-v3')]);
        const v = new Verdict(
          ACTION,
          'two deploy-services runs at once on the same four services (slow-v2 and slow-v3)',
          'a run that exits 0 has all four on its images; if neither does, all four on the previous revision; never mixed; each run says where every service stands',
        ).inClass('concurrent releases');
        const now = primaryRevisions(sim);
        // Which release each service's PRIMARY belongs to: the image tag its tasks run, from the simulator.
        const tasks = cluster(sim).tasks;
        const tagOf = (service: string): string => {
          if (now[service] === before[service]) return 'previous';
          const task = tasks.find((t) => t.service === service && shortTd(t.taskDefinition) === now[service]);
          const tag = task?.containers[0]?.image.split(':').pop();
          return tag === 'slow-v2' ? 'v2' : tag === 'slow-v3' ? 'v3' : `unknown (${now[service]})`;
        };
        const sides = SERVICES.map(tagOf);
        const side = new Set(sides).size === 1 ? sides[0]! : 'MIXED';
        v.check(
          side !== 'MIXED',
          `production: ${SERVICES.map((s, i) => `${s.replace(/^alva-/, '')}=${sides[i]}`).join(' ')}`,
        );
        v.check(a.exitCode !== 0 || side === 'v2', `release v2 ${exitDescribe(a)}`);
        v.check(b.exitCode !== 0 || side === 'v3', `release v3 ${exitDescribe(b)}`);
        v.check(
          a.exitCode === 0 || b.exitCode === 0 || side === 'previous',
          a.exitCode === 0 || b.exitCode === 0
            ? 'one release reports success'
            : `both failed while production is on ${side}`,
        );
        v.check(!(a.exitCode === 0 && b.exitCode === 0), 'not both report success');
        for (const [run, name] of [
          [a, 'release v2'],
          [b, 'release v3'],
        ] as const) {
          if (/Refused before any change/.test(run.log)) refusedBeforeAnyChange(v, run, name);
          else outputsWritten(v, run, `${name} deployments output`);
        }
        v.finish(a.exitCode === 0 ? b : a);
      } finally {
        await sim.close();
      }
    },
    SCENARIO_TIMEOUT_MS,
  );

  // ------------------------------------------------------------ whose deployment

  test.concurrent(
    'a deployment created just before ours is not taken for ours: wait-for steady ends only once our deployment is COMPLETED',
    async () => {
      // Real speed, so the scenario's own deployments (created at load) are less than a
      // second older than this run's UpdateService; quick phases keep the rollout short.
      const sim = await startStaging((s) => {
        s.faults = [];
        s.timing = { ...s.timing, provisionMs: 1000, pullMs: 1000, registrationMs: 500, stopMs: 500 };
        for (const tg of s.targetGroups ?? []) tg.deregistrationDelaySeconds = 2;
      }, 1);
      try {
        const before = primaryRevisions(sim);
        const run = await runAction(ACTION, {
          inputs: { ...BASE_INPUTS, images: images('v2'), 'wait-for': 'steady' },
          env: simEnv(sim),
          timeoutMs: 120_000,
        });
        // Read at the moment the run ended.
        const services = cluster(sim).services.filter((x) => SERVICES.includes(x.name));
        const v = new Verdict(
          ACTION,
          'wait-for steady right after the services were created (their deployments less than 1 s older than ours)',
          'exit 0 only when, in the simulator, every service has one deployment, ours, COMPLETED on the new revision',
        ).inClass('whose deployment');
        v.check(run.exitCode === 0, `${exitDescribe(run)}${run.exitCode ? `: ${errorText(run)}` : ''}`);
        const notDone = services.filter(
          (x) =>
            x.deployments.length !== 1 ||
            x.deployments[0]!.rolloutState !== 'COMPLETED' ||
            shortTd(x.deployments[0]!.taskDefinition) === before[x.name],
        );
        v.check(
          notDone.length === 0,
          notDone.length
            ? `when the run ended: ${notDone
                .map(
                  (x) =>
                    `${x.name} ${x.deployments.map((d) => `${shortTd(d.taskDefinition)} ${d.rolloutState ?? d.status}`).join(' + ')}`,
                )
                .join('; ')}`
            : 'when the run ended, every service had only its new deployment, COMPLETED',
        );
        outputsWritten(v, run);
        v.finish(run);
      } finally {
        await sim.close();
      }
    },
    SCENARIO_TIMEOUT_MS,
  );

  // ------------------------------------------------------------ late crashes

  test.concurrent(
    'a revision that crashes 30 s after turning healthy fails the bake and is rolled back',
    async () => {
      const { sim, run, before } = await deploy({
        images: images('v2', { auth: 'latecrash-v2' }),
        inputs: { 'bake-seconds': '10' },
      });
      try {
        const v = new Verdict(
          ACTION,
          'alva-auth healthy, then its container exits 1 thirty seconds later; bake-seconds 10',
          "exit 1 naming alva-auth with the stopped task's exit code and last log line; all four back on the previous revision",
        ).inClass('late crashes');
        const crashed = sim
          .events()
          .filter((e) => e.kind === 'container.exited' && e.detail.service === 'alva-auth').length;
        v.check(crashed > 0, `${crashed} late crashes of alva-auth in the simulator`);
        v.check(run.exitCode === 1, exitDescribe(run));
        const err = errorText(run, 600);
        v.check(/alva-auth/.test(err), `message: ${errorText(run, 90)}`);
        v.check(
          /exit code 1/.test(run.log) && run.log.includes('Process exiting with code 1'),
          /exit code 1/.test(run.log) && run.log.includes('Process exiting with code 1')
            ? "log shows exit code 1 and the container's last line"
            : "log lacks the exit code or the container's last line",
        );
        const outcome = consistentOutcome(sim, before, 'previous');
        v.check(outcome.holds, outcome.observed);
        outputsWritten(v, run);
        v.finish(run);
      } finally {
        await sim.close();
      }
    },
    SCENARIO_TIMEOUT_MS,
  );

  test.concurrent(
    'a good release with bake-seconds passes the bake: all four deployed',
    async () => {
      const { sim, run, before } = await deploy({ inputs: { 'bake-seconds': '5' } });
      try {
        const v = new Verdict(
          ACTION,
          'a good release with bake-seconds 5',
          'exit 0; all four on the new revision and healthy',
        ).inClass('late crashes');
        v.check(run.exitCode === 0, `${exitDescribe(run)}${run.exitCode ? `: ${errorText(run)}` : ''}`);
        const outcome = consistentOutcome(sim, before, 'new');
        v.check(outcome.holds, outcome.observed);
        const healthy = healthyOn(sim, primaryRevisions(sim));
        v.check(
          SERVICES.every((s) => healthy[s]),
          `healthy on the new revision: ${SERVICES.filter((s) => healthy[s]).length} of 4`,
        );
        outputsWritten(v, run);
        v.finish(run);
      } finally {
        await sim.close();
      }
    },
    SCENARIO_TIMEOUT_MS,
  );
});
