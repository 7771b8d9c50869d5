/**
 * The one entry of every action: `runAction({ subject, onCancel, main, post })`.
 * It owns what no action should write again:
 * - cancellation: the runner cancels a step with SIGINT, then SIGTERM about
 *   7.5 s later, then SIGKILL; the first signal aborts the AbortSignal main
 *   gets, with one warning line, so main can clean up (stop its task, roll
 *   back) and fail by itself;
 * - the error policy, the same for every action (see `failure`);
 * - the end: by `process.exitCode`, never `process.exit()`, so outputs,
 *   summaries and the exit code survive under any harness (the runner,
 *   @github/local-action, the unit tests);
 * - the main/post dispatch of actions with a post step.
 */
import * as core from '@actions/core';
import { CancelledError, InputError, OperationError, errorMessage } from '../../lib/errors.js';
import { awsInputError } from './inputs.js';
import { isPostStep, markMainStep } from './state.js';
import { jobSummary, pre, summaryWrites } from './summary.js';

export interface Action {
  /**
   * What the step does, as the noun that opens its messages: "Verification" →
   * "Verification cancelled: received SIGINT" and a "Verification failed" summary.
   */
  subject: string;
  /** What the step does when cancelled, for its warning: "stopping verification". */
  onCancel: string;
  /** The action's recipe. Throws to fail the step (see `failure`); returns to succeed. */
  main(signal: AbortSignal): Promise<void>;
  /** The post step (action.yml `runs.post` pointing at the same bundle); runs only after main did. */
  post?(): Promise<void>;
}

export async function runAction(action: Action): Promise<void> {
  if (action.post && isPostStep()) {
    await settle(action, action.post, new AbortController().signal);
    return;
  }
  if (action.post) markMainStep();
  const cancellation = cancellationSignal((name) => core.warning(`Received ${name}: ${action.onCancel}`));
  try {
    await settle(action, () => action.main(cancellation.signal), cancellation.signal);
  } finally {
    cancellation.dispose();
  }
}

async function settle(action: Action, step: () => Promise<void>, signal: AbortSignal): Promise<void> {
  const summariesBefore = summaryWrites();
  try {
    await step();
  } catch (err) {
    const f = failure(action.subject, err, signal);
    failStep([f.message, ...f.details].join('\n'), f.title);
    if (f.stack) core.debug(f.stack);
    // The summary says what happened when the recipe did not write one itself.
    if (summaryWrites() === summariesBefore) {
      await failureSummary(f).catch((e: unknown) =>
        core.debug(`job summary not written: ${errorMessage(e)}`),
      );
    }
  }
}

/** How the step fails: its annotation, and what the log and the summary add. */
interface Failure {
  /** Heading of the job summary section. */
  heading: string;
  /** The failure annotation's first line(s). */
  message: string;
  /** Follow the message in the annotation; collapsed under it in the summary. */
  details: string[];
  /** The annotation's title: the input at fault. */
  title?: string;
  /** Logged at debug level: the stack of an unexpected error. */
  stack?: string;
}

/**
 * The one error policy:
 * - InputError, or an AWS error only a wrong input causes (awsInputError): its
 *   message (it names the input and the fix), titled with the input;
 * - OperationError: its message, then its details (also when cancelled: the
 *   recipe reached a verdict that says so);
 * - CancelledError, or any other error once the signal aborted (an aborted SDK
 *   call or fetch throws its own AbortError, but the cause is the signal):
 *   "<subject> cancelled: <why>";
 * - anything else: its message as is, its stack at debug level.
 */
function failure(subject: string, err: unknown, signal: AbortSignal): Failure {
  const failed = `${subject} failed`;
  const input = err instanceof InputError ? err : awsInputError(err);
  if (input) return { heading: failed, message: input.message, details: [], title: input.input };
  if (err instanceof OperationError) {
    return { heading: failed, message: err.message, details: err.details };
  }
  if (err instanceof CancelledError || signal.aborted) {
    // A CancelledError says where it stopped; another error's cause is the signal.
    const why = err instanceof CancelledError ? err.message : String(signal.reason);
    const heading = `${subject} cancelled`;
    return { heading, message: `${heading}: ${why}`, details: [] };
  }
  return {
    heading: failed,
    message: errorMessage(err),
    details: [],
    ...(err instanceof Error && err.stack ? { stack: err.stack } : {}),
  };
}

/** Fails the step: the error annotation (titled when a title is given) and exit code 1. */
function failStep(message: string, title?: string): void {
  if (title === undefined) core.setFailed(message);
  else core.error(message, { title });
  // The host owns the end of the process: core.setFailed sets this too, core.error does not.
  process.exitCode = core.ExitCode.Failure;
}

async function failureSummary(f: Failure): Promise<void> {
  const summary = jobSummary().heading(f.heading).paragraph(pre(f.message));
  if (f.details.length > 0) summary.details(`Details (${f.details.length} lines)`, pre(f.details.join('\n')));
  await summary.write();
}

/** An error annotation on one service or input, named in its title; it does not fail the step by itself. */
export function annotateError(title: string, message: string): void {
  core.error(message, { title });
}

interface Cancellation {
  signal: AbortSignal;
  /** Stops listening: the next signal ends the process as Node's default does. */
  dispose(): void;
}

/** SIGINT and SIGTERM abort the signal, once, naming the signal: "received SIGINT". */
function cancellationSignal(onSignal: (name: NodeJS.Signals) => void): Cancellation {
  const controller = new AbortController();
  const handler = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    onSignal(name);
    controller.abort(`received ${name}`);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
