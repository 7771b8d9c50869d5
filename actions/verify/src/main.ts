import * as core from '@actions/core';
import { CancelledError, OperationError, errorMessage } from '../../../lib/errors.js';
import { requireRegion } from '../../../lib/aws/config.js';
import { createEcsClients } from '../../../lib/ecs/clients.js';
import { checkTable, targetTable, verdict } from '../../../lib/verify/report.js';
import { verifyRelease, type VerifyReport } from '../../../lib/verify/verify.js';
import { cancellationSignal } from '../../_common/cancel.js';
import { coreLog } from '../../_common/core-log.js';
import { getInputs } from './inputs.js';

export async function run(): Promise<void> {
  const signal = cancellationSignal((name) => core.warning(`Received ${name}: stopping verification`));
  try {
    const inputs = getInputs();
    const region = requireRegion();
    const clients = createEcsClients({ region });
    const report = await core.group('Target health and HTTP checks', () =>
      verifyRelease({
        cluster: inputs.cluster,
        services: inputs.services,
        ...(inputs.deployments ? { deployments: inputs.deployments } : {}),
        ...(inputs.baseUrl ? { baseUrl: inputs.baseUrl } : {}),
        checks: inputs.checks,
        consecutiveSuccesses: inputs.consecutiveSuccesses,
        timeoutMs: inputs.timeoutSeconds * 1000,
        ecs: clients.ecs,
        elbv2: clients.elbv2,
        log: coreLog,
        signal,
      }),
    );
    core.setOutput('report', JSON.stringify(report));
    await writeSummary(report);
    if (report.status === 'passed') {
      core.info(verdict(report));
    } else {
      core.setFailed([verdict(report), ...report.problems.map((p) => `  - ${p}`)].join('\n'));
    }
  } catch (err) {
    // An aborted SDK call or fetch throws its own AbortError: the cause is still the signal.
    if (err instanceof CancelledError || signal.aborted) {
      core.setFailed(`Verification cancelled: ${String(signal.reason ?? errorMessage(err))}`);
    } else {
      const details =
        err instanceof OperationError && err.details.length > 0 ? `\n${err.details.join('\n')}` : '';
      core.setFailed(`${errorMessage(err)}${details}`);
    }
  }
  // A pending keep-alive socket must not delay the end of the step.
  process.exit(process.exitCode ?? 0);
}

async function writeSummary(report: VerifyReport): Promise<void> {
  const summary = core.summary
    .addHeading(report.status === 'passed' ? 'Release verified' : 'Release NOT verified', 3)
    .addRaw(`${verdict(report)}${report.baseUrl ? ` · checks against ${report.baseUrl}` : ''}`, true)
    .addTable(targetTable(report));
  if (report.checks.length > 0) summary.addTable(checkTable(report));
  if (report.problems.length > 0) {
    summary.addDetails(
      `Why it failed (${report.problems.length})`,
      `<ul>${report.problems.map((p) => `<li>${escapeHtml(p)}</li>`).join('')}</ul>`,
    );
  }
  await summary.write();
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
