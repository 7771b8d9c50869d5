import * as core from '@actions/core';
import { CancelledError, InputError, errorMessage } from '../../../lib/errors.js';
import { consoleUrl } from '../../../lib/aws/config.js';
import { serializeDeployments, type DeployReport } from '../../../lib/contracts/deployments.js';
import { createEcsClients } from '../../../lib/ecs/clients.js';
import { executeDeploy, planImageDeploy, planRollbackTo } from '../../../lib/ecs/deploy.js';
import { shortTaskDefinition } from '../../../lib/ecs/taskdef.js';
import { formatDuration } from '../../../lib/time.js';
import { cancellationSignal } from '../../_common/cancel.js';
import { coreLog } from '../../_common/core-log.js';
import { getInputs, type Inputs } from './inputs.js';

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

async function writeSummary(report: DeployReport, inputs: Inputs): Promise<void> {
  const verdict = report.ok
    ? '✅ deployed'
    : report.cancelled
      ? '🛑 cancelled'
      : report.rolledBack
        ? '↩️ failed, every changed service rolled back'
        : '❌ failed';
  core.summary.addHeading(`Deploy to ${inputs.cluster}: ${verdict}`, 3).addTable([
    [
      { data: 'Service', header: true },
      { data: 'Revision', header: true },
      { data: 'Status', header: true },
      { data: 'Time', header: true },
    ],
    ...report.services.map((s) => [
      s.consoleUrl ? `<a href="${s.consoleUrl}">${s.service}</a>` : s.service,
      `${shortTaskDefinition(s.previousTaskDefinition)} → ${shortTaskDefinition(s.taskDefinition)}`,
      s.status +
        (s.rollback
          ? ` · rollback ${s.rollback.status} (${shortTaskDefinition(s.rollback.taskDefinition)})`
          : ''),
      s.durationMs !== undefined ? formatDuration(s.durationMs) : '-',
    ]),
  ]);
  for (const s of report.services) {
    if (!s.reason) continue;
    const body = [
      s.reason,
      ...(s.details ?? []),
      ...(s.rollback?.reason ? [`rollback: ${s.rollback.reason}`] : []),
    ];
    core.summary.addDetails(
      `${s.service}: ${escapeHtml(s.reason.slice(0, 120))}`,
      `<pre>${escapeHtml(body.join('\n'))}</pre>`,
    );
  }
  await core.summary.write();
}

export async function run(): Promise<void> {
  const signal = cancellationSignal((name) => core.warning(`Received ${name}: stopping the wait.`));
  try {
    const inputs = getInputs();
    const clients = createEcsClients();
    const region = await clients.ecs.config.region();
    const clusterName = inputs.cluster.slice(inputs.cluster.lastIndexOf('/') + 1);
    const plan = await coreLog.group('Check the services and prepare the task definitions', () =>
      inputs.rollbackTo
        ? planRollbackTo(clients, inputs.cluster, inputs.services, inputs.rollbackTo)
        : planImageDeploy(clients, inputs.cluster, inputs.services, inputs.images ?? {}),
    );
    if (signal.aborted) throw new CancelledError(String(signal.reason));
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
    if (report.cancelled) {
      const started = report.services.filter((s) => s.rollback?.status === 'started').map((s) => s.service);
      core.setFailed(
        `Cancelled; see above where each service stands.${started.length ? ` Rollback started (not awaited) for ${started.join(', ')}.` : ''}`,
      );
    } else if (!report.ok) {
      const failed = report.services.filter((s) => s.status === 'failed' || s.status === 'timed-out');
      core.setFailed(
        `${failed.map((s) => `${s.service}: ${s.reason}`).join('; ')}` +
          (report.rolledBack
            ? ' — every service this run changed is back on its previous revision.'
            : !report.services.some((s) => s.rollback)
              ? inputs.rollbackOnFailure
                ? ' — no service was changed, nothing to roll back.'
                : ' — rollback-on-failure is off: nothing was rolled back.'
              : ' — the rollback did not complete; check the services.'),
      );
    } else {
      core.info(
        `Done in ${formatDuration(report.durationMs)}: ${report.services.map((s) => `${s.service} ${shortTaskDefinition(s.taskDefinition)} (${s.status})`).join(', ')}`,
      );
    }
  } catch (err) {
    if (err instanceof InputError) core.setFailed(err.message);
    else if (err instanceof CancelledError || signal.aborted)
      core.setFailed(`Cancelled before any change: ${errorMessage(err)}`);
    else core.setFailed(`deploy-services failed: ${errorMessage(err)}`);
  }
}
