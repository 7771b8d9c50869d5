import { describe, expect, it } from '@jest/globals';
import { commentMarker, renderDiff, type RenderOptions } from '../../../lib/cdkdiff/comment.js';
import type { StackReport } from '../../../lib/cdkdiff/diff.js';

function report(name: string, text: string, extra: Partial<StackReport> = {}): StackReport {
  return {
    displayName: name,
    stackName: name,
    isNew: false,
    hasChanges: true,
    counts: { added: 1, updated: 0, removed: 0, replaced: 0 },
    destructive: [],
    iam: { statements: [], managedPolicies: [], broadened: false },
    securityGroups: [],
    text,
    ...extra,
  };
}

const options: RenderOptions = {
  stage: 'staging',
  title: 'CDK diff',
  comparedWith: 'the base branch',
  limit: 10_000,
  marker: true,
};
const lines = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `[+] AWS::Logs::LogGroup ${prefix}${i}`).join('\n');

describe('renderDiff', () => {
  it('cuts the largest diffs first, to the same cap, and keeps the small ones whole', () => {
    const stacks = [
      report('Huge', lines('H', 600)),
      report('Large', lines('L', 300)),
      report('Tiny', lines('T', 3)),
    ];
    const { body, cutStacks } = renderDiff(stacks, options);
    expect(body.length).toBeLessThanOrEqual(10_000);
    expect(body.length).toBeGreaterThan(9_000);
    expect(cutStacks).toEqual(['Huge', 'Large']);
    expect(body).toContain('[+] AWS::Logs::LogGroup T2');
    expect(body.match(/:scissors: Cut to/g)).toHaveLength(2);
    expect(body.startsWith(commentMarker('staging'))).toBe(true);
  });

  it('keeps table cells in their column and fences longer than any backticks in the diff', () => {
    const { body } = renderDiff(
      [
        report('S', 'value ```` with backticks', {
          iam: {
            statements: [
              ['', 'Resource'],
              ['+', 'a|b\nc'],
            ],
            managedPolicies: [],
            broadened: true,
          },
        }),
      ],
      options,
    );
    expect(body).toContain('| + | a\\|b<br>c |');
    expect(body).toContain('`````diff');
  });

  it('lists destructive changes first and marks allowed ones', () => {
    const { body } = renderDiff(
      [
        report('Data', 'x', {
          destructive: [
            {
              logicalId: 'Db',
              path: 'Database/Postgres',
              resourceType: 'AWS::RDS::DBInstance',
              kind: 'replacement',
              allowed: true,
            },
            { logicalId: 'Logs', resourceType: 'AWS::Logs::LogGroup', kind: 'removal', allowed: false },
          ],
        }),
      ],
      options,
    );
    expect(body.indexOf('[!CAUTION]')).toBeLessThan(body.indexOf('| Stack |'));
    expect(body).toContain('**2 destructive changes** (1 not allowed)');
    expect(body).toContain(
      '**replacement** of `AWS::RDS::DBInstance` `Database/Postgres` (`Db`) in **Data** (allowed by `allowed-destroy-types`)',
    );
    expect(body).toContain('**removal** of `AWS::Logs::LogGroup` `Logs` in **Data**\n');
  });
});
