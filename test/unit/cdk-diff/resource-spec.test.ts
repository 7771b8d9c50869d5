/**
 * resource-spec.tsv is what the bundled action knows about replacements and
 * IAM/security-group properties: it must match the installed database.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decodeResourceSpec, encodeResourceSpec } from '../../../lib/cdkdiff/resource-spec.js';

const root = join(import.meta.dirname, '..', '..', '..');
const tsvPath = join(root, 'lib', 'cdkdiff', 'resource-spec.tsv');
const require = createRequire(import.meta.url);

describe('resource-spec.tsv', () => {
  it('matches @aws-cdk/aws-service-spec as installed (UPDATE_RESOURCE_SPEC=1 rewrites it)', () => {
    const dbPath = join(require.resolve('@aws-cdk/aws-service-spec'), '..', '..', 'db.json.gz');
    const fresh = encodeResourceSpec(JSON.parse(gunzipSync(readFileSync(dbPath)).toString('utf8')));
    if (process.env.UPDATE_RESOURCE_SPEC === '1') writeFileSync(tsvPath, fresh);
    expect(readFileSync(tsvPath, 'utf8') === fresh).toBe(true);
  });

  it('round-trips what the diff reads: replacement and scrutiny per property', () => {
    const database = decodeResourceSpec(readFileSync(tsvPath, 'utf8'));
    const byType = new Map(
      Object.values(database.schema.resource.entities).map((r) => [r.cloudFormationType, r]),
    );
    expect(byType.get('AWS::RDS::DBInstance')?.properties?.DBInstanceIdentifier).toEqual({
      causesReplacement: 'yes',
    });
    expect(byType.get('AWS::RDS::DBInstance')?.properties?.DBInstanceClass).toEqual({});
    expect(byType.get('AWS::IAM::Role')?.properties?.Policies).toEqual({
      scrutinizable: 'InlineIdentityPolicies',
    });
    expect(byType.get('AWS::EC2::SecurityGroupIngress')?.scrutinizable).toBe('IngressRuleResource');
    expect(byType.size).toBeGreaterThan(1000);
  });
});
