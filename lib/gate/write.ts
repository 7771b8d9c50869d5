/**
 * Setting the release gate: read the parameter (who holds it), decide by the
 * ownership rules (gate.ts), PutParameter (Type String, Overwrite), and read it
 * back with GetParameter: the value read back is what the hook will read.
 *
 * SSM has no conditional write, so two releases writing at the same moment can
 * still race; the read-back catches a lost race for `pending` and `open`
 * (another release's value read back fails the step).
 */
import { GetParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { OperationError, awsErrorText } from '../errors.js';
import type { Log } from '../log.js';
import { decideGateWrite, gateText, parseGate, type Gate, type GateState } from './gate.js';

export interface GateRequest {
  parameter: string;
  state: GateState;
  release: string;
  /** open: the revisions allowed to shift production (gatedRevisions). */
  revisions?: string[];
  /** closed: why (the hook reports it in its reason). */
  reason?: string;
}

export interface GateOutcome {
  /** The gate was written by this step (false: left alone, see `note`). */
  written: boolean;
  /** The parameter's value read back at the end (undefined: it does not exist). */
  value?: string;
  /** Its version read back. */
  version?: number;
  /** Why it was left alone, or whom it was taken from. */
  note?: string;
}

/** The parameter's value and version; undefined when it does not exist. */
export async function readGate(
  ssm: SSMClient,
  parameter: string,
  signal?: AbortSignal,
): Promise<{ value?: string; version?: number } | undefined> {
  try {
    const reply = await ssm.send(new GetParameterCommand({ Name: parameter }), { abortSignal: signal });
    return {
      ...(reply.Parameter?.Value !== undefined ? { value: reply.Parameter.Value } : {}),
      ...(reply.Parameter?.Version !== undefined ? { version: reply.Parameter.Version } : {}),
    };
  } catch (err) {
    if ((err as { name?: string }).name === 'ParameterNotFound') return undefined;
    throw new OperationError(`Could not read the release gate ${parameter}: ${awsErrorText(err)}`, [
      permissionsHint(err, parameter),
    ]);
  }
}

/**
 * Sets the gate to `request.state` for `request.release`, minding who holds it.
 * Throws OperationError when `open` is refused or a write or read fails; a
 * `closed` left alone (another release holds the gate) is not a failure.
 */
export async function setGate(
  ssm: SSMClient,
  request: GateRequest,
  log: Log,
  signal?: AbortSignal,
): Promise<GateOutcome> {
  const { parameter, state, release } = request;
  const gate: Gate = {
    release,
    state,
    revisions: state === 'open' ? (request.revisions ?? []) : [],
    ...(request.reason ? { reason: request.reason } : {}),
  };
  const text = gateText(gate);
  const before = await readGate(ssm, parameter, signal);
  const decision = decideGateWrite(state, release, {
    exists: before !== undefined,
    ...(before?.value !== undefined ? { gate: parseGate(before.value) ?? {} } : {}),
  });
  if (decision.kind === 'refuse')
    throw new OperationError(`Refused to open the release gate ${parameter}: ${decision.reason}`, [
      `read: ${before?.value ?? '(no parameter)'}`,
    ]);
  if (decision.kind === 'leave') {
    log.warning(`Release gate ${parameter} not closed: ${decision.reason}`);
    return {
      written: false,
      note: decision.reason,
      ...(before?.value !== undefined ? { value: before.value } : {}),
      ...(before?.version !== undefined ? { version: before.version } : {}),
    };
  }
  if (decision.note) log.warning(`Release gate ${parameter}: ${decision.note}`);
  try {
    await ssm.send(
      new PutParameterCommand({ Name: parameter, Type: 'String', Overwrite: true, Value: text }),
      { abortSignal: signal },
    );
  } catch (err) {
    throw new OperationError(
      `Could not write the release gate ${parameter} (${state}): ${awsErrorText(err)}`,
      [permissionsHint(err, parameter)],
    );
  }
  const after = await readGate(ssm, parameter, signal);
  const read = parseGate(after?.value);
  if (read?.release !== release || read.state !== state)
    throw new OperationError(
      `The release gate ${parameter} reads ${after?.value ?? '(no parameter)'} right after this release (${release}) wrote ${state}: another release wrote it at the same moment`,
    );
  log.info(
    `Release gate ${parameter}: ${state} for release ${release}` +
      (state === 'open' ? ` (${gate.revisions.length} revision(s))` : '') +
      (after?.version !== undefined ? `, version ${after.version}` : ''),
  );
  return {
    written: true,
    ...(after?.value !== undefined ? { value: after.value } : {}),
    ...(after?.version !== undefined ? { version: after.version } : {}),
    ...(decision.note ? { note: decision.note } : {}),
  };
}

function permissionsHint(err: unknown, parameter: string): string {
  return /AccessDenied/.test(String((err as { name?: string }).name))
    ? `The step's role needs ssm:GetParameter and ssm:PutParameter on ${parameter} (the deploy role has them on the gate parameter only).`
    : 'A throttled or failed call was retried by the SDK; run the step again.';
}
