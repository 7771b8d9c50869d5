/**
 * migrate: runs the database migration as a one-off ECS task on the new image,
 * streams its logs, and succeeds only when every essential container and the
 * migration container exited 0. Only the timeout or a cancellation stops the
 * task; every exit path writes the outputs and a summary of where it stands.
 */
import * as core from '@actions/core';
import { requireRegion } from '../../../lib/aws/config.js';
import { OperationError } from '../../../lib/errors.js';
import { createEcsClients } from '../../../lib/ecs/clients.js';
import { shortTaskDefinition } from '../../../lib/ecs/taskdef.js';
import {
  MigrationError,
  runMigration,
  type MigrationHooks,
  type MigrationResult,
} from '../../../lib/migrate/run.js';
import { describeStanding } from '../../../lib/migrate/standing.js';
import { formatDuration } from '../../../lib/time.js';
import { coreLog, printVerbatim } from '../../_common/core-log.js';
import { runAction } from '../../_common/host.js';
import { code, concat, jobSummary, link, pre, strong } from '../../_common/summary.js';
import { getInputs } from './inputs.js';

export function run(): Promise<void> {
  return runAction({ subject: 'Migration', onCancel: 'stopping the migration task', main });
}

export async function main(signal: AbortSignal): Promise<void> {
  const inputs = getInputs();
  const region = requireRegion();
  // The Logs client is created once a task runs: runs that fail earlier never load its SDK.
  const clients = createEcsClients({ region });
  // Outputs are written as soon as they are known: a step killed later still hands them on.
  const hooks: MigrationHooks = {
    printLogLines: printVerbatim,
    onRevision: (arn) => core.setOutput('task-definition-arn', arn),
    onTaskStarted: (task) => core.setOutput('task-arn', task.taskArns[0] ?? ''),
  };
  let result: MigrationResult;
  try {
    result = await runMigration(clients, { ...inputs, region }, coreLog, signal, hooks);
  } catch (err) {
    // The watch broke: what is known, and where the task stands, is still reported.
    if (err instanceof MigrationError) await report(err.result);
    throw err;
  }
  await report(result);
  if (!result.ok) {
    const lastLines = result.lastLogLines.slice(-10).map((l) => `  ${l}`);
    throw new OperationError(result.message, [
      ...result.details,
      ...(lastLines.length > 0 ? ['Last log lines:', ...lastLines] : []),
    ]);
  }
  core.info(result.message);
}

async function report(result: MigrationResult): Promise<void> {
  core.setOutput('exit-code', result.exitCode === undefined ? '' : String(result.exitCode));
  await writeSummary(result);
  for (const warning of result.judgement.warnings) core.warning(warning);
}

async function writeSummary(result: MigrationResult): Promise<void> {
  const summary = jobSummary()
    .heading(`Migration ${result.ok ? 'succeeded' : 'failed'}`)
    .paragraph(
      concat(
        'Task definition: ',
        code(shortTaskDefinition(result.taskDefinitionArn)),
        result.registered ? ' (registered for the new image)' : '',
      ),
      `Duration: ${formatDuration(result.durationMs)}`,
      ...(result.consoleUrl ? [concat('Task: ', link(result.taskArns[0] ?? '', result.consoleUrl))] : []),
    )
    .table(
      ['Container', 'Essential', 'Exit code', 'Reason'],
      result.judgement.containers.map((c) => [
        c.migration ? `${c.name} (migration)` : c.name,
        c.essential ? 'yes' : 'no',
        c.exitCode === undefined ? '—' : String(c.exitCode),
        c.reason ?? '—',
      ]),
    );
  if (!result.ok) summary.paragraph(result.message);
  summary.paragraph(strong('Where the task stands: '), ...describeStanding(result.standing, result.taskArns));
  if (result.lastLogLines.length > 0) summary.details('Last log lines', pre(result.lastLogLines.join('\n')));
  await summary.write();
}
