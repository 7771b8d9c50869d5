import { describe, expect, it } from '@jest/globals';
import { DOCUMENTED_MEMBERS, interpolateString, condition } from '../../../runner/expressions.js';

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
