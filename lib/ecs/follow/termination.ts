/**
 * When following rollouts stops, and what each rollout still pending then
 * ends as. Pure functions of the loop's state: no clock, no AWS, no log.
 */
import { errorMessage } from '../../errors.js';
import { formatDuration } from '../../time.js';
import type { FailureKind } from '../rollout.js';

/** Following stops with rollouts still pending. */
export type Ending =
  | { kind: 'cancelled' }
  /** The deadline passed while AWS could not be read (the last poll failed). */
  | { kind: 'unobservable'; error: unknown; timeoutMs: number }
  /** stopOnFirstFailure: `failedService` failed, the others are not followed further. */
  | { kind: 'aborted'; failedService: string }
  | { kind: 'timeout'; timeoutMs: number };

export interface FollowState {
  /** The signal aborted before this poll, or the poll failed while it aborted. */
  cancelled: boolean;
  /** Polls failed in a row (0: the last poll read AWS). Never an ending by itself: reads are retried until the deadline. */
  consecutiveErrors: number;
  lastError?: unknown;
  /** Rollouts without an outcome yet. */
  pending: number;
  /** With stopOnFirstFailure: the first followed service (in target order) that failed. */
  firstFailure?: string;
  now: number;
  deadline: number;
  timeoutMs: number;
}

/** 'done': every rollout has its outcome; an Ending: stop now; undefined: poll again. */
export function followEnding(s: FollowState): 'done' | Ending | undefined {
  if (s.cancelled) return { kind: 'cancelled' };
  if (s.pending === 0) return 'done';
  if (s.firstFailure !== undefined) return { kind: 'aborted', failedService: s.firstFailure };
  if (s.now < s.deadline) return undefined;
  if (s.consecutiveErrors > 0) return { kind: 'unobservable', error: s.lastError, timeoutMs: s.timeoutMs };
  return { kind: 'timeout', timeoutMs: s.timeoutMs };
}

/** What a rollout still pending when following ends records: its state and why it failed. */
export function endedRollout(
  ending: Ending,
  lastState: string | undefined,
): { state: string; failure: { kind: FailureKind; reason: string } } {
  switch (ending.kind) {
    case 'cancelled': {
      const state = lastState ?? 'starting';
      return { state, failure: { kind: 'cancelled', reason: `cancelled while ${state}` } };
    }
    case 'unobservable':
      return {
        state: lastState ?? 'unknown',
        failure: {
          kind: 'unobservable',
          reason: `AWS could not be read until the deadline (${formatDuration(ending.timeoutMs)}; last state seen: ${lastState ?? 'none'}): ${errorMessage(ending.error)}`,
        },
      };
    case 'aborted': {
      const state = lastState ?? 'starting';
      return {
        state,
        failure: {
          kind: 'aborted',
          reason: `stopped following it because ${ending.failedService} failed (last state: ${state})`,
        },
      };
    }
    case 'timeout': {
      const state = lastState ?? 'starting';
      return {
        state,
        failure: {
          kind: 'timeout',
          reason: `not done after ${formatDuration(ending.timeoutMs)} (last state: ${state})`,
        },
      };
    }
  }
}
