/**
 * The sticky comment against Octokit (@actions/github's getOctokit), with
 * GitHub's REST API mocked by nock.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import nock from 'nock';
import { getOctokit } from '@actions/github';
import { commentApi } from '../../../actions/cdk-diff/src/github.js';
import { commentMarker } from '../../../lib/cdkdiff/comment.js';
import { upsertStickyComment } from '../../../lib/cdkdiff/sticky.js';

const API = 'https://api.github.com';
const pr = { owner: 'acme', repo: 'alva', issueNumber: 7 };
const marker = commentMarker('staging');
/** @actions/github's Octokit fetches with its own undici copy; nock intercepts Node's global fetch. */
const octokit = () => getOctokit('token', { request: { fetch: globalThis.fetch } });

function comments(from: number, count: number, extra: object[] = []) {
  return [
    ...Array.from({ length: count }, (_, i) => ({
      id: from + i,
      body: `comment ${from + i} <!-- cdk-diff:production -->`,
      html_url: `https://github.com/acme/alva/pull/7#issuecomment-${from + i}`,
    })),
    ...extra,
  ];
}

beforeAll(() => nock.disableNetConnect());
// Jest runs other test files in this process next: give them their network back.
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe('sticky comment', () => {
  it('creates the comment when the PR has none for the stage', async () => {
    let posted = '';
    nock(API)
      .get('/repos/acme/alva/issues/7/comments')
      .query({ per_page: '100' })
      .reply(200, comments(1, 3))
      .post('/repos/acme/alva/issues/7/comments', (body: { body: string }) => ((posted = body.body), true))
      .reply(201, { id: 99, body: 'x', html_url: 'https://github.com/acme/alva/pull/7#issuecomment-99' });

    const api = commentApi(octokit(), pr);
    const result = await upsertStickyComment(api, marker, `${marker}\n## CDK diff`);
    expect(result).toEqual({
      action: 'created',
      id: 99,
      url: 'https://github.com/acme/alva/pull/7#issuecomment-99',
    });
    expect(posted).toBe(`${marker}\n## CDK diff`);
  });

  it('finds the comment on the second page and updates it in place', async () => {
    let patched = '';
    nock(API)
      .get('/repos/acme/alva/issues/7/comments')
      .query({ per_page: '100' })
      .reply(200, comments(1, 100), {
        Link: `<${API}/repositories/1/issues/7/comments?per_page=100&page=2>; rel="next", <${API}/repositories/1/issues/7/comments?per_page=100&page=2>; rel="last"`,
      })
      .get('/repositories/1/issues/7/comments')
      .query({ per_page: '100', page: '2' })
      .reply(
        200,
        comments(101, 20, [
          {
            id: 4242,
            body: `${marker}\nold diff`,
            html_url: 'https://github.com/acme/alva/pull/7#issuecomment-4242',
          },
        ]),
      )
      .patch(
        '/repos/acme/alva/issues/comments/4242',
        (body: { body: string }) => ((patched = body.body), true),
      )
      .reply(200, { id: 4242, body: 'x', html_url: 'https://github.com/acme/alva/pull/7#issuecomment-4242' });

    const api = commentApi(octokit(), pr);
    const result = await upsertStickyComment(api, marker, `${marker}\nnew diff`);
    expect(result).toEqual({
      action: 'updated',
      id: 4242,
      url: 'https://github.com/acme/alva/pull/7#issuecomment-4242',
    });
    expect(patched).toBe(`${marker}\nnew diff`);
  });
});
