import { describe, expect, it } from '@jest/globals';
import { condition, interpolate, interpolateString } from '../../runner/expressions.js';

const ok = { success: () => true, failure: () => false, cancelled: () => false };
const failed = { success: () => false, failure: () => true, cancelled: () => false };

describe('runner expressions', () => {
  const ctx = {
    inputs: { images: '', from: 'api' },
    needs: { build: { result: 'success', outputs: { images: '{"api":"repo/api@sha256:1"}' } } },
  };
  it('evaluates GitHub functions and operators', () => {
    expect(
      interpolate('${{ fromJSON(inputs.images || needs.build.outputs.images)[inputs.from] }}', ctx, ok),
    ).toBe('repo/api@sha256:1');
    expect(interpolateString('x-${{ inputs.from }}-${{ 1 == 1 }}', ctx, ok)).toBe('x-api-true');
  });
  it('implies success() unless a status function is used', () => {
    expect(condition("inputs.images == ''", ctx, ok)).toBe(true);
    expect(condition("inputs.images == ''", ctx, failed)).toBe(false);
    expect(condition('${{ failure() }}', ctx, failed)).toBe(true);
    expect(condition('${{ !failure() && !cancelled() }}', ctx, ok)).toBe(true);
    expect(condition(undefined, ctx, failed)).toBe(false);
    expect(condition('always()', ctx, failed)).toBe(true);
  });
  it('refuses unknown contexts loudly', () => {
    expect(() => condition('nothere.x', ctx, ok)).toThrow();
  });
});
