/**
 * The release gate: an ECS deployment lifecycle hook at POST_TEST_TRAFFIC_SHIFT.
 *
 * Green serves the test listener and no production request yet. ECS asks this
 * function whether to move production traffic; it answers from one SSM
 * parameter the release pipeline writes (infra/README.md, "The release gate"):
 *
 *   { "release": "<run id>", "state": "pending" | "open" | "closed",
 *     "revisions": ["<target service revision ARN>", ...], "reason": "..." }
 *
 * - open, listing this deployment's target service revision: SUCCEEDED (production shifts);
 * - open, not listing it (a deployment the release did not verify), or pending: IN_PROGRESS,
 *   asked again after callBackDelay seconds;
 * - closed: FAILED, so ECS shifts test traffic back and rolls back (closing is broad on purpose:
 *   a cancelled run may not know every revision it started);
 * - a gate that cannot be read or understood: FAILED, except a transient error (throttling,
 *   5xx), which asks again.
 *
 * No dependencies: the Lambda Node.js runtime carries the AWS SDK v3.
 */

/** Decides from the gate's text what ECS should do with the deployment of `revisionArn`. */
export function decide(gateText, revisionArn, callBackDelay) {
  const wait = (reason) => ({ hookStatus: 'IN_PROGRESS', callBackDelay, reason });
  const fail = (reason) => ({ hookStatus: 'FAILED', reason });
  if (gateText === undefined) return fail('the release gate parameter does not exist');
  let gate;
  try {
    gate = JSON.parse(gateText);
  } catch {
    return fail('the release gate is not JSON');
  }
  if (gate === null || typeof gate !== 'object') return fail('the release gate is not a JSON object');
  const revisions = Array.isArray(gate.revisions) ? gate.revisions : [];
  const release = typeof gate.release === 'string' ? gate.release : 'unnamed release';
  switch (gate.state) {
    case 'closed':
      return fail(`release ${release} closed the gate${gate.reason ? `: ${gate.reason}` : ''}`);
    case 'pending':
      return wait(`release ${release} is verifying its test traffic`);
    case 'open':
      if (!revisionArn) return fail('the hook event names no target service revision');
      return revisions.includes(revisionArn)
        ? { hookStatus: 'SUCCEEDED', reason: `release ${release} opened the gate for this revision` }
        : wait(`release ${release} opened the gate for other revisions, not ${revisionArn}`);
    default:
      return fail(`the release gate's state ${JSON.stringify(gate.state)} is none of pending, open, closed`);
  }
}

/** Errors worth asking again about: throttling and server faults, never a refusal or a missing parameter. */
function transient(error) {
  const status = error?.$metadata?.httpStatusCode;
  return (
    error?.$retryable !== undefined ||
    /Throttl|TooManyUpdates|InternalServerError|ServiceUnavailable/.test(String(error?.name)) ||
    (typeof status === 'number' && status >= 500)
  );
}

/**
 * A handler reading the gate with `readGate(name)` (the parameter's value, or undefined
 * when it does not exist). Tests pass their own; the Lambda runtime uses SSM.
 */
export function createHandler({ readGate, environment = process.env, log = console.log }) {
  const parameter = environment.GATE_PARAMETER;
  const callBackDelay = Number(environment.CALLBACK_DELAY_SECONDS ?? 30);
  return async (event) => {
    const details = event?.executionDetails ?? {};
    const revisionArn = details.targetServiceRevisionArn;
    let answer;
    if (!parameter) answer = { hookStatus: 'FAILED', reason: 'GATE_PARAMETER is not set' };
    else {
      try {
        answer = decide(await readGate(parameter), revisionArn, callBackDelay);
      } catch (error) {
        answer = transient(error)
          ? {
              hookStatus: 'IN_PROGRESS',
              callBackDelay,
              reason: `reading the gate failed, asking again: ${error.name}`,
            }
          : { hookStatus: 'FAILED', reason: `reading the gate failed: ${error.name}: ${error.message}` };
      }
    }
    log(
      JSON.stringify({
        lifecycleStage: event?.lifecycleStage,
        serviceDeployment: event?.resourceArn,
        service: details.serviceArn,
        targetServiceRevision: revisionArn,
        ...answer,
      }),
    );
    const { reason: _reason, ...response } = answer;
    return response;
  };
}

/** The gate's value from SSM (GetParameter), undefined when the parameter does not exist. */
async function readGateFromSsm(name) {
  const { SSMClient, GetParameterCommand } = await import('@aws-sdk/client-ssm');
  readGateFromSsm.client ??= new SSMClient({});
  try {
    const reply = await readGateFromSsm.client.send(new GetParameterCommand({ Name: name }));
    return reply.Parameter?.Value;
  } catch (error) {
    if (error?.name === 'ParameterNotFound') return undefined;
    throw error;
  }
}

export const handler = createHandler({ readGate: readGateFromSsm });
