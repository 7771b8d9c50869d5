/**
 * The templates stacks are deployed with, from CloudFormation GetTemplate:
 * what `cdk diff` compares with when there is no base assembly. A stack
 * that does not exist yet has no template (every resource is an addition).
 */
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { parse as parseYaml, type Tags } from 'yaml';
import { clientConfig } from '../aws/config.js';
import { OperationError } from '../errors.js';
import type { AssemblyStack, Template } from './assembly.js';

/** CloudFormation's YAML short forms (!Ref, !GetAtt, !Sub, ...) as their JSON long forms. */
const INTRINSICS = [
  'Ref',
  'Condition',
  'GetAtt',
  'Sub',
  'Join',
  'Select',
  'Split',
  'FindInMap',
  'GetAZs',
  'ImportValue',
  'If',
  'Equals',
  'Not',
  'And',
  'Or',
  'Base64',
  'Cidr',
  'Transform',
  'ToJsonString',
  'Length',
];
const cfnTags: Tags = INTRINSICS.flatMap((name) => {
  const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
  const wrap = (value: unknown) => ({
    [key]: name === 'GetAtt' && typeof value === 'string' ? value.split('.') : value,
  });
  const json = (node: unknown) => wrap((node as { toJSON(): unknown }).toJSON());
  return [
    { tag: `!${name}`, resolve: (text: string) => wrap(text) },
    { tag: `!${name}`, collection: 'seq' as const, resolve: json },
    { tag: `!${name}`, collection: 'map' as const, resolve: json },
  ];
}) as Tags;

/** A TemplateBody: JSON, or YAML for stacks deployed from a YAML template. */
export function parseTemplateBody(body: string): Template {
  try {
    return JSON.parse(body) as Template;
  } catch {
    return parseYaml(body, { customTags: cfnTags }) as Template;
  }
}

function isMissingStack(err: unknown): boolean {
  const e = err as { name?: string; message?: string };
  return e?.name === 'ValidationError' && /does not exist/i.test(e.message ?? '');
}

export interface DeployedOptions {
  /** Region for stacks whose environment does not fix one (default from the environment). */
  region?: string;
  /** Builds a client for a region (tests inject their own). */
  client?: (region: string | undefined) => CloudFormationClient;
}

/** Each stack's deployed template; undefined when the stack does not exist yet. */
export async function deployedTemplates(
  stacks: readonly AssemblyStack[],
  options: DeployedOptions = {},
): Promise<Map<AssemblyStack, Template | undefined>> {
  const { CloudFormationClient, GetTemplateCommand } = await import('@aws-sdk/client-cloudformation');
  const clients = new Map<string, CloudFormationClient>();
  const clientFor = (region: string | undefined) => {
    const key = region ?? '';
    let client = clients.get(key);
    if (!client) {
      client = options.client?.(region) ?? new CloudFormationClient(clientConfig({ region }));
      clients.set(key, client);
    }
    return client;
  };
  const result = new Map<AssemblyStack, Template | undefined>();
  await Promise.all(
    stacks.map(async (stack) => {
      const region = stack.region ?? options.region;
      try {
        const reply = await clientFor(region).send(
          new GetTemplateCommand({ StackName: stack.stackName, TemplateStage: 'Original' }),
        );
        result.set(stack, reply.TemplateBody ? parseTemplateBody(reply.TemplateBody) : undefined);
      } catch (err) {
        if (isMissingStack(err)) {
          result.set(stack, undefined);
          return;
        }
        throw new OperationError(
          `GetTemplate for stack ${stack.stackName}${region ? ` in ${region}` : ''} failed: ${(err as Error).name}: ${(err as Error).message}`,
          [
            'The role needs cloudformation:GetTemplate on the stacks; or diff against the base branch with `base-assembly` instead.',
          ],
        );
      }
    }),
  );
  for (const client of clients.values()) client.destroy();
  return result;
}
