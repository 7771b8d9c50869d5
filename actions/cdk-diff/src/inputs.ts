import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../../../lib/errors.js';
import { bool, integer, list, optional, required, secret } from '../../_common/inputs.js';

export interface Inputs {
  /** Absolute path of the PR head's cloud assembly. */
  cloudAssembly: string;
  /** What the head is compared with. */
  against: { kind: 'base'; assembly: string } | { kind: 'deployed'; region?: string };
  githubToken?: string;
  /** Pull request to comment on, when the event does not carry one (workflow_run). */
  pullRequest?: number;
  stage: string;
  title: string;
  failOnDestructive: boolean;
  allowedDestroyTypes: string[];
}

function assemblyDir(input: string, value: string): string {
  const dir = resolve(process.env.GITHUB_WORKSPACE ?? process.cwd(), value);
  if (!existsSync(join(dir, 'manifest.json'))) {
    throw new InputError(
      input,
      `${dir} is not a cloud assembly (no manifest.json)`,
      'run `cdk synth -o <dir>` before this step and give that directory',
    );
  }
  return dir;
}

const RESOURCE_TYPE = /^[A-Za-z0-9*]+::[A-Za-z0-9*]+(::[A-Za-z0-9*]+)?$|^\*$/;

export function readInputs(): Inputs {
  const cloudAssembly = assemblyDir('cloud-assembly', required('cloud-assembly'));
  const base = optional('base-assembly');
  const deployed = bool('deployed', false);
  if (base && deployed) {
    throw new InputError(
      'deployed',
      'is true and `base-assembly` is set too',
      'compare with one of them: the base branch assembly or the deployed stacks',
    );
  }
  if (!base && !deployed) {
    throw new InputError(
      'base-assembly',
      'is empty and `deployed` is not true: there is nothing to compare with',
      "synthesize the base branch and give its cdk.out, or set `deployed: true` to read the stacks' templates from CloudFormation",
    );
  }
  const region = optional('aws-region');
  const stage = optional('stage') ?? 'default';
  if (!/^[A-Za-z0-9._/-]+$/.test(stage) || stage.includes('--')) {
    throw new InputError(
      'stage',
      `"${stage}" is not a plain name`,
      'use letters, digits, ".", "_", "/" or "-"',
    );
  }
  const allowedDestroyTypes = list('allowed-destroy-types');
  for (const type of allowedDestroyTypes) {
    if (!RESOURCE_TYPE.test(type)) {
      throw new InputError(
        'allowed-destroy-types',
        `"${type}" is not a CloudFormation resource type`,
        'list types such as AWS::RDS::DBInstance or AWS::Logs::*, separated by commas or new lines',
      );
    }
  }
  const pullRequest = integer('pull-request', 0, 0);
  const githubToken = secret('github-token');
  return {
    cloudAssembly,
    against: base
      ? { kind: 'base', assembly: assemblyDir('base-assembly', base) }
      : { kind: 'deployed', ...(region ? { region } : {}) },
    ...(githubToken ? { githubToken } : {}),
    ...(pullRequest > 0 ? { pullRequest } : {}),
    stage,
    title: optional('title') ?? (stage === 'default' ? 'CDK diff' : `CDK diff: ${stage}`),
    failOnDestructive: bool('fail-on-destructive', true),
    allowedDestroyTypes,
  };
}
