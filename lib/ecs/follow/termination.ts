/**
 * When following rollouts stops, and what each rollout still pending then
 * ends as. Pure functions of the loop's state: no clock, no AWS, no log.
 */
import { errorMessage } from '../../errors.js';
import { formatDuration } from '../../time.js';
import type { FailureKind } from '../rollout.js';

/** Polls that may fail in a row before the rollouts count as unobservable. */
export const MAX_CONSECUTIVE_POLL_ERRORS = 3;

/** Following stops with rollouts still pending. */
export type Ending =
  | { kind: 'cancelled' }
  | { kind: 'unobservable'; error: unknown }
  /** stopOnFirstFailure: `failedService` failed, the others are not followed further. */
  | { kind: 'aborted'; failedService: string }
  | { kind: 'timeout'; timeoutMs: number };

export interface FollowState {
  /** The signal aborted before this poll, or the poll failed while it aborted. */
  cancelled: boolean;
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
  if (s.consecutiveErrors >= MAX_CONSECUTIVE_POLL_ERRORS) return { kind: 'unobservable', error: s.lastError };
  if (s.pending === 0) return 'done';
  if (s.firstFailure !== undefined) return { kind: 'aborted', failedService: s.firstFailure };
  if (s.now >= s.deadline) return { kind: 'timeout', timeoutMs: s.timeoutMs };
  return undefined;
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
          reason: `cannot read the rollout's state: ${errorMessage(ending.error)}`,
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
