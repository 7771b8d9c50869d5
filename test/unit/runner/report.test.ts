import { describe, expect, it } from '@jest/globals';
import { credentialsTable, renderRun } from '../../../runner/report.js';
import type { JobRecord, WorkflowRecord } from '../../../runner/run.js';

const job = (over: Partial<JobRecord>): JobRecord => ({
  id: 'j',
  name: 'j',
  result: 'success',
  outputs: {},
  steps: [],
  durationMs: 1000,
  ...over,
});

const run = (jobs: JobRecord[]): WorkflowRecord => ({
  name: 'Deploy',
  file: 'deploy.yml',
  conclusion: 'failure',
  jobs,
  outputs: {},
  durationMs: 2000,
});

describe('credentialsTable', () => {
  it('names, per job of the run and of its called workflows, the subject, the role and the session or the refusal', () => {
    const called = run([
      job({
        name: 'release / deploy',
        environment: 'staging',
        credentials: [
          {
            role: 'arn:aws:iam::1:role/deploy',
            sessionName: 'GitHubActions',
            subject: 'repo:a/b:environment:staging',
            callerArn: 'arn:aws:sts::1:assumed-role/deploy/GitHubActions',
            via: 'oidc',
          },
        ],
      }),
      job({
        name: 'release / build',
        credentials: [
          {
            role: 'arn:aws:iam::1:role/deploy',
            sessionName: 'GitHubActions',
            subject: 'repo:a/b:ref:refs/heads/staging',
            via: 'oidc',
            refused:
              'Could not assume role with OIDC: Not authorized to perform sts:AssumeRoleWithWebIdentity',
          },
        ],
      }),
      job({
        name: 'release / verify',
        credentials: [
          { role: 'arn:aws:iam::1:role/read', sessionName: 'GitHubActions', via: 'runner-static' },
        ],
      }),
    ]);
    const text = credentialsTable(run([job({ name: 'release', called }), job({ name: 'notify' })]));
    const rows = text.split('\n').map((l) => l.split(/\s{2,}/));
    expect(rows[0]).toEqual(['job', 'environment', 'OIDC subject', 'role', 'session']);
    expect(rows.slice(2)).toEqual([
      [
        'release / deploy',
        'staging',
        'repo:a/b:environment:staging',
        'arn:aws:iam::1:role/deploy',
        'arn:aws:sts::1:assumed-role/deploy/GitHubActions',
      ],
      [
        'release / build',
        '—',
        'repo:a/b:ref:refs/heads/staging',
        'arn:aws:iam::1:role/deploy',
        'refused: Could not assume role with OIDC: Not authorized to perform sts:AssumeRoleWithWebIdentity',
      ],
      ['release / verify', '—', '—', 'arn:aws:iam::1:role/read', 'not assumed: the runner’s static keys'],
    ]);
  });

  it('is empty, and absent from the run report, when no job configured credentials', () => {
    const plain = run([job({ name: 'lint' })]);
    expect(credentialsTable(plain)).toBe('');
    expect(renderRun(plain)).not.toContain('AWS credentials');
  });
});
