/** Every input of the verify action, read and validated here before any AWS call. */
import {
  expectedRevisions,
  parseDeployments,
  type ExpectedRevision,
} from '../../../lib/contracts/deployments.js';
import { InputError } from '../../../lib/errors.js';
import { CheckSyntaxError, parseChecks, type HttpCheck } from '../../../lib/verify/checks.js';
import { integer, list, optional, required } from '../../_common/inputs.js';

export interface Inputs {
  cluster: string;
  services: string[];
  deployments?: Map<string, ExpectedRevision>;
  baseUrl?: string;
  checks: HttpCheck[];
  consecutiveSuccesses: number;
  timeoutSeconds: number;
}

export function getInputs(): Inputs {
  const cluster = required('cluster', 'give the cluster name, e.g. `cluster: my-cluster`');
  const services = list('services');
  if (services.length === 0) {
    throw new InputError('services', 'is required but empty', 'list the services to verify, one per line');
  }
  const duplicate = services.find((s, i) => services.indexOf(s) !== i);
  if (duplicate) throw new InputError('services', `"${duplicate}" is listed twice`, 'list each service once');

  const deploymentsText = optional('deployments');
  const deployments = deploymentsText
    ? expectedRevisions(parseDeployments(deploymentsText, 'deployments'))
    : undefined;
  if (deployments) {
    const absent = services.filter((s) => !deployments.has(s));
    if (absent.length > 0) {
      throw new InputError(
        'deployments',
        `has no entry for ${quoted(absent)} (it has ${deployments.size ? quoted([...deployments.keys()]) : 'none'})`,
        'verify the services that step deployed, or drop `deployments` to take each PRIMARY deployment as new',
      );
    }
  }

  const baseUrl = optional('base-url');
  if (baseUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(baseUrl);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) {
      throw new InputError(
        'base-url',
        `"${baseUrl}" is not an http(s) URL without query`,
        'give e.g. https://staging.example.com',
      );
    }
  }

  let checks: HttpCheck[];
  try {
    checks = parseChecks(optional('checks') ?? '');
  } catch (err) {
    if (err instanceof CheckSyntaxError) {
      throw new InputError(
        'checks',
        err.message,
        'write one check per line: METHOD PATH STATUS [body substring]',
      );
    }
    throw err;
  }

  return {
    cluster,
    services,
    ...(deployments ? { deployments } : {}),
    ...(baseUrl ? { baseUrl: baseUrl.replace(/\/+$/, '') } : {}),
    checks,
    consecutiveSuccesses: integer('consecutive-successes', 3, 1, 100),
    timeoutSeconds: integer('timeout-seconds', 300, 1, 6 * 3600),
  };
}

const quoted = (names: string[]) => names.map((s) => `"${s}"`).join(', ');
