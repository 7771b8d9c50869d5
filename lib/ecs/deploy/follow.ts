/**
 * Step "follow": wait for every started rollout together, then write each
 * outcome into its service's report.
 */
import type { DeploymentStatus } from '../../contracts/deployments.js';
import { followRollouts, type RolloutResult, type WaitFor } from '../rollout.js';
import { followTrafficShifts, readStrategies, trafficShiftOf } from '../strategies/traffic-shift.js';
import type { DeployRun, StartedService } from './run.js';

/**
 * Follows the started rollouts (none when one failed to start: the run fails
 * and rolls back anyway). With stopOnFirstFailure, the first failure ends the wait.
 */
export async function followDeployRollouts(
  run: DeployRun,
  started: readonly StartedService[],
  stopOnFirstFailure: boolean,
): Promise<void> {
  const startFailed = started.some((s) => s.report.status === 'failed');
  let results: RolloutResult[] = [];
  if (started.some((s) => s.target) && !startFailed) {
    // Strategy branch: BLUE_GREEN, LINEAR and CANARY services are followed by their service deployment
    // (strategies/traffic-shift.ts); ROLLING ones by the follow loop, as always.
    await readStrategies(run, started);
    const shifting = started.filter((s) => s.target && trafficShiftOf(s));
    const targets = started.filter((s) => s.target && !trafficShiftOf(s)).map((s) => s.target!);
    const names = [...targets.map((t) => t.service), ...shifting.map((s) => s.report.service)];
    results = await run.log.group(
      `Wait until ${names.join(', ')} ${run.follow.waitFor === 'steady' ? 'are steady' : 'run healthy'}${shifting.length ? ` (${shifting.map((s) => s.report.service).join(', ')}: ${shiftGoal(run.follow.waitFor)})` : ''}`,
      async () =>
        (
          await Promise.all([
            targets.length
              ? followRollouts(run.clients, targets, { ...run.follow, label: 'deploy', stopOnFirstFailure })
              : [],
            shifting.length ? followTrafficShifts(run, shifting, stopOnFirstFailure) : [],
          ])
        ).flat(),
    );
  }
  recordRolloutResults(started, results);
}

/** What a traffic-shift service is followed to. */
function shiftGoal(waitFor: WaitFor): string {
  return waitFor === 'test-traffic'
    ? 'green on the test listener, held at POST_TEST_TRAFFIC_SHIFT by the release gate or further'
    : 'their service deployment SUCCESSFUL';
}

/** Each followed service's status, reason and timings from its rollout's result. */
function recordRolloutResults(started: readonly StartedService[], results: readonly RolloutResult[]): void {
  const byService = new Map(results.map((r) => [r.service, r]));
  for (const s of started) {
    const r = byService.get(s.report.service);
    if (!s.target) continue;
    if (!r) {
      // Another service failed to start: this one was never followed.
      s.report.status = 'aborted';
      s.report.reason = 'not followed: another service failed to start';
      continue;
    }
    s.report.finishedAt = new Date(r.finishedAt).toISOString();
    s.report.durationMs = r.finishedAt - s.startedAtMs;
    if (r.ok) {
      s.report.status = 'deployed';
      s.report.finalTaskDefinition = r.taskDefinition;
      continue;
    }
    s.report.status = failedStatus(r);
    s.report.reason = r.failure?.reason ?? r.state;
    if (r.failure) s.failureKind = r.failure.kind;
  }
}

function failedStatus(r: RolloutResult): DeploymentStatus {
  switch (r.failure?.kind) {
    case 'timeout':
      return 'timed-out';
    case 'cancelled':
      return 'cancelled';
    case 'aborted':
      return 'aborted';
    default:
      return 'failed';
  }
}
