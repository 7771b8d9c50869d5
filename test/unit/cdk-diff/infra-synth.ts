/**
 * Real syntheses of infra/ for the cdk-diff tests: the base app and a changed
 * copy (the edits a PR would make, applied to the constructs before synth).
 */
import { mkdtempSync } from 'node:fs';
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
