/** cdk-diff's side of GitHub: the pull request, the run's URL, and the sticky comment over Octokit. */
import * as core from '@actions/core';
import * as github from '@actions/github';
import {
  COMMENT_LIMIT,
  commentMarker,
  renderDiff,
  type RenderOptions,
} from '../../../lib/cdkdiff/comment.js';
import type { Comparison } from '../../../lib/cdkdiff/compare.js';
import { upsertStickyComment, type CommentApi, type IssueComment } from '../../../lib/cdkdiff/sticky.js';
import { OperationError, errorMessage } from '../../../lib/errors.js';
import type { Inputs } from './inputs.js';

type Octokit = ReturnType<typeof github.getOctokit>;

export interface PullRequestRef {
  owner: string;
  repo: string;
  issueNumber: number;
}

/** The sticky comment's calls over Octokit; comments are listed 100 per page, every page. */
export function commentApi(octokit: Octokit, pr: PullRequestRef): CommentApi {
  const { owner, repo, issueNumber } = pr;
  return {
    async *listComments() {
      const pages = octokit.paginate.iterator(octokit.rest.issues.listComments, {
        owner,
        repo,
        issue_number: issueNumber,
        per_page: 100,
      });
      for await (const page of pages) yield page.data as IssueComment[];
    },
    createComment: async (body) =>
      (await octokit.rest.issues.createComment({ owner, repo, issue_number: issueNumber, body })).data,
    updateComment: async (id, body) =>
      (await octokit.rest.issues.updateComment({ owner, repo, comment_id: id, body })).data,
  };
}

/** HTTP status of an Octokit RequestError, if it is one. */
export function httpStatus(err: unknown): number | undefined {
  const status = (err as { status?: unknown })?.status;
  return typeof status === 'number' ? status : undefined;
}

/** The diff's header fields that come from the run: its URL and the commit. */
export function runContext(): Pick<RenderOptions, 'runUrl' | 'commit'> {
  const { serverUrl, runId } = github.context;
  const repository = process.env.GITHUB_REPOSITORY;
  const sha = github.context.payload.pull_request?.head?.sha ?? github.context.sha;
  return {
    ...(repository && runId ? { runUrl: `${serverUrl}/${repository}/actions/runs/${runId}` } : {}),
    ...(sha ? { commit: String(sha).slice(0, 7) } : {}),
  };
}

function pullRequestNumber(inputs: Inputs): number | undefined {
  if (inputs.pullRequest) return inputs.pullRequest;
  const payload = github.context.payload;
  const number =
    payload.pull_request?.number ?? (payload.issue?.pull_request ? payload.issue.number : undefined);
  return typeof number === 'number' ? number : undefined;
}

export interface CommentOutcome {
  url?: string;
  /** Why the diff is only in the job summary. */
  notice?: string;
  cutStacks: string[];
}

/**
 * Creates or updates the stage's sticky comment on the pull request. No pull
 * request, no token or a read-only token (403/404, a fork's) is a notice, not
 * a failure: the diff is then only in the job summary.
 */
export async function commentOnPullRequest(
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
