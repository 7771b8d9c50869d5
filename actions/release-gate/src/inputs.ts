/** Every input of the action, read and checked in one place. */
import { parseDeployments } from '../../../lib/contracts/deployments.js';
import { InputError } from '../../../lib/errors.js';
import {
  checkParameterName,
  checkReleaseId,
  gatedRevisions,
  parseGateState,
  type GateState,
} from '../../../lib/gate/gate.js';
import { optional, required } from '../../_common/inputs.js';

export interface Inputs {
  parameter: string;
  state: GateState;
  release: string;
  /** open: the revisions the gate lets shift production. */
  revisions: string[];
  reason?: string;
}

export const DEFAULT_REASON = 'the release run failed or was cancelled';

export function getInputs(env: NodeJS.ProcessEnv = process.env): Inputs {
  const parameter = checkParameterName(
    required(
      'parameter',
      "set `parameter:` to the gate's SSM parameter name (infra's output ReleaseGateParameterName)",
    ),
  );
  const state = parseGateState(required('state', 'set `state:` to pending, open or closed'));
  const release = checkReleaseId(optional('release') ?? defaultRelease(env));
  const rawDeployments = optional('deployments');
  if (state === 'open' && rawDeployments === undefined)
    throw new InputError(
      'deployments',
      'is required with `state: open` (the gate opens for the revisions deploy-services recorded)',
      "pass deploy-services' output: `deployments: ${{ steps.deploy.outputs.deployments }}`",
    );
  // closed never needs deployments: it must work on every exit path of a failed or cancelled job.
  const revisions = state === 'open' ? gatedRevisions(parseDeployments(rawDeployments!)) : [];
  const reason = optional('reason');
  return {
    parameter,
    state,
    release,
    revisions,
    ...(state === 'closed' ? { reason: reason ?? DEFAULT_REASON } : reason ? { reason } : {}),
  };
}

/** `<run id>-<run attempt>`, as action.yml's default says; only when GitHub's variables are there. */
function defaultRelease(env: NodeJS.ProcessEnv): string {
  if (env.GITHUB_RUN_ID) return `${env.GITHUB_RUN_ID}-${env.GITHUB_RUN_ATTEMPT ?? '1'}`;
  throw new InputError(
    'release',
    'is empty and GITHUB_RUN_ID is not set',
    'give `release:` (default: ${{ github.run_id }}-${{ github.run_attempt }})',
  );
}
