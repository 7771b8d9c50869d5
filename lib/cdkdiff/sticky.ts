/**
 * One comment per stage on a pull request, found again by its hidden marker
 * and edited in place. The lookup reads every page of comments: a busy PR has
 * more than one page, and missing the old comment would post a duplicate.
 */

export interface IssueComment {
  id: number;
  body?: string | null;
  html_url: string;
  user?: { type?: string; login?: string } | null;
}

/** The GitHub calls the sticky comment needs (an adapter over Octokit in the action). */
export interface CommentApi {
  /** Yields the PR's comments page by page, oldest first. */
  listComments(): AsyncIterable<IssueComment[]>;
  createComment(body: string): Promise<IssueComment>;
  updateComment(id: number, body: string): Promise<IssueComment>;
}

export interface StickyResult {
  action: 'created' | 'updated';
  url: string;
  id: number;
}

async function findStickyComment(api: CommentApi, marker: string): Promise<IssueComment | undefined> {
  for await (const page of api.listComments()) {
    const found = page.find((comment) => comment.body?.includes(marker));
    if (found) return found;
  }
  return undefined;
}

/** Updates this stage's comment, or creates it when there is none yet. */
export async function upsertStickyComment(
  api: CommentApi,
  marker: string,
  body: string,
): Promise<StickyResult> {
  if (!body.includes(marker)) throw new Error(`comment body lacks its marker ${marker}`);
  const existing = await findStickyComment(api, marker);
  if (existing) {
    const updated = await api.updateComment(existing.id, body);
    return { action: 'updated', url: updated.html_url, id: updated.id };
  }
  const created = await api.createComment(body);
  return { action: 'created', url: created.html_url, id: created.id };
}
