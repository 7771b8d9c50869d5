/**
 * Step "explain failures": for each service that failed or timed out, the
 * service events, stopped tasks and last log lines that say why; or, when the
 * run was cancelled, where each service stands.
 */
import { explainFailure } from '../explain.js';
import type { DeployRun, StartedService } from './run.js';

export async function explainFailures(run: DeployRun, started: readonly StartedService[]): Promise<void> {
  const { clients, cluster, log, signal } = run;
  // AWS could not be read until the deadline: reading more would only delay the rollback.
  const failed = started.filter(
    (s) => ['failed', 'timed-out'].includes(s.report.status) && s.failureKind !== 'unobservable',
  );
  if (!failed.length) return;
  await log.group('Why it failed', async () => {
    await Promise.all(
      failed.map(async (s) => {
        if (!s.target) return;
        s.report.details = await explainFailure(clients, {
          cluster,
          service: s.report.service,
          taskDefinition: s.report.taskDefinition,
          ...(s.target.deploymentCreatedAt ? { since: s.target.deploymentCreatedAt } : {}),
          ...(signal ? { signal } : {}),
        });
      }),
    );
    for (const s of failed) {
      log.error(`${s.report.service}: ${s.report.reason}`, { title: s.report.service });
      for (const line of s.report.details ?? []) log.info(`  ${line}`);
    }
  });
}

/** Cancelled: no explanation, only where each service stands. */
export function reportCancelled(run: DeployRun, started: readonly StartedService[]): void {
  run.log.warning('Cancelled. Where each service stands:');
  for (const s of started) {
    run.log.warning(
      `  ${s.report.service}: ${s.report.status}${s.report.reason ? ` (${s.report.reason})` : ''}`,
    );
  }
}
