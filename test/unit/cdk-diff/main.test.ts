/**
 * The action's run(): inputs from a mocked @actions/core, GitHub's REST API
 * mocked by nock under the real Octokit.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import * as core from '../../../actions/__fixtures__/core.js';
import { logGroups, writeAssembly } from './fixtures.js';

const API = 'https://api.github.com';
const eventDir = mkdtempSync(join(tmpdir(), 'cdk-diff-event-'));
writeFileSync(
  join(eventDir, 'event.json'),
  JSON.stringify({ pull_request: { number: 7, head: { sha: 'abcdef0123456789' } } }),
);
Object.assign(process.env, {
  GITHUB_EVENT_NAME: 'pull_request',
  GITHUB_EVENT_PATH: join(eventDir, 'event.json'),
  GITHUB_REPOSITORY: 'acme/alva',
  GITHUB_RUN_ID: '42',
  GITHUB_SERVER_URL: 'https://github.com',
});

const realGithub = await import('@actions/github');
jest.unstable_mockModule('@actions/core', () => core);
// @actions/github's Octokit fetches with its own undici copy; nock intercepts Node's global fetch.
jest.unstable_mockModule('@actions/github', () => ({
  ...realGithub,
  getOctokit: (token: string) => realGithub.getOctokit(token, { request: { fetch: globalThis.fetch } }),
}));
const { run } = await import('../../../actions/cdk-diff/src/main.js');

let inputs: Record<string, string>;

function outputs(): Record<string, unknown> {
  return Object.fromEntries(core.setOutput.mock.calls.map(([name, value]) => [name, value]));
}

function summaryText(): string {
  return core.summary.addRaw.mock.calls.map(([text]) => text).join('\n');
}

beforeAll(() => nock.disableNetConnect());
// Jest runs other test files in this process next: give them their network back.
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});
beforeEach(() => {
  jest.clearAllMocks();
  core.getInput.mockImplementation((name: string) => inputs[name] ?? '');
});
afterEach(() => {
  process.exitCode = undefined;
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe('cdk-diff run()', () => {
  it('cuts the largest stack diff so the comment fits, and puts the whole diff in the job summary', async () => {
    const base = writeAssembly([
      { id: 'Big', template: logGroups(900, 'Big', 7) },
      { id: 'Small', template: logGroups(1, 'Small', 7) },
    ]);
    const head = writeAssembly([
      { id: 'Big', template: logGroups(900, 'Big', 30) },
      { id: 'Small', template: logGroups(1, 'Small', 30) },
    ]);
    inputs = { 'cloud-assembly': head, 'base-assembly': base, 'github-token': 'token', stage: 'staging' };
    let posted = '';
    nock(API)
      .get('/repos/acme/alva/issues/7/comments')
      .query(true)
      .reply(200, [])
      .post('/repos/acme/alva/issues/7/comments', (body: { body: string }) => ((posted = body.body), true))
      .reply(201, { id: 5, html_url: 'https://github.com/acme/alva/pull/7#issuecomment-5' });

    await run();

    expect(core.setFailed).not.toHaveBeenCalled();
    expect(posted.length).toBeLessThanOrEqual(65_536);
    expect(posted.length).toBeGreaterThan(60_000);
    expect(posted.startsWith('<!-- cdk-diff:staging -->')).toBe(true);
    expect(posted).toMatch(
      /Cut to [\d,]+ of [\d,]+ characters to fit GitHub's comment limit; the full diff is in the \[job summary\]\(https:\/\/github.com\/acme\/alva\/actions\/runs\/42\)/,
    );
    // The small stack's diff is whole; the big one lost its tail.
    expect(posted).toMatch(/RetentionInDays[\s\S]*-\s+├─ \[-\] 7[\s\S]*\+\s+└─ \[\+\] 30/);
    expect(posted).not.toContain('Big899');
    expect(summaryText()).toContain('Big899');
    expect(summaryText()).toContain('cut the diff of Big');
    expect(core.warning).toHaveBeenCalledWith(expect.stringContaining('was cut to fit'));
    expect(outputs()).toEqual({
      'has-changes': 'true',
      'has-destructive-changes': 'false',
      'comment-url': 'https://github.com/acme/alva/pull/7#issuecomment-5',
    });
  }, 180_000);

  it('treats a 403 from a fork PR as a notice: the diff goes to the job summary and the step succeeds', async () => {
    const base = writeAssembly([{ id: 'Logs', template: logGroups(1, 'Logs', 7) }]);
    const head = writeAssembly([{ id: 'Logs', template: logGroups(1, 'Logs', 14) }]);
    inputs = { 'cloud-assembly': head, 'base-assembly': base, 'github-token': 'read-only', stage: 'staging' };
    nock(API)
      .get('/repos/acme/alva/issues/7/comments')
      .query(true)
      .reply(403, { message: 'Resource not accessible by integration' });

    await run();

    expect(core.setFailed).not.toHaveBeenCalled();
    expect(core.notice).toHaveBeenCalledWith(expect.stringMatching(/HTTP 403.*forks get a read-only token/));
    expect(summaryText()).toMatch(/\[!NOTE\][\s\S]*HTTP 403[\s\S]*RetentionInDays/);
    expect(outputs()).toEqual({
      'has-changes': 'true',
      'has-destructive-changes': 'false',
      'comment-url': '',
    });
  });

  it('fails on a destructive change after commenting, naming it', async () => {
    const base = writeAssembly([{ id: 'Logs', template: logGroups(2, 'Logs') }], undefined);
    const head = writeAssembly([{ id: 'Logs', template: logGroups(1, 'Logs') }]);
    inputs = { 'cloud-assembly': head, 'base-assembly': base, 'github-token': 'token' };
    let posted = '';
    nock(API)
      .get('/repos/acme/alva/issues/7/comments')
      .query(true)
      .reply(200, [{ id: 3, body: '<!-- cdk-diff:default -->\nold', html_url: 'https://github.com/c/3' }])
      .patch('/repos/acme/alva/issues/comments/3', (body: { body: string }) => ((posted = body.body), true))
      .reply(200, { id: 3, html_url: 'https://github.com/c/3' });

    await run();

    expect(posted).toContain('**removal** of `AWS::Logs::LogGroup` `Logs1`');
    expect(core.setFailed).toHaveBeenCalledWith(
      expect.stringContaining('removal of AWS::Logs::LogGroup Logs1 in Logs'),
    );
    expect(outputs()['has-destructive-changes']).toBe('true');

    // The same change with its type allowed by a pattern: listed, not failed.
    jest.clearAllMocks();
    inputs = { ...inputs, 'allowed-destroy-types': 'AWS::RDS::DBInstance\nAWS::Logs::*' };
    nock(API)
      .get('/repos/acme/alva/issues/7/comments')
      .query(true)
      .reply(200, [{ id: 3, body: '<!-- cdk-diff:default -->\nold', html_url: 'https://github.com/c/3' }])
      .patch('/repos/acme/alva/issues/comments/3', (body: { body: string }) => ((posted = body.body), true))
      .reply(200, { id: 3, html_url: 'https://github.com/c/3' });
    await run();
    expect(posted).toContain('`Logs1` in **Logs** (allowed by `allowed-destroy-types`)');
    expect(core.setFailed).not.toHaveBeenCalled();
    expect(outputs()['has-destructive-changes']).toBe('true');
  });

  it.each([
    [
      { 'base-assembly': 'HEAD', deployed: 'true' },
      'Input "deployed": is true and `base-assembly` is set too',
    ],
    [{}, 'Input "base-assembly": is empty and `deployed` is not true'],
    [
      { 'base-assembly': '/nonexistent' },
      'Input "base-assembly": /nonexistent is not a cloud assembly (no manifest.json)',
    ],
    [{ 'base-assembly': 'HEAD', stage: 'a -->' }, 'Input "stage": "a -->" is not a plain name'],
    [
      { 'base-assembly': 'HEAD', 'allowed-destroy-types': 'AWS::RDS::DBInstance, rds' },
      'Input "allowed-destroy-types": "rds" is not a CloudFormation resource type',
    ],
  ])('rejects bad input %j before any call, naming the input', async (given, message) => {
    const head = writeAssembly([{ id: 'Logs', template: logGroups(1) }]);
    inputs = Object.fromEntries(
      Object.entries({ 'cloud-assembly': head, 'github-token': 'token', ...given }).map(([k, v]) => [
        k,
        v === 'HEAD' ? head : v,
      ]),
    );
    await run();
    const input = /^Input "([^"]+)"/.exec(message)![1];
    expect(core.error).toHaveBeenCalledWith(expect.stringContaining(message), { title: input });
    expect(process.exitCode).toBe(1);
    expect(core.setOutput).not.toHaveBeenCalled();
  });
});
