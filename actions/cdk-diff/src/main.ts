/**
 * cdk-diff: diffs the synthesized cloud assembly against the base branch's (or
 * the deployed stacks), comments it on the pull request (one sticky comment per
 * stage), writes it in full to the job summary, and fails on destructive
 * changes that are not allowed.
 */
import * as core from '@actions/core';
import { SUMMARY_LIMIT, renderDiff } from '../../../lib/cdkdiff/comment.js';
import { compareAssemblies, describeAgainst, type Comparison } from '../../../lib/cdkdiff/compare.js';
import { CancelledError, OperationError, errorMessage } from '../../../lib/errors.js';
import { coreLog } from '../../_common/core-log.js';
import { runAction } from '../../_common/host.js';
import { jobSummary } from '../../_common/summary.js';
import { commentOnPullRequest, runContext, type CommentOutcome } from './github.js';
import { readInputs } from './inputs.js';

export function run(): Promise<void> {
  return runAction({ subject: 'Diff', onCancel: 'stopping before the comment', main });
}

export async function main(signal: AbortSignal): Promise<void> {
  const inputs = readInputs();
  const result = await core.group('Diff', () =>
    compareAssemblies(
      inputs.cloudAssembly,
      { against: inputs.against, allowedDestroyTypes: inputs.allowedDestroyTypes },
      coreLog,
    ),
  );
  core.setOutput('has-changes', String(result.hasChanges));
  core.setOutput('has-destructive-changes', String(result.destructive.length > 0));
  if (signal.aborted) throw new CancelledError(String(signal.reason));

  const base = {
    stage: inputs.stage,
    title: inputs.title,
    comparedWith: describeAgainst(inputs.against),
    dropped: result.dropped,
    ...runContext(),
  };
  let outcome: CommentOutcome;
  let commentError: unknown;
  try {
    outcome = await core.group('Comment', () => commentOnPullRequest(inputs, base, result));
  } catch (err) {
    commentError = err;
    outcome = {
      notice: `Commenting failed: ${errorMessage(err)}. The diff is only in this job summary.`,
      cutStacks: [],
    };
  }
  core.setOutput('comment-url', outcome.url ?? '');

  const notice = summaryNotice(outcome);
  const summary = renderDiff(result.reports, {
    ...base,
    limit: SUMMARY_LIMIT,
    marker: false,
    ...(notice ? { notice } : {}),
  });
  await jobSummary().markdown(summary.body).write();

  if (commentError) throw commentError;
  if (inputs.failOnDestructive && result.blocked.length > 0) throw destructiveError(result);
}

/** Why the summary has the diff (and not only the comment), and where the comment is. */
function summaryNotice(outcome: CommentOutcome): string | undefined {
  const why =
    outcome.notice ??
    (outcome.cutStacks.length > 0
      ? `The PR comment cut the diff of ${outcome.cutStacks.join(', ')} to fit GitHub's comment limit; here it is in full.`
      : undefined);
  if (!outcome.url) return why;
  return `${why ? `${why} ` : ''}PR comment: ${outcome.url}`;
}

function destructiveError(result: Comparison): OperationError {
  const lines = result.blocked.map(
    (b) =>
      `${b.change.kind} of ${b.change.resourceType} ${b.change.path ?? b.change.logicalId} in ${b.stack}`,
  );
  return new OperationError(
    `${result.blocked.length} destructive change(s) not allowed:\n  ${lines.join('\n  ')}\n` +
      'Review them; to accept a type, add it to `allowed-destroy-types`, or set `fail-on-destructive: false`.',
  );
}
