/** The workflow files' structure: the job graph, gates, permissions and pinning users rely on. */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import type { Job, Workflow } from '../../runner/workflow.js';
import { jobOrder, needsOf, triggers } from '../../runner/workflow.js';

const dir = resolve(import.meta.dirname, '..', '..', '.github', 'workflows');
const load = (name: string) => parse(readFileSync(join(dir, name), 'utf8')) as Workflow;
const files = readdirSync(dir).filter((f) => f.endsWith('.yml'));
const pipeline = load('ecs-deploy.yml');
const job = (id: string): Job => pipeline.jobs[id]!;

describe('the release pipeline (ecs-deploy.yml)', () => {
  const call = triggers(pipeline).workflow_call as {
    inputs: Record<string, { type: string; description?: string; default?: unknown }>;
    secrets: Record<string, { description?: string }>;
  };

  it('is reusable with every input and secret typed and described', () => {
    expect(call).toBeDefined();
    for (const [name, input] of Object.entries(call.inputs)) {
      expect({ name, type: ['string', 'number', 'boolean'].includes(input.type) }).toEqual({
        name,
        type: true,
      });
      expect({ name, described: (input.description ?? '').length > 20 }).toEqual({ name, described: true });
    }
    for (const [name, secret] of Object.entries(call.secrets))
      expect({ name, described: Boolean(secret.description) }).toEqual({ name, described: true });
    expect(call.secrets).toHaveProperty('registry-password');
  });

  it("exposes each action input a caller tunes, under the action's own name", () => {
    const action = (name: string) =>
      parse(readFileSync(join(dir, '..', '..', 'actions', name, 'action.yml'), 'utf8')) as {
        inputs: Record<string, unknown>;
      };
    // [job, workflow input, action input, the step's id when the job has several of the suite's actions]
    const passed: [string, string, string, string?][] = [
      ['build', 'reuse-unchanged', 'reuse-unchanged'],
      ['build', 'max-parallel', 'max-parallel'],
      ['build', 'registry', 'registry'],
      ['build', 'registry-username', 'username'],
      // The gated release's second run (the first waits for test traffic: see the gate's tests below).
      ['deploy', 'wait-for', 'wait-for', 'follow'],
      ['deploy', 'release-gate-parameter', 'parameter', 'gate_pending'],
      ['verify', 'base-url', 'base-url'],
      ['verify', 'consecutive-successes', 'consecutive-successes'],
    ];
    for (const [jobId, input, actionInput, stepId] of passed) {
      expect(call.inputs).toHaveProperty([input]);
      const step = job(jobId).steps!.find((s) =>
        stepId ? s.id === stepId : s.uses?.startsWith('./.ecs-ship/actions/'),
      )!;
      expect(action(step.uses!.split('/').pop()!).inputs).toHaveProperty([actionInput]);
      expect(step.with?.[actionInput]).toBe(`\${{ inputs.${input} }}`);
    }
    const build = job('build').steps!.find((s) => s.id === 'build')!;
    expect(build.with?.password).toBe('${{ secrets.registry-password }}');
    for (const [id, j] of Object.entries(pipeline.jobs))
      expect({ id, runsOn: j['runs-on'] }).toEqual({ id, runsOn: expect.stringContaining('inputs.runs-on') });
  });

  it('has one pin: no suite-ref, every action checked out at the commit the check job read from the token', () => {
    expect(call.inputs).not.toHaveProperty(['suite-ref']);
    expect(call.inputs).not.toHaveProperty(['suite-repository']);
    for (const [id, j] of Object.entries(pipeline.jobs)) {
      const suite = (j.steps ?? []).find((s) => s.with?.path === '.ecs-ship');
      if (!suite) continue;
      expect({ id, with: suite.with }).toEqual({
        id,
        with: {
          repository: '${{ needs.check.outputs.suite-repository }}',
          ref: '${{ needs.check.outputs.suite-sha }}',
          path: '.ecs-ship',
        },
      });
      expect(needsOf(j)).toContain('check');
    }
  });

  it('has no default that can run the wrong migration', () => {
    expect(call.inputs['migration-image-from']!.default).toBe('');
  });

  it('orders check → build → infra-diff → infra → migrate → deploy → verify', () => {
    expect(needsOf(job('build'))).toEqual(['check']);
    expect(needsOf(job('infra-diff'))).toEqual(['check']);
    expect(needsOf(job('infra'))).toEqual(['check', 'build', 'infra-diff']);
    expect(needsOf(job('migrate'))).toEqual(expect.arrayContaining(['build', 'infra']));
    expect(needsOf(job('deploy'))).toEqual(expect.arrayContaining(['migrate']));
    expect(needsOf(job('verify'))).toEqual(['check', 'deploy']);
    expect(jobOrder(pipeline)).toEqual([
      'check',
      'build',
      'infra-diff',
      'infra',
      'migrate',
      'deploy',
      'verify',
      'rollback',
    ]);
  });

  it('does not deploy after a failed migration, and rolls back only when deploy or verify failed', () => {
    // deploy runs after skipped jobs (promotion skips the build) but never after a failure.
    expect(String(job('deploy').if)).toMatch(/!failure\(\)/);
    expect(String(job('migrate').if)).toMatch(/!failure\(\)/);
    expect(needsOf(job('rollback')).sort()).toEqual(['check', 'deploy', 'verify']);
    const rollbackIf = String(job('rollback').if);
    expect(rollbackIf).toMatch(/failure\(\)/);
    expect(rollbackIf).toMatch(/needs\.deploy\.result == 'failure'/);
    expect(rollbackIf).toMatch(/needs\.verify\.result == 'failure'/);
  });

  it('shows the infrastructure diff before the approval: infra-diff in no environment, as the read role', () => {
    const diff = job('infra-diff');
    expect(diff.environment).toBeUndefined();
    expect(String(diff.if)).toMatch(/needs\.check\.outputs\.infra-changed == 'true'/);
    const steps = diff.steps as { uses?: string; run?: string; with?: Record<string, unknown> }[];
    const credentials = steps.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));
    expect(credentials?.with?.['role-to-assume']).toBe('${{ inputs.read-role-arn || inputs.role-arn }}');
    const cdkDiff = steps.find((s) => s.uses === './.ecs-ship/actions/cdk-diff');
    expect(cdkDiff?.with).toMatchObject({
      deployed: true,
      'allowed-destroy-types': '${{ inputs.cdk-allowed-destroy-types }}',
    });
    // It only reads: no deploy, no change set.
    expect(steps.some((s) => /cdk deploy|create-change-set|execute-change-set/.test(s.run ?? ''))).toBe(
      false,
    );
    // The infra job, behind the approval, deploys a synthesis with the images infra-diff read.
    expect(job('infra').environment).toBe('${{ inputs.environment }}');
    expect(JSON.stringify(job('infra').steps)).toContain('needs.infra-diff.outputs.images');
  });

  it('gates the migration and the deploy behind environments', () => {
    expect(job('migrate').environment).toBe('${{ inputs.migration-environment }}');
    expect(job('deploy').environment).toEqual({
      name: '${{ inputs.environment }}',
      url: '${{ inputs.environment-url }}',
    });
  });

  it('uses OIDC, never stored AWS keys', () => {
    const text = readFileSync(join(dir, 'ecs-deploy.yml'), 'utf8');
    expect(text).not.toMatch(/aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY/);
    for (const id of ['build', 'infra-diff', 'infra', 'migrate', 'deploy', 'verify', 'rollback']) {
      expect(job(id).permissions).toEqual({ contents: 'read', 'id-token': 'write' });
    }
    // The check job reads its own token, and on a push with a CDK app the caller's history (git diff only:
    // whether the infra job runs).
    expect(job('check').permissions).toEqual({ contents: 'read', 'id-token': 'write' });
  });
});

describe('the release gate across services (ecs-deploy.yml, release-gate-parameter)', () => {
  const call = triggers(pipeline).workflow_call as { inputs: Record<string, { default?: unknown }> };
  const steps = () => job('deploy').steps!;
  const step = (id: string) => steps().find((s) => s.id === id)!;
  const gated = "inputs.release-gate-parameter != ''";

  it('is off by default: without the parameter the deploy job is one deploy-services run as before', () => {
    expect(call.inputs['release-gate-parameter']!.default).toBe('');
    expect(call.inputs['test-traffic-checks']!.default).toBe('');
    // Every step the gate adds runs only with the parameter; the first deploy-services run keeps the caller's wait-for.
    const deploy = step('deploy');
    expect(deploy.if).toBeUndefined();
    expect(deploy.with?.['wait-for']).toBe(`\${{ ${gated} && 'test-traffic' || inputs.wait-for }}`);
    for (const s of steps().filter((s) => s.id !== 'deploy' && s.uses?.startsWith('./.ecs-ship/actions/')))
      expect({ step: s.id ?? s.name, if: String(s.if) }).toEqual({
        step: s.id ?? s.name,
        if: expect.stringContaining(gated),
      });
  });

  it("lets the longest gated release end by its steps' own timeouts, before GitHub cancels the job", () => {
    const seconds = (name: string) => Number(call.inputs[name]!.default);
    // Two deploy-services runs and the test-traffic verify, plus the cancellation grace, within the job's limit.
    const longest = 2 * seconds('timeout-seconds') + seconds('test-traffic-timeout-seconds') + 60;
    for (const id of ['deploy', 'rollback'])
      expect({ job: id, fits: Number(job(id)['timeout-minutes']) * 60 > longest }).toEqual({
        job: id,
        fits: true,
      });
  });

  it('holds, verifies on test traffic, opens, then follows the same release to the end', () => {
    const order = steps()
      .filter((s) => s.uses?.startsWith('./.ecs-ship/actions/'))
      .map((s) => `${s.uses!.split('/').pop()}${s.with?.state ? `:${String(s.with.state)}` : ''}`);
    expect(order).toEqual([
      'release-gate:pending',
      'deploy-services',
      'verify',
      'release-gate:open',
      'deploy-services',
      'release-gate:closed',
    ]);
    const verify = steps().find((s) => s.uses === './.ecs-ship/actions/verify')!;
    expect(verify.with).toMatchObject({
      traffic: 'test',
      services: '${{ steps.held.outputs.services }}',
      deployments: '${{ steps.deploy.outputs.deployments }}',
      checks: '${{ inputs.test-traffic-checks || inputs.checks }}',
    });
    // The gate opens for the revisions the first run deployed; the second run is the same release.
    expect(step('gate_open').with?.deployments).toBe('${{ steps.deploy.outputs.deployments }}');
    const { ['wait-for']: _first, ['bake-seconds']: bake, ...first } = step('deploy').with!;
    const { ['wait-for']: _second, ['bake-seconds']: noBake, ...second } = step('follow').with!;
    expect(second).toEqual(first);
    // The rolling services bake in the first run; the others in ECS's own bake time, blue still up.
    expect([bake, noBake]).toEqual(['${{ inputs.bake-seconds }}', 0]);
  });

  it('closes the gate when the job fails or is cancelled, and never needs deployments for it', () => {
    const close = steps().find((s) => s.with?.state === 'closed')!;
    expect(String(close.if)).toMatch(/failure\(\) \|\| cancelled\(\)/);
    expect(close.with?.deployments).toBeUndefined();
    expect(close.with?.parameter).toBe('${{ inputs.release-gate-parameter }}');
  });

  it('closes only before it opened, and the rollback job takes the gate into account', () => {
    const close = steps().find((s) => s.with?.state === 'closed')!;
    expect(String(close.if)).toContain("steps.gate_open.outcome != 'success'");
    expect(job('deploy').outputs?.['gate-opened']).toBe("${{ steps.gate_open.outcome == 'success' }}");
    const rollback = job('rollback').steps!;
    const at = (id: string) => rollback.find((s) => s.id === id)!;
    expect(at('previous').env).toMatchObject({
      GATE_PARAMETER: '${{ inputs.release-gate-parameter }}',
      GATE_OPENED: '${{ needs.deploy.outputs.gate-opened }}',
    });
    // Before it opened, the rollback job closes it again first (the deploy job may have been killed before its own close).
    const ids = rollback.map((s) => s.id);
    expect(ids.indexOf('rollback_gate_close')).toBeLessThan(ids.indexOf('previous'));
    expect(at('rollback_gate_close')).toMatchObject({
      if: "inputs.release-gate-parameter != '' && needs.deploy.outputs.gate-opened != 'true'",
      with: { state: 'closed' },
    });
    // After the gate opened, the rollback goes through it: pending, test traffic, open, followed.
    expect(String(at('rollback_gate_pending').if)).toContain("needs.deploy.outputs.gate-opened == 'true'");
    expect(at('rollback').with?.['wait-for']).toBe(
      "${{ steps.rollback_gate_pending.outcome == 'success' && 'test-traffic' || inputs.wait-for }}",
    );
    expect(at('rollback_gate_open').with).toMatchObject({
      state: 'open',
      deployments: '${{ steps.rollback.outputs.deployments }}',
    });
    expect(at('rollback_follow').with?.['rollback-to']).toBe(at('rollback').with?.['rollback-to']);
  });

  it('hands the verify and rollback jobs one deployments output covering both runs', () => {
    expect(job('deploy').outputs?.deployments).toBe(
      '${{ steps.deployments.outputs.deployments || steps.deploy.outputs.deployments }}',
    );
    const merge = step('deployments');
    expect(String(merge.if)).toMatch(/always\(\)/);
    expect(merge.env).toEqual({
      FIRST: '${{ steps.deploy.outputs.deployments }}',
      SECOND: '${{ steps.follow.outputs.deployments }}',
    });
  });
});

describe('deploy-staging.yml', () => {
  const staging = load('deploy-staging.yml');
  it('runs on push to staging and by hand, one release at a time, never cancelled half-way', () => {
    const on = triggers(staging);
    expect(on.push).toEqual({ branches: ['staging'] });
    expect(on).toHaveProperty('workflow_dispatch');
    expect(staging.concurrency).toEqual({ group: 'deploy-staging', 'cancel-in-progress': false });
  });
  it('calls the pipeline with a rollback environment that has no reviewers', () => {
    const environments = parse(readFileSync(join(dir, '..', 'environments.yml'), 'utf8')) as Record<
      string,
      { reviewers?: string[]; 'deployment-branches'?: string[] }
    >;
    const rollbackEnvironment = staging.jobs.release!.with!['rollback-environment'] as string;
    expect(rollbackEnvironment).toBe('staging-rollback');
    expect(environments[rollbackEnvironment]).toEqual({ reviewers: [], 'deployment-branches': ['staging'] });
    expect(environments.staging!.reviewers!.length).toBeGreaterThan(0);
  });
  it('turns the release gate on from repository variables (empty: every service rolls)', () => {
    expect(staging.jobs.release!.with).toMatchObject({
      'release-gate-parameter': '${{ vars.RELEASE_GATE_PARAMETER }}',
      'test-traffic-checks': '${{ vars.RELEASE_GATE_CHECKS }}',
      'test-traffic-timeout-seconds': "${{ fromJSON(vars.RELEASE_GATE_VERIFY_SECONDS || '300') }}",
    });
  });
  it('is one pipeline: it calls the reusable workflow', () => {
    expect(Object.values(staging.jobs).map((j) => j.uses)).toEqual(['./.github/workflows/ecs-deploy.yml']);
  });
});

describe('every workflow', () => {
  it.each(files)('%s has least permissions: none at the top, each job only what it needs', (file) => {
    const wf = load(file);
    expect(wf.permissions).toEqual({});
    for (const [id, j] of Object.entries(wf.jobs)) {
      const granted = Object.entries((j.permissions ?? {}) as Record<string, string>);
      for (const [scope, level] of granted) {
        const allowed: Record<string, string[]> = {
          contents: ['read', ...(file === 'release.yml' ? ['write'] : [])],
          'id-token': ['write'],
          'pull-requests': file === 'cdk-diff.yml' ? ['write'] : [],
        };
        expect({ job: id, scope, level, ok: (allowed[scope] ?? []).includes(level) }).toEqual({
          job: id,
          scope,
          level,
          ok: true,
        });
      }
    }
  });

  it.each(files)(
    '%s pins every third-party action by full commit SHA, with its version in a comment',
    (file) => {
      const lines = readFileSync(join(dir, file), 'utf8').split('\n');
      for (const line of lines) {
        const uses = /^\s*(?:-\s*)?uses:\s*([^\s#]+)(.*)$/.exec(line);
        if (!uses || uses[1]!.startsWith('./')) continue;
        expect({
          line: line.trim(),
          pinned: /@[0-9a-f]{40}$/.test(uses[1]!),
          versioned: /#\s*v\d/.test(uses[2]!),
        }).toEqual({
          line: line.trim(),
          pinned: true,
          versioned: true,
        });
      }
    },
  );
});

describe('cdk-diff.yml (runs fork PR code)', () => {
  const diff = load('cdk-diff.yml');
  const text = readFileSync(join(dir, 'cdk-diff.yml'), 'utf8');
  it('uses pull_request, never pull_request_target', () => {
    expect(Object.keys(triggers(diff))).toEqual(['pull_request']);
  });
  it('reaches no secret and no AWS credentials', () => {
    expect(text).not.toMatch(/secrets\./);
    expect(text).not.toMatch(/configure-aws-credentials|id-token/);
    for (const j of Object.values(diff.jobs)) expect(j.environment).toBeUndefined();
  });
  it('does not persist the token into the checked-out PR code', () => {
    for (const step of diff.jobs.diff!.steps!.filter((s) => s.uses?.startsWith('actions/checkout'))) {
      expect(step.with?.['persist-credentials']).toBe(false);
    }
  });
});

/**
 * GitHub keeps at most one running and one pending run per concurrency group,
 * and a newly queued run replaces (cancels) the pending one. The runner runs
 * one workflow at a time and cannot queue runs, so these rules are read from
 * the files: a rollback must never be pending in a group a push enters.
 */
describe('concurrency: a dispatched rollback is never cancelled or replaced by a push', () => {
  const groupOf = (file: string) =>
    (load(file).concurrency ?? {}) as { group?: string; 'cancel-in-progress'?: boolean };
  const pushed = files.filter((f) => 'push' in triggers(load(f)));

  it('rollback.yml has a group of its own that no push-triggered workflow shares, never cancelled in progress', () => {
    const rollback = groupOf('rollback.yml');
    expect(rollback).toEqual({ group: 'rollback-staging', 'cancel-in-progress': false });
    expect(Object.keys(triggers(load('rollback.yml')))).toEqual(['workflow_dispatch']);
    for (const file of pushed) {
      const group = groupOf(file).group;
      expect({ file, sharesRollbackGroup: group === rollback.group }).toEqual({
        file,
        sharesRollbackGroup: false,
      });
      for (const j of Object.values(load(file).jobs))
        expect((j.concurrency as { group?: string })?.group ?? j.concurrency).not.toBe(rollback.group);
    }
  });

  it('a release never cancels one in progress, and a rollback waits for a deployment under way instead of failing', () => {
    expect(groupOf('deploy-staging.yml')['cancel-in-progress']).toBe(false);
    const step = load('rollback.yml').jobs.rollback!.steps!.find(
      (s) => s.uses === './actions/deploy-services',
    )!;
    expect(step.with?.['if-in-progress']).toBe('wait');
  });

  it('cdk-diff runs one at a time per pull request', () => {
    expect(groupOf('cdk-diff.yml')).toEqual({
      group: 'cdk-diff-${{ github.event.pull_request.number }}',
      'cancel-in-progress': true,
    });
  });
});
