/** Every input of the verify action, read and validated here before any AWS call. */
import * as core from '@actions/core';
import {
  expectedRevisions,
  parseDeployments,
  type ExpectedRevision,
} from '../../../lib/contracts/deployments.js';
import { checkRegionAndAccount, checkServiceList } from '../../../lib/contracts/ecs-refs.js';
import { InputError } from '../../../lib/errors.js';
import {
  CHECK_METHODS,
  CheckSyntaxError,
  allowedMethods,
  parseChecks,
  type HttpCheck,
} from '../../../lib/verify/checks.js';
import type { Traffic } from '../../../lib/verify/green.js';
import { withoutCredentials } from '../../../lib/verify/http.js';
import { integer, list, optional, required, stepRegion } from '../../_common/inputs.js';

export interface Inputs {
  cluster: string;
  services: string[];
  deployments?: Map<string, ExpectedRevision>;
  baseUrl?: string;
  checks: HttpCheck[];
  consecutiveSuccesses: number;
  timeoutSeconds: number;
  /** production: the services' production traffic; test: each blue/green service's green revision through its test listener. */
  traffic: Traffic;
}

export function getInputs(env: NodeJS.ProcessEnv = process.env): Inputs {
  const cluster = required('cluster', 'give the cluster name, e.g. `cluster: my-cluster`');
  const services = list('services');
  if (services.length === 0) {
    throw new InputError('services', 'is required but empty', 'list the services to verify, one per line');
  }
  checkServiceList(services, cluster);

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

  checkRegionAndAccount(
    [
      { input: 'cluster', value: cluster },
      ...services.map((value) => ({ input: 'services', value })),
      ...[...(deployments?.values() ?? [])].flatMap((d) =>
        [d.newTaskDefinitionArn, d.previousTaskDefinitionArn ?? ''].map((value) => ({
          input: 'deployments',
          value,
        })),
      ),
    ],
    stepRegion(env),
  );

  const baseUrl = parseBaseUrl(optional('base-url'));
  const methods = list('allow-methods');
  const { allowed, unknown } = allowedMethods(methods);
  if (unknown.length > 0) {
    throw new InputError(
      'allow-methods',
      `${quoted(unknown)} ${unknown.length === 1 ? 'is not an HTTP method' : 'are not HTTP methods'}`,
      `list methods verify may send besides GET and HEAD, from ${CHECK_METHODS.join(', ')}`,
    );
  }

  let checks: HttpCheck[];
  try {
    checks = parseChecks(optional('checks') ?? '', allowed);
  } catch (err) {
    if (err instanceof CheckSyntaxError) {
      throw new InputError(
        'checks',
        err.message,
        err.fix ?? 'write one check per line: METHOD PATH STATUS [body substring]',
      );
    }
    throw err;
  }

  const traffic = optional('traffic') ?? 'production';
  if (traffic !== 'production' && traffic !== 'test') {
    throw new InputError(
      'traffic',
      `"${traffic}" is neither "production" nor "test"`,
      'give `production` (the default) or `test` (the green revision of blue/green services, through their test listener)',
    );
  }

  return {
    cluster,
    services,
    traffic,
    ...(deployments ? { deployments } : {}),
    ...(baseUrl ? { baseUrl } : {}),
    checks,
    consecutiveSuccesses: integer('consecutive-successes', 3, 1, 100),
    timeoutSeconds: integer('timeout-seconds', 300, 1, 6 * 3600),
  };
}

const quoted = (names: string[]) => names.map((s) => `"${s}"`).join(', ');

/**
 * `base-url`: an http(s) URL without query or fragment. Its `user:password@`
 * (sent as Basic auth) is masked in the log from here on, and no message
 * shows it: errors name the URL without it.
 */
function parseBaseUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  maskPassword(raw);
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) {
    throw new InputError(
      'base-url',
      `"${withoutCredentials(raw)}" is not an http(s) URL without query`,
      'give e.g. https://staging.example.com',
    );
  }
  return raw.replace(/\/+$/, '');
}

/** The password of `user:password@`, as written and decoded, masked by the runner in every later line. */
function maskPassword(raw: string): void {
  const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(raw)?.[1];
  const colon = userinfo?.indexOf(':') ?? -1;
  if (!userinfo || colon < 0) return;
  const password = userinfo.slice(colon + 1);
  if (password === '') return;
  core.setSecret(password);
  try {
    const decoded = decodeURIComponent(password);
    if (decoded !== password) core.setSecret(decoded);
  } catch {
    // Not percent-encoding: masked as written.
  }
}
