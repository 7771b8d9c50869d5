import * as core from '@actions/core';
import * as github from '@actions/github';
import {
  COMMENT_LIMIT,
  SUMMARY_LIMIT,
  commentMarker,
  renderDiff,
  type RenderOptions,
} from '../../../lib/cdkdiff/comment.js';
import { compareAssemblies, describeAgainst, type Comparison } from '../../../lib/cdkdiff/compare.js';
import { upsertStickyComment } from '../../../lib/cdkdiff/sticky.js';
import { InputError, OperationError, errorMessage } from '../../../lib/errors.js';
import { coreLog } from '../../_common/core-log.js';
import { commentApi, httpStatus } from './github.js';
import { readInputs, type Inputs } from './inputs.js';

interface CommentOutcome {
  url?: string;
  /** Why the diff is only in the job summary. */
  notice?: string;
  cutStacks: string[];
}

function runUrl(): string | undefined {
  const { serverUrl, runId } = github.context;
  const repository = process.env.GITHUB_REPOSITORY;
  return repository && runId ? `${serverUrl}/${repository}/actions/runs/${runId}` : undefined;
}

function pullRequestNumber(inputs: Inputs): number | undefined {
  if (inputs.pullRequest) return inputs.pullRequest;
  const payload = github.context.payload;
  const number =
    payload.pull_request?.number ?? (payload.issue?.pull_request ? payload.issue.number : undefined);
  return typeof number === 'number' ? number : undefined;
}

async function comment(
  inputs: Inputs,
  base: Omit<RenderOptions, 'limit' | 'marker'>,
  result: Comparison,
): Promise<CommentOutcome> {
  const number = pullRequestNumber(inputs);
  if (number === undefined) {
    return {
      notice: `This run is not for a pull request${github.context.eventName ? ` (event \`${github.context.eventName}\`)` : ''}: the diff is only in this job summary.`,
      cutStacks: [],
    };
  }
  if (!inputs.githubToken) {
    return { notice: 'No `github-token`: the diff is only in this job summary.', cutStacks: [] };
  }
  const rendered = renderDiff(result.reports, { ...base, limit: COMMENT_LIMIT, marker: true });
  if (rendered.cutStacks.length > 0) {
    core.warning(
      `The diff of ${rendered.cutStacks.join(', ')} was cut to fit GitHub's ${COMMENT_LIMIT}-character comment limit; the full diff is in the job summary.`,
    );
  }
  const { owner, repo } = github.context.repo;
  const api = commentApi(github.getOctokit(inputs.githubToken), { owner, repo, issueNumber: number });
  try {
    const sticky = await upsertStickyComment(api, commentMarker(inputs.stage), rendered.body);
    core.info(`${sticky.action === 'created' ? 'Created' : 'Updated'} comment ${sticky.url}`);
    return { url: sticky.url, cutStacks: rendered.cutStacks };
  } catch (err) {
    const status = httpStatus(err);
    if (status === 403 || status === 404) {
      // A pull_request run from a fork gets a read-only token: not the diff's fault.
      const notice = `Could not comment on pull request #${number} (HTTP ${status}: ${errorMessage(err)}). Pull requests from forks get a read-only token; the diff is only in this job summary. The action's README shows how to comment on pull requests from forks.`;
      core.notice(notice);
      return { notice, cutStacks: [] };
    }
    throw new OperationError(`Could not comment on pull request #${number}: ${errorMessage(err)}`, [
      status ? `GitHub answered HTTP ${status}.` : 'No HTTP status: the GitHub API could not be reached.',
    ]);
  }
}

export async function run(): Promise<void> {
  try {
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

    const sha = github.context.payload.pull_request?.head?.sha ?? github.context.sha;
    const base = {
      stage: inputs.stage,
      title: inputs.title,
      comparedWith: describeAgainst(inputs.against),
      dropped: result.dropped,
      ...(runUrl() ? { runUrl: runUrl() } : {}),
      ...(sha ? { commit: String(sha).slice(0, 7) } : {}),
    };
    let outcome: CommentOutcome;
    let commentError: unknown;
    try {
      outcome = await core.group('Comment', () => comment(inputs, base, result));
    } catch (err) {
      commentError = err;
      outcome = {
        notice: `Commenting failed: ${errorMessage(err)}. The diff is only in this job summary.`,
        cutStacks: [],
      };
    }
    core.setOutput('comment-url', outcome.url ?? '');

    const summaryNotice =
      outcome.notice ??
      (outcome.cutStacks.length > 0
        ? `The PR comment cut the diff of ${outcome.cutStacks.join(', ')} to fit GitHub's comment limit; here it is in full.`
        : undefined);
    const summary = renderDiff(result.reports, {
      ...base,
      limit: SUMMARY_LIMIT,
      marker: false,
      ...(summaryNotice ? { notice: summaryNotice } : {}),
      ...(outcome.url
        ? { notice: `${summaryNotice ? `${summaryNotice} ` : ''}PR comment: ${outcome.url}` }
        : {}),
    });
    await core.summary.addRaw(summary.body).write();

    if (commentError) throw commentError;
    if (inputs.failOnDestructive && result.blocked.length > 0) {
      const lines = result.blocked.map(
        (b) =>
          `${b.change.kind} of ${b.change.resourceType} ${b.change.path ?? b.change.logicalId} in ${b.stack}`,
      );
      core.setFailed(
        `${result.blocked.length} destructive change(s) not allowed:\n  ${lines.join('\n  ')}\n` +
          'Review them; to accept a type, add it to `allowed-destroy-types`, or set `fail-on-destructive: false`.',
      );
    }
  } catch (err) {
    if (err instanceof OperationError && err.details.length > 0) core.error(err.details.join('\n'));
    core.setFailed(
      err instanceof InputError || err instanceof OperationError ? err.message : errorMessage(err),
    );
  }
}
