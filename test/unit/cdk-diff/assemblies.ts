/**
 * Cloud assemblies for the cdk-diff tests: real syntheses of infra/ (base and
 * changed) and small hand-written ones.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as rds from 'aws-cdk-lib/aws-rds';
import { buildStaging } from '../../../infra/lib/staging.js';
import { committedContext } from '../../../infra/test/synth.js';

export type Staging = ReturnType<typeof buildStaging>;

/** Synthesizes infra/ in-process into a new temporary directory, after `change` edits the app. */
export function synthInfra(change?: (stacks: Staging) => void): string {
  const outdir = mkdtempSync(join(tmpdir(), 'cdk-diff-infra-'));
  const app = new App({ outdir, context: committedContext() });
  const stacks = buildStaging(app);
  change?.(stacks);
  app.synth();
  return outdir;
}

/** The edits a PR would make: a new RDS instance identifier, one more IAM statement. */
export const RENAMED_DB_IDENTIFIER = 'alva-staging-postgres-v2';
export const ADDED_ACTION = 's3:GetObject';
export const ADDED_RESOURCE = 'arn:aws:s3:::alva-staging-uploads/*';

export function renameDatabase(stacks: Staging): void {
  (stacks.database.instance.node.defaultChild as rds.CfnDBInstance).dbInstanceIdentifier =
    RENAMED_DB_IDENTIFIER;
}

export function addIamStatement(stacks: Staging): void {
  const role = (stacks.ciIdentity as Stack).node.findAll().find((c): c is iam.Role => c instanceof iam.Role);
  if (!role) throw new Error('infra/ has no IAM role in the CI identity stack');
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: [ADDED_ACTION], resources: [ADDED_RESOURCE] }),
  );
}

export interface HandStack {
  id: string;
  stackName?: string;
  template: Record<string, unknown>;
  /** Logical ID -> construct path. */
  paths?: Record<string, string>;
  environment?: string;
}

/** Writes a minimal cloud assembly (manifest.json + templates) as `cdk synth` lays it out. */
export function writeAssembly(
  stacks: HandStack[],
  dir = mkdtempSync(join(tmpdir(), 'cdk-diff-asm-')),
): string {
  mkdirSync(dir, { recursive: true });
  const artifacts: Record<string, unknown> = {};
  for (const stack of stacks) {
    const templateFile = `${stack.id}.template.json`;
    writeFileSync(join(dir, templateFile), JSON.stringify(stack.template, null, 1));
    artifacts[stack.id] = {
      type: 'aws:cloudformation:stack',
      environment: stack.environment ?? 'aws://123456789012/us-east-1',
      properties: { templateFile, ...(stack.stackName ? { stackName: stack.stackName } : {}) },
      metadata: Object.fromEntries(
        Object.entries(stack.paths ?? {}).map(([id, path]) => [
          `/${stack.id}/${path}`,
          [{ type: 'aws:cdk:logicalId', data: id }],
        ]),
      ),
      displayName: stack.id,
    };
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ version: '55.0.0', artifacts }));
  return dir;
}

/** A template with `count` log groups: an easy way to make a big diff. */
export function logGroups(count: number, prefix = 'Logs', retention = 7): Record<string, unknown> {
  const resources: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    resources[`${prefix}${i}`] = {
      Type: 'AWS::Logs::LogGroup',
      Properties: {
        LogGroupName: `/alva/${prefix.toLowerCase()}/${i}/${'x'.repeat(40)}`,
        RetentionInDays: retention,
      },
    };
  }
  return { Resources: resources };
}
