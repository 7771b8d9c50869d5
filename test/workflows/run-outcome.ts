/** How the workflow tests judge a whole run. */
import { expect } from '@jest/globals';
import type { WorkflowRecord } from '../../runner/run.js';

/** The run succeeded; when it did not, the failure shows the log's tail, which says why. */
export function expectRunSucceeded(run: WorkflowRecord, log: string): void {
  expect({
    conclusion: run.conclusion,
    tail: run.conclusion === 'success' ? '' : log.slice(-3000),
  }).toEqual({
    conclusion: 'success',
    tail: '',
  });
}
