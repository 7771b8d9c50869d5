import type { getOctokit } from '@actions/github';
import type { CommentApi, IssueComment } from '../../../lib/cdkdiff/sticky.js';

type Octokit = ReturnType<typeof getOctokit>;

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
