/**
 * An account bootstrapped as `cdk bootstrap` leaves it: the CDK CLI's own
 * bootstrap template (aws-cdk/lib/api/bootstrap/bootstrap-template.yaml),
 * with its defaults (qualifier hnb659fds, no trusted accounts), mapped by the
 * assembly loader as the CDKToolkit stack. The account gets what the template
 * creates: the four roles the CLI assumes (deploy, file and image publishing,
 * lookup) and the CloudFormation execution role, each with the template's
 * trust (the account) and policies; the staging bucket
 * cdk-hnb659fds-assets-ACCOUNT-REGION; the SSM parameter
 * /cdk-bootstrap/hnb659fds/version; and the CDKToolkit stack itself
 * (DescribeStacks, its outputs). The KMS key, the ECR repository and the
 * bucket policy are recorded in the stack, not modelled.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import type { CfnTemplate } from '../assembly/manifest.js';
import type { ManagedPolicySpec } from '../iam/model.js';
import type { Scenario } from '../scenario.js';
import { remap } from './remap.js';

export const CDK_TOOLKIT_STACK = 'CDKToolkit';

/**
 * The AWS managed policies the bootstrap roles attach, as the AWS Managed
 * Policy Reference gives them (a template only names them). ReadOnlyAccess
 * (the lookup role's) is left out: it grants nothing here, so context lookups
 * through the lookup role are refused.
 */
const AWS_MANAGED_POLICIES: ManagedPolicySpec[] = [
  {
    name: 'AWSCloudFormationReadOnlyAccess',
    arn: 'arn:aws:iam::aws:policy/AWSCloudFormationReadOnlyAccess',
    document: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: [
            'cloudformation:Describe*',
            'cloudformation:BatchDescribe*',
            'cloudformation:EstimateTemplateCost',
            'cloudformation:Get*',
            'cloudformation:List*',
            'cloudformation:ValidateTemplate',
            'cloudformation:Detect*',
          ],
          Resource: '*',
        },
      ],
    },
  },
  {
    name: 'AdministratorAccess',
    arn: 'arn:aws:iam::aws:policy/AdministratorAccess',
    document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
  },
];

/**
 * An empty account (no stacks, no services) with one administrator role, `admin`, trusted by the account:
 * where `cdk deploy` of a whole app starts (`npm run sim -- --empty --bootstrap`, test/sim/cdk-*.test.ts).
 */
export function emptyAccount(accountId = '123456789012'): Scenario {
  return {
    name: 'empty-account',
    clusters: [],
    taskDefinitions: [],
    stacks: [],
    iam: {
      roles: [
        {
          name: 'admin',
          arn: `arn:aws:iam::${accountId}:role/admin`,
          trust: {
            Statement: [
              {
                Effect: 'Allow',
                Principal: { AWS: `arn:aws:iam::${accountId}:root` },
                Action: 'sts:AssumeRole',
              },
            ],
          },
          policies: [
            { name: 'all', document: { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } },
          ],
        },
      ],
    },
  };
}

/** The bootstrap template of the CDK CLI installed beside the simulator. */
export function cdkBootstrapTemplate(): CfnTemplate {
  const require = createRequire(import.meta.url);
  const cli = dirname(require.resolve('aws-cdk/package.json'));
  const yaml = readFileSync(join(cli, 'lib', 'api', 'bootstrap', 'bootstrap-template.yaml'), 'utf8');
  return parse(yaml) as CfnTemplate;
}

/** `scenario` in a bootstrapped account: what the CDKToolkit stack creates, added to what it has. */
export function withCdkBootstrap(
  scenario: Scenario,
  env: { accountId: string; region: string } = { accountId: '123456789012', region: 'us-east-1' },
): Scenario {
  const template = cdkBootstrapTemplate();
  const mapped = remap([{ name: CDK_TOOLKIT_STACK, template, parameters: {} }], env);
  const toolkit = mapped.stacks.get(CDK_TOOLKIT_STACK);
  const bucket = toolkit?.resources.get('StagingBucket')?.physicalId;
  if (!bucket) throw new Error('the bootstrap template has no StagingBucket');
  const roles = mapped.scenario.iam?.roles ?? [];
  const names = new Set(roles.map((r) => r.name));
  return {
    ...scenario,
    iam: {
      ...scenario.iam,
      roles: [...(scenario.iam?.roles ?? []).filter((r) => !names.has(r.name)), ...roles],
      managedPolicies: [
        ...(scenario.iam?.managedPolicies ?? []),
        ...(mapped.scenario.iam?.managedPolicies ?? []),
        ...AWS_MANAGED_POLICIES.filter((p) => !scenario.iam?.managedPolicies?.some((m) => m.arn === p.arn)),
      ],
      oidcProviders: scenario.iam?.oidcProviders ?? [],
    },
    ssmParameters: [...(scenario.ssmParameters ?? []), ...(mapped.scenario.ssmParameters ?? [])],
    s3Buckets: [...(scenario.s3Buckets ?? []), { name: bucket }],
    stacks: [
      { name: CDK_TOOLKIT_STACK, template: template as Record<string, unknown> },
      ...(scenario.stacks ?? []),
    ],
  };
}
