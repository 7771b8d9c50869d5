/**
 * Real diffs: infra/ synthesized twice (the base and a changed copy), diffed
 * with the library the action uses, rendered as the PR comment.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { COMMENT_LIMIT, renderDiff } from '../../../lib/cdkdiff/comment.js';
import { compareAssemblies, type Comparison } from '../../../lib/cdkdiff/compare.js';
import { memoryLog } from '../../../lib/log.js';
import {
  ADDED_ACTION,
  ADDED_RESOURCE,
  RENAMED_DB_IDENTIFIER,
  addIamStatement,
  renameDatabase,
  synthInfra,
} from './infra-synth.js';

let base: string;
let changed: string;

beforeAll(() => {
  base = synthInfra();
  changed = synthInfra((stacks) => {
    renameDatabase(stacks);
    addIamStatement(stacks);
  });
}, 120_000);

function render(result: Comparison): string {
  return renderDiff(result.reports, {
    stage: 'staging',
    title: 'CDK diff: staging',
    comparedWith: 'the base branch',
    limit: COMMENT_LIMIT,
    marker: true,
  }).body;
}

describe('cdk-diff on two syntheses of infra/', () => {
  it('reports the renamed RDS instance as a replacement that blocks, unless its type is allowed', async () => {
    const result = await compareAssemblies(
      changed,
      { against: { kind: 'base', assembly: base }, allowedDestroyTypes: [] },
      memoryLog(),
    );
    const database = result.reports.find((r) => r.stackName.includes('Database'));
    expect(database?.counts.replaced).toBe(1);
    expect(result.blocked).toEqual([
      {
        stack: database!.displayName,
        change: expect.objectContaining({
          resourceType: 'AWS::RDS::DBInstance',
          kind: 'replacement',
          allowed: false,
          path: expect.stringContaining('Postgres'),
        }),
      },
    ]);
    const body = render(result);
    expect(body).toMatch(/\[!CAUTION\][\s\S]*\*\*replacement\*\* of `AWS::RDS::DBInstance`/);
    expect(body).toContain(RENAMED_DB_IDENTIFIER);
    expect(body).toContain('(requires replacement)');

    const allowed = await compareAssemblies(
      changed,
      { against: { kind: 'base', assembly: base }, allowedDestroyTypes: ['AWS::RDS::DBInstance'] },
      memoryLog(),
    );
    expect(allowed.destructive).toHaveLength(1);
    expect(allowed.blocked).toEqual([]);
    expect(render(allowed)).toContain('(allowed by `allowed-destroy-types`)');
  }, 120_000);

  it('shows an added IAM statement in the IAM section', async () => {
    const result = await compareAssemblies(
      changed,
      { against: { kind: 'base', assembly: base }, allowedDestroyTypes: [] },
      memoryLog(),
    );
    const ci = result.reports.find((r) => r.iam.statements.length > 0);
    expect(ci?.stackName).toMatch(/CiIdentity/);
    expect(ci?.iam.statements).toContainEqual([
      '+',
      ADDED_RESOURCE,
      'Allow',
      ADDED_ACTION,
      expect.any(String),
      '',
    ]);
    const body = render(result);
    const iamSection = body.slice(body.indexOf('### IAM changes'), body.indexOf('### Full diff'));
    expect(iamSection).toContain(`| + | ${ADDED_RESOURCE} | Allow | ${ADDED_ACTION} |`);
    // Only the changed stacks are in the table; the rest are named in one line.
    expect(body).toMatch(/No changes: .*Network/);
  }, 120_000);

  it('says so when the app is unchanged', async () => {
    const result = await compareAssemblies(
      base,
      { against: { kind: 'base', assembly: base }, allowedDestroyTypes: [] },
      memoryLog(),
    );
    expect(result.hasChanges).toBe(false);
    expect(result.reports.length).toBeGreaterThan(5);
    expect(render(result)).toContain(
      `**No infrastructure changes**: all ${result.reports.length} stacks match the base branch.`,
    );
  }, 120_000);
});
