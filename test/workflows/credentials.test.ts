/**
 * The credentials step of a workflow, run by the local runner against the
 * simulator with IAM: each job presents the OIDC token GitHub would mint for
 * it, and the role's trust policy (evaluated by the simulator's STS) decides.
 * Workflows are written for the test into a repository of their own.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentialsTable } from '../../runner/report.js';
import { repositoryRoot } from '../../runner/repo.js';
import { runWorkflow, type JobRecord, type WorkflowRecord } from '../../runner/run.js';
import type { IamSpec } from '../../sim/iam/model.js';
import { startSim, type Sim } from '../../sim/index.js';

const ACCOUNT = '123456789012';
const PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
const DEPLOY_ROLE = `arn:aws:iam::${ACCOUNT}:role/alva-deploy`;
const CALLED_ROLE = `arn:aws:iam::${ACCOUNT}:role/alva-called`;

/** A GitHub OIDC trust, as infra writes them: aud sts.amazonaws.com and the given conditions. */
function githubTrust(conditions: Record<string, Record<string, unknown>>) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow' as const,
        Principal: { Federated: PROVIDER },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          ...conditions,
          StringEquals: {
            'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
            ...(conditions.StringEquals ?? {}),
          },
        },
      },
    ],
  };
}

const iam: IamSpec = {
  oidcProviders: [
    { arn: PROVIDER, url: 'https://token.actions.githubusercontent.com', clientIds: ['sts.amazonaws.com'] },
  ],
  roles: [
    {
      name: 'alva-deploy',
      arn: DEPLOY_ROLE,
      trust: githubTrust({
        StringEquals: { 'token.actions.githubusercontent.com:sub': 'repo:acme/alva:environment:staging' },
      }),
      policies: [
        {
          name: 'ecs-read',
          document: { Statement: [{ Effect: 'Allow', Action: 'ecs:ListClusters', Resource: '*' }] },
        },
      ],
    },
    {
      // Only the jobs of one reusable workflow, in the staging environment.
      name: 'alva-called',
      arn: CALLED_ROLE,
      trust: githubTrust({
        StringEquals: { 'token.actions.githubusercontent.com:sub': 'repo:acme/alva:environment:staging' },
        StringLike: {
          'token.actions.githubusercontent.com:job_workflow_ref': 'acme/alva/.github/workflows/called.yml@*',
        },
      }),
      policies: [],
    },
  ],
};

/** A step that prints who AWS says it is, with the credentials the job's environment holds. */
const WHOAMI = `
import { createRequire } from 'node:module';
const { STSClient, GetCallerIdentityCommand } = createRequire(${JSON.stringify(join(repositoryRoot, 'package.json'))})('@aws-sdk/client-sts');
const sts = new STSClient({});
const id = await sts.send(new GetCallerIdentityCommand({}));
console.log('caller: ' + id.Arn);
`;

let sim: Sim;
let repo: string;
beforeAll(async () => {
  sim = await startSim({ scenario: { clusters: [], taskDefinitions: [], iam }, port: 0 });
  repo = mkdtempSync(join(tmpdir(), 'credentials-repo-'));
  mkdirSync(join(repo, '.github/workflows'), { recursive: true });
  writeFileSync(join(repo, 'whoami.mjs'), WHOAMI);
});
afterAll(async () => {
  await sim.close();
  rmSync(repo, { recursive: true, force: true });
});

const configure = (role: string) => `
      - id: aws
        uses: aws-actions/configure-aws-credentials@e3dd6a429d7300a6a4c196c26e071d42e0343502 # v4.0.2
        with:
          role-to-assume: ${role}
          aws-region: us-east-1
      - id: whoami
        run: |
          node ${join(repo, 'whoami.mjs')}
          echo "secret: $AWS_SECRET_ACCESS_KEY token: $AWS_SESSION_TOKEN"
          printf '%s\\n%s\\n' "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" > ${join(repo, 'seen-secrets')}`;

async function run(name: string, yaml: string, files: Record<string, string> = {}) {
  const file = join(repo, '.github/workflows', `${name}.yml`);
  writeFileSync(file, yaml);
  for (const [path, text] of Object.entries(files))
    writeFileSync(join(repo, '.github/workflows', path), text);
  const lines: string[] = [];
  const since = sim.calls().length;
  const record = await runWorkflow(file, {
    repoRoot: repo,
    repository: 'acme/alva',
    event: 'push',
    ref: 'refs/heads/staging',
    sha: 'c0ffee0000000000000000000000000000000000',
    // No AWS keys of the runner's own: only the credentials step can give the job any.
    env: { AWS_ENDPOINT_URL: sim.url },
    log: (line) => lines.push(line),
  });
  return { record, log: lines.join('\n'), calls: sim.calls(since) };
}

function flat(run: WorkflowRecord): JobRecord[] {
  return run.jobs.flatMap((j) => (j.called ? flat(j.called) : [j]));
}

describe('configure-aws-credentials through the simulator’s STS', () => {
  it('a job without an environment presents ref:refs/heads/staging, which the trust does not admit: the step fails with AWS’s error', async () => {
    const { record, log, calls } = await run(
      'no-environment',
      `
on: push
permissions: {}
jobs:
  deploy:
    runs-on: ubuntu-latest
    permissions: { contents: read, id-token: write }
    steps:${configure(DEPLOY_ROLE)}
`,
    );
    expect(record.conclusion).toBe('failure');
    const [job] = flat(record);
    expect(job!.steps.map((s) => [s.id, s.conclusion])).toEqual([
      ['aws', 'failure'],
      ['whoami', 'skipped'],
    ]);
    expect(log).toContain(
      'OIDC token for the job: sub repo:acme/alva:ref:refs/heads/staging, aud sts.amazonaws.com',
    );
    expect(log).toContain(
      'Error: Could not assume role with OIDC: Not authorized to perform sts:AssumeRoleWithWebIdentity',
    );
    const assume = calls.filter((c) => c.operation === 'AssumeRoleWithWebIdentity');
    expect(assume).toHaveLength(1);
    expect(assume[0]).toMatchObject({ service: 'sts', errorCode: 'AccessDenied' });
    expect(job!.credentials).toEqual([
      {
        role: DEPLOY_ROLE,
        sessionName: 'GitHubActions',
        subject: 'repo:acme/alva:ref:refs/heads/staging',
        audience: 'sts.amazonaws.com',
        via: 'oidc',
        refused: 'Could not assume role with OIDC: Not authorized to perform sts:AssumeRoleWithWebIdentity',
      },
    ]);
  });

  it('the same job in the staging environment assumes the role, and later steps run as it with their secrets masked', async () => {
    const { record, log } = await run(
      'staging',
      `
on: push
permissions: {}
jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: { name: "\${{ 'stag' }}ing", url: https://staging.example }
    permissions: { contents: read, id-token: write }
    steps:${configure(DEPLOY_ROLE)}
`,
    );
    expect(log).not.toContain('Error');
    expect(record.conclusion).toBe('success');
    expect(log).toContain(
      'OIDC token for the job: sub repo:acme/alva:environment:staging, aud sts.amazonaws.com',
    );
    expect(log).toContain(`caller: arn:aws:sts::${ACCOUNT}:assumed-role/alva-deploy/GitHubActions`);
    const [secret, token] = readFileSync(join(repo, 'seen-secrets'), 'utf8').trim().split('\n');
    expect(secret!.length).toBeGreaterThan(10);
    expect(token!.length).toBeGreaterThan(10);
    expect(log).not.toContain(secret!);
    expect(log).not.toContain(token!);
    expect(log).toContain('secret: *** token: ***');
    const [job] = flat(record);
    expect(job!.steps[0]!.outputs).toEqual({ 'aws-account-id': ACCOUNT });
    expect(job!.credentials).toEqual([
      {
        role: DEPLOY_ROLE,
        sessionName: 'GitHubActions',
        subject: 'repo:acme/alva:environment:staging',
        audience: 'sts.amazonaws.com',
        callerArn: `arn:aws:sts::${ACCOUNT}:assumed-role/alva-deploy/GitHubActions`,
        via: 'oidc',
      },
    ]);
    // The run's report names, per job, the environment, the subject presented, the role and the session.
    const report = credentialsTable(record).split('\n');
    expect(report[0]).toMatch(/^job\s+environment\s+OIDC subject\s+role\s+session$/);
    expect(report[2]).toMatch(
      new RegExp(
        `^deploy\\s+staging\\s+repo:acme/alva:environment:staging\\s+${DEPLOY_ROLE}\\s+arn:aws:sts::${ACCOUNT}:assumed-role/alva-deploy/GitHubActions$`,
      ),
    );
  });

  it('without id-token: write the job gets no token and the step fails as the action does', async () => {
    const { record, log, calls } = await run(
      'no-id-token',
      `
on: push
permissions: { id-token: write }
jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: staging
    permissions: { contents: read }
    steps:${configure(DEPLOY_ROLE)}
`,
    );
    expect(record.conclusion).toBe('failure');
    expect(log).toContain('Did you mean to set the `id-token` permission?');
    expect(log).toContain(
      'Error: Credentials could not be loaded, please check your action inputs: Could not load credentials from any providers',
    );
    expect(calls.filter((c) => c.service === 'sts')).toEqual([]);
  });

  it('a reusable workflow gets no more than its caller job grants, and its jobs present the called workflow as job_workflow_ref', async () => {
    const called = `
on: workflow_call
permissions: {}
jobs:
  release:
    runs-on: ubuntu-latest
    environment: staging
    permissions: { contents: read, id-token: write }
    steps:${configure(CALLED_ROLE)}
`;
    const caller = (permissions: string) => `
on: push
permissions: {}
jobs:
  call:
    uses: ./.github/workflows/called.yml
    permissions: ${permissions}
`;
    const capped = await run('caller-capped', caller('{ contents: read }'), { 'called.yml': called });
    expect(capped.record.conclusion).toBe('failure');
    expect(capped.log).toContain('Could not load credentials from any providers');

    const granted = await run('caller-granted', caller('{ contents: read, id-token: write }'), {
      'called.yml': called,
    });
    expect(granted.log).not.toContain('Error');
    expect(granted.record.conclusion).toBe('success');
    expect(granted.log).toContain(`caller: arn:aws:sts::${ACCOUNT}:assumed-role/alva-called/GitHubActions`);

    // The same job outside the reusable workflow: the subject matches, job_workflow_ref does not.
    const direct = await run('direct', called.replace('on: workflow_call', 'on: push'));
    expect(direct.record.conclusion).toBe('failure');
    expect(direct.log).toContain('Not authorized to perform sts:AssumeRoleWithWebIdentity');
  });
});
