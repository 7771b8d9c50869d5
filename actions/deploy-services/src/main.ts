/**
 * deploy-services: new task-definition revisions for the services' images (or
 * the revisions to roll back to), one deployment per service in parallel,
 * followed to the end; on failure every service this run changed goes back.
 *
 * A release is never lost: the `deployments` output is written before any
 * change (what this run is about to change, from which revision), again once
 * the deployments started, and at the end, on every exit path (the runner
 * keeps the last value written); the summary says where each service stands,
 * read from AWS at the end.
 */
import * as core from '@actions/core';
import { CancelledError, OperationError } from '../../../lib/errors.js';
import { consoleUrl } from '../../../lib/aws/config.js';
import {
  serializeDeployments,
  type DeployedService,
  type DeployReport,
} from '../../../lib/contracts/deployments.js';
import { createEcsClients } from '../../../lib/ecs/clients.js';
import {
  executeDeploy,
  oneServiceImages,
  planImageDeploy,
  planReleaseRollback,
  planRollbackTo,
  type DeployPlan,
} from '../../../lib/ecs/deploy.js';
import {
  applyStanding,
  readStanding,
  standingBudgetMs,
  type Standing,
} from '../../../lib/ecs/deploy/standing.js';
import { withDeadline } from '../../../lib/aws/retry.js';
import { shortTaskDefinition } from '../../../lib/ecs/taskdef.js';
import { errorMessage } from '../../../lib/errors.js';
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
  const plan: DeployPlan = await core.group('Check the services and prepare the task definitions', () =>
    inputs.rollbackRelease
      ? planReleaseRollback(clients, inputs.cluster, inputs.services, inputs.rollbackRelease, coreLog)
      : inputs.rollbackTo
        ? planRollbackTo(clients, inputs.cluster, inputs.services, inputs.rollbackTo, {
            forceNewDeployment: inputs.forceNewDeployment,
          })
        : imagesToDeploy(clients, inputs).then((images) =>
            planImageDeploy(clients, inputs.cluster, inputs.services, images, {
              ifInProgress: inputs.ifInProgress,
              timeoutMs: inputs.timeoutSeconds * 1000,
              forceNewDeployment: inputs.forceNewDeployment,
              log: coreLog,
              signal,
            }),
          ),
  );
  if (signal.aborted) throw new CancelledError(`${String(signal.reason)} before any change`);
  // What was last written as the output: rewritten at the end of every exit path.
  let written: DeployedService[] = [];
  const writeOutput = (services: DeployedService[]) => {
    written = services;
    core.setOutput('deployments', serializeDeployments({ services }));
  };
  let cancelledAt: number | undefined;
  signal.addEventListener('abort', () => (cancelledAt ??= Date.now()), { once: true });
  let report;
  try {
    report = await executeDeploy(clients, plan, {
      waitFor: inputs.waitFor,
      timeoutMs: inputs.timeoutSeconds * 1000,
      rollbackOnFailure: inputs.rollbackOnFailure,
      forceNewDeployment: inputs.forceNewDeployment,
      bakeMs: inputs.bakeSeconds * 1000,
      log: coreLog,
      signal,
      consoleUrl: (service) =>
        consoleUrl(region, `ecs/v2/clusters/${clusterName}/services/${service}/deployments?region=${region}`),
      onProgress: writeOutput,
      ...(process.env.GITHUB_RUN_ID ? { release: process.env.GITHUB_RUN_ID } : {}),
      cancelGraceMs: CANCEL_GRACE_MS,
    });
  } catch (err) {
    // An unexpected end: the output and the summary still say what this run started and where it stands.
    if (written.length)
      await writeAfterError(err, written, { clients, inputs, signal, cancelledAt, writeOutput });
    throw err;
  }
  writeOutput(report.services);
  await writeSummary(report, inputs);
  if (!report.ok) throw new OperationError(failureMessage(report, inputs));
  core.info(
    `Done in ${formatDuration(report.durationMs)}: ${report.services.map((s) => `${s.service} ${shortTaskDefinition(s.taskDefinition)} (${s.status})`).join(', ')}`,
  );
}

/** `images`, or the map `image` (and `container`) stand for. */
function imagesToDeploy(
  clients: ReturnType<typeof createEcsClients>,
  inputs: Inputs,
): Promise<Record<string, string>> {
  return inputs.image
    ? oneServiceImages(clients, inputs.cluster, inputs.services[0]!, inputs.image)
    : Promise.resolve(inputs.images ?? {});
}

/** Reads where each service stands (within the grace, after a cancellation), then writes the output and the summary. */
async function writeAfterError(
  err: unknown,
  written: DeployedService[],
  context: {
    clients: ReturnType<typeof createEcsClients>;
    inputs: Inputs;
    signal: AbortSignal;
    cancelledAt: number | undefined;
    writeOutput: (services: DeployedService[]) => void;
  },
): Promise<void> {
  const { clients, inputs, signal, cancelledAt } = context;
  const budget = standingBudgetMs(cancelledAt, CANCEL_GRACE_MS, Date.now());
  const standing = await readStanding(
    clients.ecs,
    inputs.cluster,
    written.map((s) => s.service),
    withDeadline(undefined, budget),
  );
  applyStanding(written, standing);
  context.writeOutput(written);
  await writeSummary(
    { ok: false, cancelled: signal.aborted, rolledBack: false, services: written, standing },
    inputs,
    `stopped by an unexpected error: ${errorMessage(err)}`,
  );
}

/** After SIGINT, how long the rollback calls may take: well inside the 7.5 s before GitHub's SIGTERM. */
const CANCEL_GRACE_MS = 5_000;

function failureMessage(report: DeployReport, inputs: Inputs): string {
  if (report.cancelled) {
    const started = report.services.filter((s) => s.rollback?.status === 'started').map((s) => s.service);
    const unsent = report.services.filter((s) => s.rollback?.status === 'failed').map((s) => s.service);
    return (
      `Cancelled; see above where each service stands.` +
      (started.length ? ` Rollback requested, not confirmed, for ${started.join(', ')}.` : '') +
      (unsent.length ? ` Rollback NOT sent for ${unsent.join(', ')}: check them now.` : '')
    );
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

type SummaryInput = Pick<DeployReport, 'ok' | 'cancelled' | 'rolledBack' | 'services'> & {
  standing: Standing;
};

async function writeSummary(report: SummaryInput, inputs: Inputs, stoppedBy?: string): Promise<void> {
  const verdict = stoppedBy
    ? '❌ stopped'
    : report.ok
      ? '✅ deployed'
      : report.cancelled
        ? '🛑 cancelled'
        : report.rolledBack
          ? '↩️ failed, every changed service rolled back'
          : '❌ failed';
  const { standing } = report;
  const summary = jobSummary()
    .heading(`Deploy to ${inputs.cluster}: ${verdict}`)
    .table(
      ['Service', 'Revision', 'Strategy', 'Status', 'Now (read from AWS)', 'Time'],
      report.services.map((s) => [
        s.consoleUrl ? link(s.service, s.consoleUrl) : s.service,
        `${shortTaskDefinition(s.previousTaskDefinition)} → ${shortTaskDefinition(s.taskDefinition)}`,
        strategyText(s),
        s.status + (s.rollback ? ` · ${rollbackText(s.rollback)}` : ''),
        standing.read ? (standing.services.get(s.service)?.summary ?? 'not read') : 'unknown',
        s.durationMs !== undefined ? formatDuration(s.durationMs) : '-',
      ]),
    );
  if (stoppedBy) summary.paragraph(`The deploy was ${stoppedBy}`);
  if (!standing.read) {
    summary.paragraph(`Where each service stands could not be read from AWS at the end: ${standing.error}`);
  }
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

/** The strategy cell: `ROLLING`, or e.g. `BLUE_GREEN · BAKE_TIME · 100%` (last stage, green's production weight). */
export function strategyText(
  s: Pick<DeployedService, 'strategy' | 'lifecycleStage' | 'productionTrafficWeight'>,
): string {
  if (!s.strategy) return '-';
  const weight = s.productionTrafficWeight !== undefined ? `${s.productionTrafficWeight}%` : undefined;
  return [s.strategy, s.lifecycleStage, weight].filter(Boolean).join(' · ');
}

function rollbackText(rollback: NonNullable<DeployedService['rollback']>): string {
  const to = shortTaskDefinition(rollback.taskDefinition);
  if (rollback.status === 'started') return `rollback to ${to} requested, not confirmed`;
  const shiftBack =
    rollback.trafficShiftBackMs !== undefined
      ? `, traffic back in ${formatDuration(rollback.trafficShiftBackMs)}`
      : '';
  return `rollback ${rollback.status} (${to}${shiftBack})`;
}
