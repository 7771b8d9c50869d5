/**
 * release-gate: sets the release's gate (one SSM parameter the services'
 * POST_TEST_TRAFFIC_SHIFT hook reads) to pending, open or closed, minding which
 * release holds it (lib/gate/), and reads it back: the `gate` output is what
 * the hook will read.
 */
import * as core from '@actions/core';
import { SSMClient } from '@aws-sdk/client-ssm';
import { clientConfig } from '../../../lib/aws/config.js';
import { parseGate } from '../../../lib/gate/gate.js';
import { setGate, type GateOutcome } from '../../../lib/gate/write.js';
import { coreLog } from '../../_common/core-log.js';
import { runAction } from '../../_common/host.js';
import { code, jobSummary, pre } from '../../_common/summary.js';
import { getInputs, type Inputs } from './inputs.js';

export function run(): Promise<void> {
  return runAction({ subject: 'Release gate', onCancel: 'finishing the gate write', main });
}

export async function main(signal: AbortSignal): Promise<void> {
  const inputs = getInputs();
  if (inputs.state === 'open' && inputs.revisions.length === 0)
    core.info('No blue/green, linear or canary service in `deployments`: the gate opens for no revision.');
  const ssm = new SSMClient(clientConfig());
  // closed runs after a failure or a cancellation: it must not be cut short by a signal.
  const outcome = await setGate(
    ssm,
    {
      parameter: inputs.parameter,
      state: inputs.state,
      release: inputs.release,
      revisions: inputs.revisions,
      ...(inputs.reason ? { reason: inputs.reason } : {}),
    },
    coreLog,
    inputs.state === 'closed' ? undefined : signal,
  );
  if (outcome.value !== undefined) core.setOutput('gate', outcome.value);
  await writeSummary(inputs, outcome);
}

async function writeSummary(inputs: Inputs, outcome: GateOutcome): Promise<void> {
  const read = parseGate(outcome.value);
  const verdict = outcome.written ? `${inputs.state}` : `left alone (${read?.state ?? 'unknown'})`;
  const summary = jobSummary()
    .heading(`Release gate ${inputs.parameter}: ${verdict}`)
    .table(
      ['Release', 'State', 'Revisions', 'Reason'],
      [
        [
          read?.release ?? '-',
          read?.state ?? '-',
          read?.revisions?.length ? pre(read.revisions.join('\n')) : '-',
          read?.reason ?? '-',
        ],
      ],
    );
  if (outcome.note) summary.paragraph(outcome.note);
  summary.paragraph('Read back from SSM: ', code(outcome.value ?? '(no parameter)'));
  await summary.write();
}
