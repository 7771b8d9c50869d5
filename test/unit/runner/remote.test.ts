import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemoteRepositories, parseRemoteUses, resolveGitRef } from '../../../runner/remote.js';
import { commitAll, gitAs } from '../../workflows/consumer-repos.js';

let tmp: string;
let repo: string;
let plain: string;
let first: string;
let second: string;

const git = gitAs('t', 't@t');

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'remote-test-'));
  repo = join(tmp, 'suite');
  mkdirSync(join(repo, 'actions/x'), { recursive: true });
  git(repo, 'init', '--quiet');
  writeFileSync(join(repo, 'actions/x/action.yml'), 'name: x v1\n');
  first = commitAll(repo, 'one', git);
  git(repo, 'tag', 'v1');
  writeFileSync(join(repo, 'actions/x/action.yml'), 'name: x v2\n');
  git(repo, 'commit', '--quiet', '-am', 'two');
  second = git(repo, 'rev-parse', 'HEAD');
  git(repo, 'branch', 'release');
  // Uncommitted work in the checkout: never what a ref resolves to.
  writeFileSync(join(repo, 'actions/x/action.yml'), 'name: x dirty\n');
  plain = join(tmp, 'plain');
  mkdirSync(join(plain, 'actions/x'), { recursive: true });
  writeFileSync(join(plain, 'actions/x/action.yml'), 'name: x plain\n');
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('parseRemoteUses', () => {
  it('splits OWNER/REPO/path@ref and refuses a uses: without a ref or a repository', () => {
    expect(parseRemoteUses('acme/ecs-ship/actions/deploy-services@v1')).toEqual({
      repository: 'acme/ecs-ship',
      path: 'actions/deploy-services',
      ref: 'v1',
    });
    expect(parseRemoteUses('acme/ecs-ship@main')).toEqual({
      repository: 'acme/ecs-ship',
      path: '',
      ref: 'main',
    });
    expect(() => parseRemoteUses('acme/ecs-ship/actions/deploy-services')).toThrow(
      /OWNER\/REPO\[\/PATH\]@REF/,
    );
    expect(() => parseRemoteUses('acme@v1')).toThrow(/OWNER\/REPO/);
  });
});

describe('resolveGitRef', () => {
  it('resolves a tag, a branch and a full SHA as GitHub names them; an abbreviated SHA or an unknown name resolves to nothing', () => {
    expect(resolveGitRef(repo, 'v1')).toEqual({ sha: first, fullRef: 'refs/tags/v1' });
    expect(resolveGitRef(repo, 'release')).toEqual({ sha: second, fullRef: 'refs/heads/release' });
    expect(resolveGitRef(repo, first)).toEqual({ sha: first, fullRef: first });
    expect(resolveGitRef(repo, first.slice(0, 7))).toBeUndefined();
    expect(resolveGitRef(repo, 'v9')).toBeUndefined();
  });
});

describe('RemoteRepositories', () => {
  it('refuses an unmapped repository, naming the option that maps it', () => {
    const remotes = new RemoteRepositories({ 'acme/suite': repo });
    expect(() => remotes.at('acme/other', 'v1', 'step "deploy"')).toThrow(
      'step "deploy": no local checkout of acme/other is mapped; map one with RunnerOptions.uses, or --use acme/other=PATH on the command line',
    );
    expect(() => new RemoteRepositories({ 'acme/suite': join(tmp, 'missing') })).toThrow(/does not exist/);
    expect(() => new RemoteRepositories({ acme: repo })).toThrow(/not OWNER\/REPO/);
  });

  it('reads a git checkout at the ref: the commit’s tree exported, never the working tree; a missing ref is an error naming it', () => {
    const remotes = new RemoteRepositories({ 'Acme/Suite': repo });
    try {
      const v1 = remotes.at('acme/suite', 'v1', 'w');
      expect(v1).toEqual(
        expect.objectContaining({ sha: first, fullRef: 'refs/tags/v1', source: 'git', ref: 'v1' }),
      );
      expect(readFileSync(join(v1.dir, 'actions/x/action.yml'), 'utf8')).toBe('name: x v1\n');
      expect(existsSync(join(v1.dir, '.git'))).toBe(false);
      const head = remotes.at('acme/suite', undefined, 'w');
      expect(head.sha).toBe(second);
      expect(readFileSync(join(head.dir, 'actions/x/action.yml'), 'utf8')).toBe('name: x v2\n');
      expect(() => remotes.at('acme/suite', 'v9', 'job "release"')).toThrow(
        `job "release": acme/suite has no tag, branch or commit "v9" in its checkout ${repo}`,
      );
      // One export per commit and run.
      expect(remotes.at('acme/suite', first, 'w').dir).toBe(v1.dir);
      remotes.close();
      expect(existsSync(v1.dir)).toBe(false);
    } finally {
      remotes.close();
    }
  });

  it('reads a directory that is not a git repository as it is, for any ref, and says so', () => {
    const remotes = new RemoteRepositories({ 'acme/plain': plain });
    const r = remotes.at('acme/plain', 'v1', 'w');
    expect(r).toEqual(expect.objectContaining({ dir: plain, source: 'directory', sha: '', ref: 'v1' }));
    expect(remotes.describe(r)).toMatch(/not a git repository, so the ref is not resolved/);
  });
});
