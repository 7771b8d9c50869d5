import { describe, expect, it } from '@jest/globals';
import { memoryLog } from '../../../lib/log.js';
import { manualClock } from '../../../lib/time.js';
import { FollowProgress } from '../../../lib/ecs/follow/progress.js';
import { endedRollout, followEnding, type FollowState } from '../../../lib/ecs/follow/termination.js';

const running: FollowState = {
  cancelled: false,
  consecutiveErrors: 0,
  pending: 2,
  now: 1_000,
  deadline: 60_000,
  timeoutMs: 59_000,
};

describe('followEnding (the termination rules)', () => {
  it('keeps polling while rollouts are pending, in time, and readable', () => {
    expect(followEnding(running)).toBeUndefined();
    expect(followEnding({ ...running, consecutiveErrors: 2 })).toBeUndefined();
  });

  it('is done when no rollout is pending', () => {
    expect(followEnding({ ...running, pending: 0 })).toBe('done');
  });

  it('cancellation wins over every other rule', () => {
    expect(
      followEnding({ ...running, cancelled: true, consecutiveErrors: 3, firstFailure: 'web', now: 60_000 }),
    ).toEqual({ kind: 'cancelled' });
  });

  it('failed polls never end the wait before the deadline, however many in a row (an outage is ridden out)', () => {
    const error = new Error('ThrottlingException');
    expect(
      followEnding({ ...running, consecutiveErrors: 50, lastError: error, now: 59_999 }),
    ).toBeUndefined();
  });

  it('at the deadline with AWS unreadable (the last poll failed), the rollouts are unobservable, not timed out', () => {
    const error = new Error('ThrottlingException');
    expect(followEnding({ ...running, consecutiveErrors: 1, lastError: error, now: 60_000 })).toEqual({
      kind: 'unobservable',
      error,
      timeoutMs: 59_000,
    });
  });

  it('with stopOnFirstFailure, a failure ends the wait for the others before the deadline does', () => {
    expect(followEnding({ ...running, firstFailure: 'web', now: 60_000 })).toEqual({
      kind: 'aborted',
      failedService: 'web',
    });
  });

  it('times out at the deadline, not before', () => {
    expect(followEnding({ ...running, now: 59_999 })).toBeUndefined();
    expect(followEnding({ ...running, now: 60_000 })).toEqual({ kind: 'timeout', timeoutMs: 59_000 });
  });
});

describe('endedRollout', () => {
  it('names the last state seen, or that none was', () => {
    expect(endedRollout({ kind: 'timeout', timeoutMs: 90_000 }, 'IN_PROGRESS, 0/1 running')).toEqual({
      state: 'IN_PROGRESS, 0/1 running',
      failure: { kind: 'timeout', reason: 'not done after 1m30s (last state: IN_PROGRESS, 0/1 running)' },
    });
    expect(endedRollout({ kind: 'cancelled' }, undefined)).toEqual({
      state: 'starting',
      failure: { kind: 'cancelled', reason: 'cancelled while starting' },
    });
    expect(
      endedRollout(
        { kind: 'unobservable', error: new Error('socket hang up'), timeoutMs: 90_000 },
        undefined,
      ),
    ).toEqual({
      state: 'unknown',
      failure: {
        kind: 'unobservable',
        reason: 'AWS could not be read until the deadline (1m30s; last state seen: none): socket hang up',
      },
    });
    expect(endedRollout({ kind: 'aborted', failedService: 'api' }, 'PRIMARY is web:3').failure).toEqual({
      kind: 'aborted',
      reason: 'stopped following it because api failed (last state: PRIMARY is web:3)',
    });
  });
});

describe('FollowProgress', () => {
  it('writes one line per event and a heartbeat only after a quiet period', async () => {
    const log = memoryLog();
    const clock = manualClock();
    const progress = new FollowProgress({
      log,
      label: 'rollback',
      waitFor: 'steady',
      clock,
      heartbeatMs: 30_000,
      waitingFor: () => [{ service: 'web', state: 'IN_PROGRESS' }, { service: 'api' }],
    });
    progress.report([
      { kind: 'state', service: 'web', state: 'IN_PROGRESS' },
      { kind: 'poll-failed', consecutive: 1, error: new Error('ThrottlingException'), retryInMs: 1_500 },
    ]);
    progress.waiting(true);
    await clock.sleep(29_000);
    progress.waiting(false);
    expect(log.lines).toEqual([
      'web: IN_PROGRESS',
      'warning: rollback: cannot read AWS (1 failed poll(s) in a row; next try in 1.5s, until the deadline): ThrottlingException',
    ]);
    await clock.sleep(1_000);
    progress.waiting(false);
    progress.report([
      { kind: 'succeeded', service: 'web', taskDefinition: 'arn:aws:ecs:us-east-1:1:task-definition/web:4' },
    ]);
    expect(log.lines.slice(2)).toEqual([
      '… rollback: still waiting after 30s: web (IN_PROGRESS); api (starting)',
      '✓ web: web:4 steady (deployment COMPLETED) after 30s',
    ]);
  });
});
