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
  it('is reusable with typed inputs and secrets', () => {
    const call = triggers(pipeline).workflow_call as {
      inputs: Record<string, { type: string }>;
      secrets: Record<string, unknown>;
    };
    expect(call).toBeDefined();
    for (const input of Object.values(call.inputs))
      expect(['string', 'number', 'boolean']).toContain(input.type);
    expect(call.secrets).toHaveProperty('registry-password');
  });

  it('orders build → infra → migrate → deploy → verify', () => {
    expect(needsOf(job('infra'))).toEqual(['build']);
    expect(needsOf(job('migrate'))).toEqual(expect.arrayContaining(['build', 'infra']));
    expect(needsOf(job('deploy'))).toEqual(expect.arrayContaining(['migrate']));
    expect(needsOf(job('verify'))).toEqual(['deploy']);
    expect(jobOrder(pipeline)).toEqual(['build', 'infra', 'migrate', 'deploy', 'verify', 'rollback']);
  });

  it('does not deploy after a failed migration, and rolls back only when deploy or verify failed', () => {
    // deploy runs after skipped jobs (promotion skips the build) but never after a failure.
    expect(String(job('deploy').if)).toMatch(/!failure\(\)/);
    expect(String(job('migrate').if)).toMatch(/!failure\(\)/);
    expect(needsOf(job('rollback')).sort()).toEqual(['deploy', 'verify']);
    const rollbackIf = String(job('rollback').if);
    expect(rollbackIf).toMatch(/failure\(\)/);
    expect(rollbackIf).toMatch(/needs\.deploy\.result == 'failure'/);
    expect(rollbackIf).toMatch(/needs\.verify\.result == 'failure'/);
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
    for (const id of ['build', 'migrate', 'deploy', 'verify', 'rollback']) {
      expect(job(id).permissions).toEqual({ contents: 'read', 'id-token': 'write' });
    }
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
