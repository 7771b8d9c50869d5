import { randomUUID } from 'node:crypto';
import * as core from '@actions/core';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { clientConfig, requireRegion } from '../../../lib/aws/config.js';
import { errorMessage } from '../../../lib/errors.js';
import { shortTaskDefinition } from '../../../lib/ecs/taskdef.js';
import { runMigration, type MigrationResult } from '../../../lib/migrate/run.js';
import { formatDuration } from '../../../lib/time.js';
import { cancellationSignal } from '../../_common/cancel.js';
import { coreLog } from '../../_common/core-log.js';
import { getInputs } from './inputs.js';

export async function run(): Promise<void> {
  const signal = cancellationSignal();
  try {
    const inputs = getInputs();
    const region = requireRegion();
    const config = clientConfig({ region });
    const logsByRegion = new Map<string, Promise<CloudWatchLogsClient>>();
    const clients = {
      ecs: new ECSClient(config),
      // Imported on first use: runs that fail before the task starts never load it.
      logs: (logsRegion: string) => {
        if (!logsByRegion.has(logsRegion)) {
          logsByRegion.set(
            logsRegion,
            import('@aws-sdk/client-cloudwatch-logs').then(
              ({ CloudWatchLogsClient: Client }) => new Client({ ...config, region: logsRegion }),
            ),
          );
        }
        return logsByRegion.get(logsRegion)!;
      },
    };
    const result = await runMigration(clients, { ...inputs, region }, coreLog, signal, printLogLines);
    writeOutputs(result);
    await writeSummary(result);
    for (const warning of result.judgement.warnings) core.warning(warning);
    if (result.ok) {
      core.info(result.message);
    } else {
      core.setFailed(failureText(result));
    }
  } catch (err) {
    core.setFailed(errorMessage(err));
    await core.summary
      .addHeading('Migration failed', 3)
      .addRaw(`<pre>${escapeHtml(errorMessage(err))}</pre>`, true)
      .write()
      .catch(() => undefined);
  }
}

/**
 * The task's output goes to the job log verbatim, so a line such as
 * "::error::" or "::add-mask::" must not act as a workflow command: such
 * batches are wrapped in stop-commands with a one-off token.
 */
function printLogLines(lines: string[]): void {
  const wrap = lines.some((line) => line.includes('::'));
  const token = wrap ? randomUUID() : '';
  if (wrap) core.info(`::stop-commands::${token}`);
  for (const line of lines) core.info(line);
  if (wrap) core.info(`::${token}::`);
}

function writeOutputs(result: MigrationResult): void {
  core.setOutput('task-arn', result.taskArns[0] ?? '');
  core.setOutput('exit-code', result.exitCode === undefined ? '' : String(result.exitCode));
  core.setOutput('task-definition-arn', result.taskDefinitionArn);
}

function failureText(result: MigrationResult): string {
  const lines = [result.message, ...result.details];
  if (result.lastLogLines.length > 0) {
    lines.push(`Last log lines:`, ...result.lastLogLines.slice(-10).map((l) => `  ${l}`));
  }
  return lines.join('\n');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

async function writeSummary(result: MigrationResult): Promise<void> {
  const summary = core.summary
    .addHeading(`Migration ${result.ok ? 'succeeded' : 'failed'}`, 3)
    .addRaw(
      [
        `Task definition: \`${shortTaskDefinition(result.taskDefinitionArn)}\`${result.registered ? ' (registered for the new image)' : ''}`,
        `Duration: ${formatDuration(result.durationMs)}`,
        result.consoleUrl ? `Task: <a href="${result.consoleUrl}">${result.taskArns[0] ?? ''}</a>` : '',
      ]
        .filter(Boolean)
        .join('<br>\n'),
    )
    .addEOL()
    .addTable([
      [
        { data: 'Container', header: true },
        { data: 'Essential', header: true },
        { data: 'Exit code', header: true },
        { data: 'Reason', header: true },
      ],
      ...result.judgement.containers.map((c) => [
        escapeHtml(c.name),
        c.essential ? 'yes' : 'no',
        c.exitCode === undefined ? '—' : String(c.exitCode),
        c.reason ? escapeHtml(c.reason) : '—',
      ]),
    ]);
  if (!result.ok) summary.addRaw(`<p>${escapeHtml(result.message)}</p>`, true);
  if (result.lastLogLines.length > 0) {
    summary.addDetails('Last log lines', `\n\n<pre>${escapeHtml(result.lastLogLines.join('\n'))}</pre>\n`);
  }
  await summary.write();
}
