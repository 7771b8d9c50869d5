/**
 * What a consumer's workflow sees through the runner, without AWS: the
 * github and runner contexts and their variables, actions/checkout of the
 * repository itself, of another ref of it and of another (mapped) repository,
 * and refusals that name what is missing instead of evaluating to empty.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runWorkflow, type RunnerOptions } from '../../runner/run.js';
import { commitAll, gitAs } from './consumer-repos.js';

let tmp: string;
let app: string;
let lib: string;
let appHead: string;
let libV2: string;

const git = gitAs('t', 't@t');

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'consumer-context-'));
  app = join(tmp, 'app');
  mkdirSync(join(app, '.github/workflows'), { recursive: true });
  git(app, 'init', '--quiet');
  writeFileSync(join(app, 'version'), 'one\n');
  commitAll(app, 'one', git);
  git(app, 'tag', 'old');
  writeFileSync(join(app, 'version'), 'two\n');
  mkdirSync(join(app, 'actions/hello'), { recursive: true });
  writeFileSync(
    join(app, 'actions/hello/action.yml'),
    `name: hello
outputs:
  said:
    value: \${{ steps.s.outputs.said }}
runs:
  using: composite
  steps:
    - id: s
      shell: bash
      run: echo "said=$(cat "$GITHUB_ACTION_PATH/../../version")" >> "$GITHUB_OUTPUT"
`,
  );
  appHead = commitAll(app, 'two', git);
  // The working tree under test differs from every commit.
  writeFileSync(join(app, 'version'), 'working tree\n');

  lib = join(tmp, 'lib');
  mkdirSync(lib);
  git(lib, 'init', '--quiet');
  writeFileSync(join(lib, 'lib.txt'), 'lib v1\n');
  commitAll(lib, 'v1', git);
  git(lib, 'tag', 'v1');
  writeFileSync(join(lib, 'lib.txt'), 'lib v2\n');
  // v2 adds a root action and one in a folder, both composite.
  writeFileSync(
    join(lib, 'action.yml'),
    `name: lib
inputs:
  who:
    required: true
  greeting:
    default: hello
outputs:
  said:
    value: \${{ steps.say.outputs.said }}
runs:
  using: composite
  steps:
    - id: say
      shell: bash
      run: |
        echo "said=\${{ inputs.greeting }} \${{ inputs.who }} from $(cat "$GITHUB_ACTION_PATH/lib.txt")" >> "$GITHUB_OUTPUT"
        echo "GREETED=\${{ inputs.who }}" >> "$GITHUB_ENV"
        test "\${{ github.action_path }}" = "$GITHUB_ACTION_PATH"
    - if: \${{ inputs.who == 'nobody' }}
      shell: bash
      run: exit 1
`,
  );
  mkdirSync(join(lib, 'actions/no-shell'), { recursive: true });
  writeFileSync(
    join(lib, 'actions/no-shell/action.yml'),
    `name: no shell
runs:
  using: composite
  steps:
    - run: echo hi
`,
  );
  // Reusable workflows: outer calls ./inner in its own repository; one file is not reusable.
  mkdirSync(join(lib, '.github/workflows'), { recursive: true });
  writeFileSync(
    join(lib, '.github/workflows/outer.yml'),
    `on:
  workflow_call:
    outputs:
      seen:
        value: \${{ jobs.nested.outputs.seen }}
jobs:
  nested:
    uses: ./.github/workflows/inner.yml
`,
  );
  writeFileSync(
    join(lib, '.github/workflows/inner.yml'),
    `on:
  workflow_call:
    outputs:
      seen:
        value: \${{ jobs.show.outputs.seen }}
jobs:
  show:
    runs-on: ubuntu-latest
    outputs:
      seen: \${{ steps.s.outputs.seen }}
    steps:
      - id: s
        run: echo "seen=\${{ github.repository }}|\${{ github.workflow_ref }}|\${{ github.job }}" >> "$GITHUB_OUTPUT"
`,
  );
  writeFileSync(
    join(lib, '.github/workflows/not-reusable.yml'),
    `on: push
jobs:
  x:
    runs-on: ubuntu-latest
    steps:
      - run: true
`,
  );
  libV2 = commitAll(lib, 'v2', git);
  git(lib, 'tag', 'v2');
  writeFileSync(join(lib, 'lib.txt'), 'lib dirty\n');
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A workflow on push with one job, `job`, on ubuntu-latest, whose steps are `steps` (indented as a job's). */
function onPush(job: string, steps: string): string {
  return `on: push\npermissions: {}\njobs:\n  ${job}:\n    runs-on: ubuntu-latest\n    steps:${steps}`;
}

async function run(name: string, yaml: string, extra: Partial<RunnerOptions> = {}) {
  const file = join(app, '.github/workflows', `${name}.yml`);
  writeFileSync(file, yaml);
  const lines: string[] = [];
  const record = await runWorkflow(file, {
    repoRoot: app,
    repository: 'acme/app',
    event: 'push',
    ref: 'refs/heads/main',
    sha: appHead,
    eventPayload: { before: '0'.repeat(40), after: appHead },
    uses: { 'acme/lib': lib },
    log: (line) => lines.push(line),
    ...extra,
  });
  return { record, log: lines.join('\n') };
}

describe('the github and runner contexts of a consumer’s job', () => {
  it('holds what GitHub documents, per job and step, with the same values in the variables', async () => {
    const { record, log } = await run(
      'context',
      `
name: Context
on: push
permissions: {}
jobs:
  show:
    runs-on: ubuntu-latest
    steps:
      - id: ctx
        env:
          GH: \${{ toJSON(github) }}
          RUNNER: \${{ toJSON(runner) }}
          JOB: \${{ toJSON(job) }}
          STRATEGY: \${{ toJSON(strategy) }}
        run: |
          { echo 'github<<EOF_X'; echo "$GH"; echo EOF_X; } >> "$GITHUB_OUTPUT"
          { echo 'runner<<EOF_X'; echo "$RUNNER"; echo EOF_X; } >> "$GITHUB_OUTPUT"
          { echo 'job<<EOF_X'; echo "$JOB"; echo EOF_X; } >> "$GITHUB_OUTPUT"
          { echo 'strategy<<EOF_X'; echo "$STRATEGY"; echo EOF_X; } >> "$GITHUB_OUTPUT"
          echo "event=$(cat "$GITHUB_EVENT_PATH" | tr -d '\\n ')" >> "$GITHUB_OUTPUT"
          echo "vars=$GITHUB_JOB|$GITHUB_ACTION|$GITHUB_WORKSPACE|$GITHUB_WORKFLOW_REF|$GITHUB_REF_TYPE|$RUNNER_TOOL_CACHE|$PWD" >> "$GITHUB_OUTPUT"
          test -d "$RUNNER_TOOL_CACHE"
      - run: echo "action=\${{ github.action }}" >> "$GITHUB_OUTPUT"
      - run: echo "action=\${{ github.action }}|$GITHUB_ACTION" >> "$GITHUB_OUTPUT"
`,
    );
    expect({ conclusion: record.conclusion, log }).toEqual(
      expect.objectContaining({ conclusion: 'success' }),
    );
    const [ctx, second, third] = record.jobs[0]!.steps;
    const github = JSON.parse(ctx!.outputs.github!) as Record<string, unknown>;
    const runner = JSON.parse(ctx!.outputs.runner!) as Record<string, unknown>;
    const workspace = String(github.workspace);
    expect(workspace).toMatch(/runner-ws-/);
    expect(github).toEqual(
      expect.objectContaining({
        job: 'show',
        action: 'ctx',
        action_path: '',
        action_repository: '',
        action_ref: '',
        event_name: 'push',
        sha: appHead,
        ref: 'refs/heads/main',
        ref_name: 'main',
        ref_type: 'branch',
        ref_protected: false,
        base_ref: '',
        head_ref: '',
        repository: 'acme/app',
        repository_owner: 'acme',
        repositoryUrl: 'git://github.com/acme/app.git',
        run_number: '1',
        run_attempt: '1',
        retention_days: '90',
        actor: 'local-runner',
        triggering_actor: 'local-runner',
        server_url: 'https://github.com',
        api_url: 'https://api.github.com',
        graphql_url: 'https://api.github.com/graphql',
        workflow: 'Context',
        workflow_ref: 'acme/app/.github/workflows/context.yml@refs/heads/main',
        workflow_sha: appHead,
        secret_source: 'Actions',
      }),
    );
    expect(String(github.event_path)).toMatch(/event\.json$/);
    expect(String(github.env)).toMatch(/step-0-.*\/env$/);
    expect(String(github.path)).toMatch(/step-0-.*\/path$/);
    expect(github.run_id).toMatch(/^\d+$/);
    // The payload file: the push's own fields and the repository.
    expect(JSON.parse(ctx!.outputs.event!)).toEqual(
      expect.objectContaining({
        before: '0'.repeat(40),
        after: appHead,
        ref: 'refs/heads/main',
        repository: expect.objectContaining({ full_name: 'acme/app', name: 'app' }),
      }),
    );
    expect(runner).toEqual(
      expect.objectContaining({
        os: 'Linux',
        arch: 'X64',
        name: 'local-runner',
        environment: 'github-hosted',
      }),
    );
    expect(String(runner.temp)).toMatch(/runner-temp-/);
    expect(String(runner.tool_cache)).toBe(join(String(runner.temp), '_tool'));
    expect(JSON.parse(ctx!.outputs.job!)).toEqual({ status: 'success', container: {}, services: {} });
    expect(JSON.parse(ctx!.outputs.strategy!)).toEqual({
      'fail-fast': true,
      'job-index': 0,
      'job-total': 1,
      'max-parallel': 1,
    });
    expect(ctx!.outputs.vars).toBe(
      `show|ctx|${workspace}|acme/app/.github/workflows/context.yml@refs/heads/main|branch|${String(runner.tool_cache)}|${workspace}`,
    );
    // Steps without an id: __run, __run_2, as the runner names them.
    expect(second!.outputs.action).toBe('__run');
    expect(third!.outputs.action).toBe('__run_2|__run_2');
  });

  it('refuses a github member GitHub documents but the runner does not give, failing the step and naming the expression', async () => {
    const { record, log } = await run(
      'refused',
      onPush(
        'refused',
        `
      - name: Needs the repository id
        run: echo "id=\${{ github.repository_id }}"
`,
      ),
    );
    expect(record.conclusion).toBe('failure');
    expect(log).toContain(
      '✖ Needs the repository id: ${{ github.repository_id }}: github.repository_id is not supported by the local runner',
    );
    // In a job's env, the run stops naming the job.
    await expect(
      run(
        'refused-env',
        `
on: push
permissions: {}
jobs:
  envy:
    runs-on: ubuntu-latest
    env:
      OWNER_ID: \${{ github.repository_owner_id }}
    steps:
      - run: true
`,
      ),
    ).rejects.toThrow(
      'job "envy" env: ${{ github.repository_owner_id }}: github.repository_owner_id is not supported by the local runner',
    );
    // Given as an option, it is there.
    const given = await run(
      'given',
      onPush(
        'given',
        `
      - id: id
        run: echo "id=\${{ github.repository_id }}" >> "$GITHUB_OUTPUT"
`,
      ),
      { ids: { repository: '4242' } },
    );
    expect(given.record.jobs[0]!.steps[0]!.outputs.id).toBe('4242');
  });
});

describe('composite actions of a mapped repository', () => {
  it('runs the root action.yml and its steps with their inputs, outputs, action path and GITHUB_ENV', async () => {
    const { record, log } = await run(
      'composite',
      onPush(
        'composite',
        `
      - id: root
        uses: acme/lib@v2
        with:
          who: shop
      - id: after
        run: echo "greeted=$GREETED" >> "$GITHUB_OUTPUT"
`,
      ),
    );
    expect({ conclusion: record.conclusion, log }).toEqual(
      expect.objectContaining({ conclusion: 'success' }),
    );
    const [root, after] = record.jobs[0]!.steps;
    expect(root!.outputs).toEqual({ said: 'hello shop from lib v2' });
    expect(after!.outputs.greeted).toBe('shop');
    expect(log).toContain(`acme/lib@v2 → acme/lib@v2 (${libV2.slice(0, 12)}, from ${lib})`);
  });

  it('fails a composite action whose step fails, and refuses a run: step without its shell', async () => {
    const { record, log } = await run(
      'composite-refused',
      onPush(
        'composite',
        `
      - uses: acme/lib@v2
        continue-on-error: true
        with:
          who: nobody
      - name: No shell
        uses: acme/lib/actions/no-shell@v2
`,
      ),
    );
    expect(record.conclusion).toBe('failure');
    expect(record.jobs[0]!.steps.map((s) => s.outcome)).toEqual(['failure', 'failure']);
    expect(log).toContain(
      'No shell: acme/lib/actions/no-shell@v2: its step "Run echo hi" has run: without shell: (a composite action\'s run steps name their shell)',
    );
  });
});

describe('a uses: of the run’s own repository at a ref', () => {
  it('needs no mapping: it reads that ref from the repository’s history, not its working tree', async () => {
    const { record, log } = await run(
      'self',
      onPush(
        'self',
        `
      - id: hello
        uses: acme/app/actions/hello@main
`,
      ),
      { uses: {} },
    );
    expect({ conclusion: record.conclusion, log }).toEqual(
      expect.objectContaining({ conclusion: 'success' }),
    );
    expect(record.jobs[0]!.steps[0]!.outputs.said).toBe('two');
  });
});

describe('reusable workflows of a mapped repository', () => {
  it('calls one, whose ./ call is read from its own repository at the same commit; the github context stays the caller’s', async () => {
    const { record, log } = await run(
      'calls',
      `
on: push
permissions: {}
jobs:
  call:
    uses: acme/lib/.github/workflows/outer.yml@v2
`,
    );
    expect({ conclusion: record.conclusion, log }).toEqual(
      expect.objectContaining({ conclusion: 'success' }),
    );
    expect(record.jobs[0]!.outputs.seen).toBe(
      'acme/app|acme/app/.github/workflows/calls.yml@refs/heads/main|show',
    );
    expect(log).toContain(
      `acme/lib/.github/workflows/outer.yml@v2 → acme/lib@v2 (${libV2.slice(0, 12)}, from ${lib})`,
    );
  });

  it('refuses a file that is not a reusable workflow, one outside .github/workflows, and a ref the checkout lacks', async () => {
    const call = (uses: string) =>
      run(
        'calls-refused',
        `
on: push
permissions: {}
jobs:
  call:
    uses: ${uses}
`,
      );
    await expect(call('acme/lib/.github/workflows/not-reusable.yml@v2')).rejects.toThrow(
      'job "call" calls acme/lib/.github/workflows/not-reusable.yml@v2, which is not a reusable workflow (it has no on: workflow_call)',
    );
    await expect(call('acme/lib/workflows/outer.yml@v2')).rejects.toThrow(
      /a reusable workflow is a file in \.github\/workflows\/ \(got "workflows\/outer\.yml"\)/,
    );
    await expect(call('acme/lib/.github/workflows/outer.yml@v1')).rejects.toThrow(
      /no file \.github\/workflows\/outer\.yml in acme\/lib/,
    );
    await expect(call('acme/lib/.github/workflows/outer.yml@nope')).rejects.toThrow(
      `acme/lib has no tag, branch or commit "nope" in its checkout ${lib}`,
    );
  });
});

describe('actions/checkout in a consumer’s job', () => {
  it('checks out the working tree for the run’s commit, another ref of the repository from git, and a mapped repository at its ref', async () => {
    const { record, log } = await run(
      'checkout',
      onPush(
        'checkout',
        `
      - uses: actions/checkout@v4
      - uses: actions/checkout@v4
        with:
          ref: old
          path: at-old
      - uses: actions/checkout@v4
        with:
          repository: acme/lib
          ref: v2
          path: vendor/lib
      - uses: actions/checkout@v4
        with:
          repository: acme/lib
          path: vendor/lib-head
      - id: files
        run: |
          echo "own=$(cat version)" >> "$GITHUB_OUTPUT"
          echo "old=$(cat at-old/version)" >> "$GITHUB_OUTPUT"
          echo "lib=$(cat vendor/lib/lib.txt)" >> "$GITHUB_OUTPUT"
          echo "head=$(cat vendor/lib-head/lib.txt)" >> "$GITHUB_OUTPUT"
`,
      ),
    );
    expect({ conclusion: record.conclusion, log }).toEqual(
      expect.objectContaining({ conclusion: 'success' }),
    );
    expect(record.jobs[0]!.steps[4]!.outputs).toEqual({
      own: 'working tree',
      old: 'one',
      lib: 'lib v2',
      head: 'lib v2',
    });
    expect(log).toContain(`checkout: acme/lib@v2 (${libV2.slice(0, 12)}, from ${lib}) → vendor/lib`);
  });

  it('fails for a repository with no mapped checkout, a ref it does not have, and a path outside the workspace', async () => {
    const { record, log } = await run(
      'checkout-refused',
      onPush(
        'refused',
        `
      - uses: actions/checkout@v4
        continue-on-error: true
        with:
          repository: acme/unmapped
      - uses: actions/checkout@v4
        continue-on-error: true
        with:
          repository: acme/lib
          ref: v9
      - uses: actions/checkout@v4
        with:
          path: ../outside
`,
      ),
    );
    expect(record.conclusion).toBe('failure');
    expect(record.jobs[0]!.steps.map((s) => s.outcome)).toEqual(['failure', 'failure', 'failure']);
    expect(log).toContain(
      'actions/checkout of acme/unmapped: no local checkout of acme/unmapped is mapped; map one with RunnerOptions.uses, or --use acme/unmapped=PATH on the command line',
    );
    expect(log).toContain(
      `actions/checkout of acme/lib@v9: acme/lib has no tag, branch or commit "v9" in its checkout ${lib}`,
    );
    expect(log).toContain('path "../outside" is outside the workspace');
  });
});
