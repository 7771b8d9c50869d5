import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DOCUMENTED_MEMBERS, condition, hashFiles, interpolateString } from '../../../runner/expressions.js';

const ok = { success: () => true, failure: () => false, cancelled: () => false };

describe('what the runner cannot answer is refused, never empty', () => {
  const contexts = {
    github: { repository: 'acme/shop', workspace: '/w', event: {} },
    runner: { temp: '/t', tool_cache: '/tc' },
    env: {},
    steps: {},
  };

  it('refuses a member GitHub documents that the context does not hold, naming the expression', () => {
    expect(() => interpolateString('id=${{ github.repository_id }}', contexts, ok)).toThrow(
      '${{ github.repository_id }}: github.repository_id is not supported by the local runner',
    );
    expect(() => interpolateString("${{ github['actor_id'] }}", contexts, ok)).toThrow(/github\.actor_id/);
    expect(() => condition("runner.environment == 'github-hosted'", contexts, ok)).toThrow(
      /runner\.environment/,
    );
  });

  it('refuses a context that is not given where the expression is (GitHub refuses it too)', () => {
    expect(() => interpolateString('${{ needs.build.outputs.images }}', contexts, ok)).toThrow(
      /the needs context is not available here/,
    );
    expect(() => interpolateString('${{ toJSON(matrix) }}', contexts, ok)).toThrow(/matrix context/);
  });

  it('gives what it holds, and empty where GitHub gives empty (undocumented members, absent outputs, env, event fields)', () => {
    expect(interpolateString('${{ github.workspace }}|${{ runner.tool_cache }}', contexts, ok)).toBe(
      '/w|/tc',
    );
    expect(interpolateString('[${{ github.no_such_member }}]', contexts, ok)).toBe('[]');
    expect(
      interpolateString(
        '[${{ steps.x.outputs.y }}][${{ env.NOPE }}][${{ github.event.before }}]',
        contexts,
        ok,
      ),
    ).toBe('[][][]');
  });

  it('lists the github members GitHub documents, including the ones the issue named', () => {
    for (const member of [
      'workspace',
      'action_path',
      'event_path',
      'job',
      'run_attempt',
      'triggering_actor',
      'ref_protected',
      'graphql_url',
      'retention_days',
      'workflow_ref',
      'workflow_sha',
    ])
      expect(DOCUMENTED_MEMBERS.github).toContain(member);
    expect(DOCUMENTED_MEMBERS.runner).toEqual(
      expect.arrayContaining(['os', 'arch', 'temp', 'tool_cache', 'name', 'debug', 'environment']),
    );
  });
});

describe('hashFiles()', () => {
  it('hashes the matching files of the workspace, excludes !patterns, and is empty when nothing matches', () => {
    const workspace = mkdtempSync(join(tmpdir(), 'hashfiles-'));
    try {
      mkdirSync(join(workspace, 'a/node_modules'), { recursive: true });
      writeFileSync(join(workspace, 'a/package-lock.json'), 'one');
      writeFileSync(join(workspace, 'a/node_modules/package-lock.json'), 'ignored');
      writeFileSync(join(workspace, 'package-lock.json'), 'two');
      const ctx = { github: { workspace } };
      const digest = (text: string) => createHash('sha256').update(text).digest();
      const expected = createHash('sha256').update(digest('one')).update(digest('two')).digest('hex');
      expect(
        interpolateString("${{ hashFiles('**/package-lock.json', '!**/node_modules/**') }}", ctx, ok),
      ).toBe(expected);
      expect(hashFiles(workspace, ['**/*.nothing'])).toBe('');
      // A file outside the workspace is never read.
      const outside = mkdtempSync(join(tmpdir(), 'hashfiles-outside-'));
      writeFileSync(join(outside, 'package-lock.json'), 'outside');
      try {
        expect(hashFiles(workspace, [`../${basename(outside)}/package-lock.json`])).toBe('');
      } finally {
        rmSync(outside, { recursive: true, force: true });
      }
      expect(() => interpolateString("${{ hashFiles('x') }}", { github: {} }, ok)).toThrow(/workspace/);
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});
