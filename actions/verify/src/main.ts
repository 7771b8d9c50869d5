/**
 * verify: the new revision of each service is healthy behind the ALB, and the
 * HTTP checks pass through it. Changes nothing in AWS.
 */
import * as core from '@actions/core';
import { OperationError, errorMessage } from '../../../lib/errors.js';
import { requireRegion } from '../../../lib/aws/config.js';
import { createEcsClients, type EcsClients } from '../../../lib/ecs/clients.js';
import { checkTable, targetTable, testTrafficTable, verdict, type Cell } from '../../../lib/verify/report.js';
import { serializeVerifyReport, type VerifyReport } from '../../../lib/contracts/verify-report.js';
import { interruptedReport, verifyRelease } from '../../../lib/verify/verify.js';
import { coreLog } from '../../_common/core-log.js';
import { runAction } from '../../_common/host.js';
import { html, jobSummary, list, type Html } from '../../_common/summary.js';
import { getInputs } from './inputs.js';

export function run(): Promise<void> {
  return runAction({ subject: 'Verification', onCancel: 'stopping verification', main });
}

/**
 * Every path past the inputs (passed, failed, timed out, cancelled, AWS
 * unreadable, an unexpected error) writes the `report` output and the summary;
 * one that stopped before a verdict reads where each service stands once more,
 * then fails as the host's error policy says.
 */
export async function main(signal: AbortSignal): Promise<void> {
  const inputs = getInputs();
  const clients = createEcsClients({ region: requireRegion() });
  const startedMs = Date.now();
  const logsClients: ReturnType<EcsClients['logs']>[] = [];
  const observeOptions = {
    cluster: inputs.cluster,
    services: inputs.services,
    ...(inputs.deployments ? { deployments: inputs.deployments } : {}),
    traffic: inputs.traffic,
    ecs: clients.ecs,
    elbv2: clients.elbv2,
    // Only a late crash reads logs: the clients made are closed at the end.
    logs: (region?: string) => {
      const client = clients.logs(region);
      logsClients.push(client);
      return client;
    },
  };
  let report: VerifyReport;
  let stopped: unknown;
  try {
    report = await core.group('Target health and HTTP checks', () =>
      verifyRelease({
        ...observeOptions,
        ...(inputs.baseUrl ? { baseUrl: inputs.baseUrl } : {}),
        checks: inputs.checks,
        consecutiveSuccesses: inputs.consecutiveSuccesses,
        timeoutMs: inputs.timeoutSeconds * 1000,
        log: coreLog,
        signal,
      }),
    );
  } catch (err) {
    stopped = err;
    report = await interruptedReport(observeOptions, stoppedBecause(err, signal), startedMs);
  } finally {
    await closeClients(clients, logsClients);
  }
  report.traffic = inputs.traffic;
  core.setOutput('report', serializeVerifyReport(report));
  await writeSummary(report);
  if (stopped !== undefined) throw stopped;
  if (report.status !== 'passed') {
    throw new OperationError(
      verdict(report),
      report.problems.map((p) => `  - ${p}`),
    );
  }
  core.info(verdict(report));
}

/** The report's first problem when verification stopped before a verdict. */
function stoppedBecause(err: unknown, signal: AbortSignal): string {
  if (signal.aborted) return `verification cancelled (${String(signal.reason)}) before a verdict`;
  return `verification stopped before a verdict: ${errorMessage(err)}`;
}

/** Idle keep-alive sockets of the SDK clients must not hold the process open once the step is done. */
async function closeClients(clients: EcsClients, logs: ReturnType<EcsClients['logs']>[]): Promise<void> {
  clients.ecs.destroy();
  (await clients.elbv2()).destroy();
  for (const client of await Promise.all(logs)) client.destroy();
}

async function writeSummary(report: VerifyReport): Promise<void> {
  const summary = jobSummary()
    .heading(report.status === 'passed' ? 'Release verified' : 'Release NOT verified')
    .paragraph(`${verdict(report)}${report.baseUrl ? ` · checks against ${report.baseUrl}` : ''}`);
  if (report.traffic === 'test') {
    summary.paragraph(
      `Test traffic: each service's green revision, through the test listener${report.testListener ? ` ${report.testListener.listenerArn} (port ${report.testListener.port})` : ''}; production traffic was not checked.`,
    );
    summary.table(...tableOf(testTrafficTable(report)));
  }
  summary.table(...tableOf(targetTable(report)));
  if (report.checks.length > 0) summary.table(...tableOf(checkTable(report)));
  if (report.problems.length > 0) {
    summary.details(`Why it failed (${report.problems.length})`, list(report.problems));
  }
  await summary.write();
}

/** lib/verify/report.ts renders its cells as summary markup, its first row the header. */
function tableOf(rows: Cell[][]): [string[], Html[][]] {
  const [head = [], ...body] = rows;
  return [
    head.map((c) => (typeof c === 'string' ? c : c.data)),
    body.map((row) => row.map((c) => html(typeof c === 'string' ? c : c.data))),
  ];
}
