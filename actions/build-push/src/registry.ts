/**
 * The registry build-push pushes to: ECR (credentials from GetAuthorizationToken)
 * or any OCI registry (username/password inputs), how its tags are read and
 * moved, and the docker login to it.
 */
import * as core from '@actions/core';
import { clientConfig } from '../../../lib/aws/config.js';
import { OperationError, errorMessage } from '../../../lib/errors.js';
import type { ScanResult } from '../../../lib/images/ecr.js';
import type { ImageStore, Runner, ServiceResult } from '../../../lib/images/pipeline.js';
import { REVISION_LABEL } from '../../../lib/images/command.js';
import { movingTagWarnings } from '../../../lib/images/immutable-tags.js';
import { RegistryClient, registryHost } from '../../../lib/images/registry.js';
import { coreLog } from '../../_common/core-log.js';
import type { Inputs } from './inputs.js';

export interface Registry {
  host: string;
  store: ImageStore;
  credentials?: { username: string; password: string };
  describe: string;
  scan?: (result: ServiceResult, signal: AbortSignal) => Promise<ScanResult>;
}

export async function connectRegistry(inputs: Inputs): Promise<Registry> {
  const repositories = [...new Set(inputs.services.map((s) => s.repository))];
  if (inputs.registry.kind === 'generic') {
    const { registry, username, password } = inputs.registry;
    // Masked only once the inputs are valid: on bad input the password never reaches the log at all.
    if (password) core.setSecret(password);
    const credentials = username && password ? { username, password } : undefined;
    const client = new RegistryClient(registry, credentials);
    return {
      host: registryHost(registry),
      credentials,
      describe: registryHost(registry),
      store: {
        lookup: (r, t) => client.lookup(r, t),
        retag: (r, d, t) => client.retag(r, d, t),
        revision: (r, d) => client.labels(r, d).then((labels) => labels?.[REVISION_LABEL]),
      },
    };
  }
  const { registryId, region } = inputs.registry;
  const [{ ECRClient }, ecrLib] = await Promise.all([
    import('@aws-sdk/client-ecr'),
    import('../../../lib/images/ecr.js'),
  ]);
  const ecr = new ECRClient(clientConfig({ region }));
  const login = await ecrLogin(ecrLib, ecr, registryId);
  const tagRules = await ecrLib.checkRepositories(ecr, repositories, registryId);
  for (const [repository, rules] of tagRules) {
    for (const warning of movingTagWarnings(repository, rules, {
      cacheTag: inputs.cacheTag,
      tags: inputs.movingTags,
    })) {
      core.warning(warning, { title: 'ECR tag immutability' });
    }
  }
  const client = new RegistryClient(login.proxyEndpoint, login);
  const threshold = inputs.failOnSeverity;
  return {
    host: registryHost(login.proxyEndpoint),
    credentials: login,
    describe: `ECR ${registryHost(login.proxyEndpoint)}`,
    store: {
      lookup: (r, t) => ecrLib.ecrLookup(ecr, r, t, registryId),
      // ECR speaks the registry API too: moving a tag is putting the same manifest under it.
      retag: (r, d, t) => client.retag(r, d, t),
      revision: (r, d) => client.labels(r, d).then((labels) => labels?.[REVISION_LABEL]),
    },
    scan: threshold
      ? (result, scanSignal) =>
          ecrLib.awaitScan(ecr, {
            repository: result.repository,
            digest: result.digest!,
            threshold,
            registryId,
            timeoutMs: inputs.scanTimeoutMs,
            log: coreLog,
            signal: scanSignal,
          })
      : undefined,
  };
}

async function ecrLogin(
  ecrLib: typeof import('../../../lib/images/ecr.js'),
  ecr: import('@aws-sdk/client-ecr').ECRClient,
  registryId?: string,
) {
  try {
    const login = await ecrLib.ecrLogin(ecr, registryId);
    core.setSecret(login.password);
    core.setSecret(Buffer.from(`${login.username}:${login.password}`).toString('base64'));
    return login;
  } catch (err) {
    if (err instanceof OperationError) throw err;
    throw new OperationError(`ECR GetAuthorizationToken failed: ${errorMessage(err)}`, [
      'The job needs AWS credentials allowed ecr:GetAuthorizationToken (aws-actions/configure-aws-credentials), and a region (AWS_REGION or the aws-region input).',
    ]);
  }
}

/** `docker login` with the registry's credentials; the password goes by stdin and never into a message. */
export async function dockerLogin(
  docker: Runner,
  registry: Registry & { credentials: NonNullable<Registry['credentials']> },
  kind: Inputs['registry']['kind'],
): Promise<void> {
  const { username, password } = registry.credentials;
  const login = await docker.run(['login', '--username', username, '--password-stdin', registry.host], {
    stdin: password,
  });
  if (login.exitCode === 0) return;
  const said = login.output.split(password).join('***').trim();
  throw new OperationError(
    `docker login to ${registry.describe} as ${username} failed: ${said
      .split('\n')
      .filter((l) => !/^WARNING|credential|login\/#/i.test(l))
      .slice(-3)
      .join(' ')}`,
    [
      kind === 'ecr'
        ? "The registry rejected the password from ECR GetAuthorizationToken: check the credentials' account and region, and that the registry is the ECR endpoint."
        : 'Check the `username` and `password` inputs (a token with push permission).',
    ],
  );
}
