/**
 * Step "follow": wait for every started rollout together, then write each
 * outcome into its service's report.
 */
import type { DeploymentStatus } from '../../contracts/deployments.js';
import { followRollouts, type RolloutResult } from '../rollout.js';
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
  const targets = started.filter((s) => s.target).map((s) => s.target!);
  const startFailed = started.some((s) => s.report.status === 'failed');
  let results: RolloutResult[] = [];
  if (targets.length && !startFailed) {
    results = await run.log.group(
      `Wait until ${targets.map((t) => t.service).join(', ')} ${run.follow.waitFor === 'steady' ? 'are steady' : 'run healthy'}`,
      () => followRollouts(run.clients, targets, { ...run.follow, label: 'deploy', stopOnFirstFailure }),
    );
  }
  recordRolloutResults(started, results);
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
