/**
 * deploy-services: new task-definition revisions for the services' images (or
 * the revisions to roll back to), one deployment per service in parallel,
 * followed to the end; on failure every service this run changed goes back.
 */
import * as core from '@actions/core';
import { CancelledError, OperationError } from '../../../lib/errors.js';
import { consoleUrl } from '../../../lib/aws/config.js';
import { serializeDeployments, type DeployReport } from '../../../lib/contracts/deployments.js';
import { createEcsClients } from '../../../lib/ecs/clients.js';
import { executeDeploy, planImageDeploy, planRollbackTo } from '../../../lib/ecs/deploy.js';
import { shortTaskDefinition } from '../../../lib/ecs/taskdef.js';
import { formatDuration } from '../../../lib/time.js';
import { coreLog } from '../../_common/core-log.js';
import { runAction } from '../../_common/host.js';
import { jobSummary, link, pre } from '../../_common/summary.js';
import { getInputs, type Inputs } from './inputs.js';

export function run(): Promise<void> {
  return runAction({ subject: 'Deploy', onCancel: 'stopping the wait', main });
}

export async function main(signal: AbortSignal): Promise<void> {
  const inputs = getInputs();
  const clients = createEcsClients();
  const region = await clients.ecs.config.region();
  const clusterName = inputs.cluster.slice(inputs.cluster.lastIndexOf('/') + 1);
  const plan = await core.group('Check the services and prepare the task definitions', () =>
    inputs.rollbackTo
      ? planRollbackTo(clients, inputs.cluster, inputs.services, inputs.rollbackTo)
      : planImageDeploy(clients, inputs.cluster, inputs.services, inputs.images ?? {}),
  );
  if (signal.aborted) throw new CancelledError(`${String(signal.reason)} before any change`);
  const report = await executeDeploy(clients, plan, {
    waitFor: inputs.waitFor,
    timeoutMs: inputs.timeoutSeconds * 1000,
    rollbackOnFailure: inputs.rollbackOnFailure,
    forceNewDeployment: inputs.forceNewDeployment,
    log: coreLog,
    signal,
    consoleUrl: (service) =>
      consoleUrl(region, `ecs/v2/clusters/${clusterName}/services/${service}/deployments?region=${region}`),
  });
  core.setOutput('deployments', serializeDeployments(report));
  await writeSummary(report, inputs);
  if (!report.ok) throw new OperationError(failureMessage(report, inputs));
  core.info(
    `Done in ${formatDuration(report.durationMs)}: ${report.services.map((s) => `${s.service} ${shortTaskDefinition(s.taskDefinition)} (${s.status})`).join(', ')}`,
  );
}

function failureMessage(report: DeployReport, inputs: Inputs): string {
  if (report.cancelled) {
    const started = report.services.filter((s) => s.rollback?.status === 'started').map((s) => s.service);
    return `Cancelled; see above where each service stands.${started.length ? ` Rollback started (not awaited) for ${started.join(', ')}.` : ''}`;
  }
  const failed = report.services.filter((s) => s.status === 'failed' || s.status === 'timed-out');
  return (
    `${failed.map((s) => `${s.service}: ${s.reason}`).join('; ')}` +
    (report.rolledBack
      ? ' — every service this run changed is back on its previous revision.'
      : !report.services.some((s) => s.rollback)
        ? inputs.rollbackOnFailure
          ? ' — no service was changed, nothing to roll back.'
          : ' — rollback-on-failure is off: nothing was rolled back.'
        : ' — the rollback did not complete; check the services.')
  );
}

async function writeSummary(report: DeployReport, inputs: Inputs): Promise<void> {
  const verdict = report.ok
    ? '✅ deployed'
    : report.cancelled
      ? '🛑 cancelled'
      : report.rolledBack
        ? '↩️ failed, every changed service rolled back'
        : '❌ failed';
  const summary = jobSummary()
    .heading(`Deploy to ${inputs.cluster}: ${verdict}`)
    .table(
      ['Service', 'Revision', 'Status', 'Time'],
      report.services.map((s) => [
        s.consoleUrl ? link(s.service, s.consoleUrl) : s.service,
        `${shortTaskDefinition(s.previousTaskDefinition)} → ${shortTaskDefinition(s.taskDefinition)}`,
        s.status +
          (s.rollback
            ? ` · rollback ${s.rollback.status} (${shortTaskDefinition(s.rollback.taskDefinition)})`
            : ''),
        s.durationMs !== undefined ? formatDuration(s.durationMs) : '-',
      ]),
    );
  for (const s of report.services) {
    if (!s.reason) continue;
    const body = [
      s.reason,
      ...(s.details ?? []),
      ...(s.rollback?.reason ? [`rollback: ${s.rollback.reason}`] : []),
    ];
    summary.details(`${s.service}: ${s.reason.slice(0, 120)}`, pre(body.join('\n')));
  }
  await summary.write();
}
