/**
 * dist/cdk-diff/index.js as the runner runs it (a Node 24 process), on two
 * cloud assemblies, with GitHub's REST API played by a local HTTP server
 * (GITHUB_API_URL), and CloudFormation by the simulator for `deployed`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim, type Sim } from '../../sim/index.js';
import { runAction } from './run-action.js';
import { writeAssembly } from '../unit/cdk-diff/fixtures.js';

interface Comment {
  id: number;
  body: string;
  html_url: string;
}

/** The part of GitHub's REST API the action uses, for PR #7 of acme/alva. */
class FakeGitHub {
  comments: Comment[] = [];
  requests: string[] = [];
  /** Answer 403 to everything, as GitHub does for a fork PR's read-only token. */
  readOnly = false;
  private server: Server;
  private nextId = 1000;
  url = '';

  constructor() {
    for (let i = 0; i < 100; i++) this.add(`review comment ${i}`);
    this.server = createServer((req, res) => {
      void this.route(req).then(({ status, body, headers }) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      });
    });
  }

  private add(body: string): Comment {
    const id = this.nextId++;
    const comment = { id, body, html_url: `https://github.com/acme/alva/pull/7#issuecomment-${id}` };
    this.comments.push(comment);
    return comment;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async route(
    req: IncomingMessage,
  ): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const payload = chunks.length
      ? (JSON.parse(Buffer.concat(chunks).toString()) as { body: string })
      : undefined;
    const url = new URL(req.url ?? '/', this.url);
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    if (!/^(token|Bearer) gh-token$/.test(req.headers.authorization ?? ''))
      return { status: 401, body: { message: 'Bad credentials' } };
    if (this.readOnly) return { status: 403, body: { message: 'Resource not accessible by integration' } };
    if (req.method === 'GET' && url.pathname === '/repos/acme/alva/issues/7/comments') {
      const perPage = Number(url.searchParams.get('per_page') ?? 30);
      const page = Number(url.searchParams.get('page') ?? 1);
      const items = this.comments.slice((page - 1) * perPage, page * perPage);
      const last = Math.max(1, Math.ceil(this.comments.length / perPage));
      const headers: Record<string, string> = {};
      if (page < last)
        headers.link = `<${this.url}${url.pathname}?per_page=${perPage}&page=${page + 1}>; rel="next"`;
      return { status: 200, body: items, headers };
    }
    if (req.method === 'POST' && url.pathname === '/repos/acme/alva/issues/7/comments') {
      return { status: 201, body: this.add(payload!.body) };
    }
    const edit = /^\/repos\/acme\/alva\/issues\/comments\/(\d+)$/.exec(url.pathname);
    if (req.method === 'PATCH' && edit) {
      const comment = this.comments.find((c) => c.id === Number(edit[1]));
      if (!comment) return { status: 404, body: { message: 'Not Found' } };
      comment.body = payload!.body;
      return { status: 200, body: comment };
    }
    return { status: 404, body: { message: 'Not Found' } };
  }
}

/** A representative app: an RDS instance, an IAM role and a security group. */
function dataStack(variant: 'base' | 'changed'): Record<string, unknown> {
  const changed = variant === 'changed';
  const resources: Record<string, unknown> = {
    DbSg: {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: {
        GroupDescription: 'database',
        VpcId: 'vpc-0123',
        SecurityGroupIngress: changed
          ? [{ CidrIp: '10.0.0.0/16', IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432 }]
          : [],
      },
    },
    Db: {
      Type: 'AWS::RDS::DBInstance',
      Properties: {
        DBInstanceIdentifier: changed ? 'alva-staging-postgres-v2' : 'alva-staging-postgres',
        Engine: 'postgres',
        DBInstanceClass: 'db.t3.micro',
        AllocatedStorage: '20',
        VPCSecurityGroups: [{ 'Fn::GetAtt': ['DbSg', 'GroupId'] }],
      },
    },
    TaskRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'ecs-tasks.amazonaws.com' } },
          ],
        },
      },
    },
  };
  if (changed) {
    resources.TaskRolePolicy = {
      Type: 'AWS::IAM::Policy',
      Properties: {
        PolicyName: 'uploads',
        Roles: [{ Ref: 'TaskRole' }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::alva-uploads/*' }],
        },
      },
    };
  }
  return { Resources: resources };
}

const paths = {
  Db: 'Database/Postgres/Resource',
  DbSg: 'Database/SecurityGroup/Resource',
  TaskRole: 'Task/Role/Resource',
};
let github: FakeGitHub;
let base: string;
let changed: string;
let eventEnv: Record<string, string>;

beforeAll(async () => {
  github = new FakeGitHub();
  await github.start();
  base = writeAssembly([{ id: 'Data', stackName: 'alva-staging-data', template: dataStack('base'), paths }]);
  changed = writeAssembly([
    { id: 'Data', stackName: 'alva-staging-data', template: dataStack('changed'), paths },
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'cdk-diff-e2e-'));
  writeFileSync(
    join(dir, 'event.json'),
    JSON.stringify({ pull_request: { number: 7, head: { sha: 'feedface00112233' } } }),
  );
  eventEnv = {
    GITHUB_API_URL: github.url,
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: join(dir, 'event.json'),
  };
});

afterAll(() => github.close());

describe('dist/cdk-diff', () => {
  it('comments, fails on the RDS replacement, then updates the same comment on page 2 when the diff is gone', async () => {
    const first = await runAction('cdk-diff', {
      inputs: {
        'cloud-assembly': changed,
        'base-assembly': base,
        'github-token': 'gh-token',
        stage: 'staging',
      },
      env: eventEnv,
    });
    expect(first.exitCode).toBe(1);
    expect(first.log).toMatch(
      /::error::1 destructive change\(s\) not allowed:%0A {2}replacement of AWS::RDS::DBInstance Database\/Postgres in Data/,
    );
    expect(first.outputs).toMatchObject({ 'has-changes': 'true', 'has-destructive-changes': 'true' });
    const sticky = github.comments.filter((c) => c.body.startsWith('<!-- cdk-diff:staging -->'));
    expect(sticky).toHaveLength(1);
    expect(first.outputs['comment-url']).toBe(sticky[0]!.html_url);
    const body = sticky[0]!.body;
    expect(body).toMatch(
      /\[!CAUTION\][\s\S]*\*\*replacement\*\* of `AWS::RDS::DBInstance` `Database\/Postgres`/,
    );
    expect(body).toMatch(
      /### IAM changes[\s\S]*\| \+ \| arn:aws:s3:::alva-uploads\/\* \| Allow \| s3:GetObject \|/,
    );
    expect(body).toMatch(
      /### Security group changes[\s\S]*\| \+ \| \$\{Database\/SecurityGroup\.GroupId\} \| In \| TCP 5432 \| 10\.0\.0\.0\/16 \|/,
    );
    expect(body).toContain('DBInstanceIdentifier (requires replacement)');
    expect(first.summary).toContain('PR comment: https://github.com/acme/alva/pull/7#issuecomment-');

    // The next push: allowed type, then no change at all. The comment (now on page 2) is edited in place.
    const allowed = await runAction('cdk-diff', {
      inputs: {
        'cloud-assembly': changed,
        'base-assembly': base,
        'github-token': 'gh-token',
        stage: 'staging',
        'allowed-destroy-types': 'AWS::RDS::DBInstance',
      },
      env: eventEnv,
    });
    expect(allowed.exitCode).toBe(0);
    github.requests = [];
    const unchanged = await runAction('cdk-diff', {
      inputs: { 'cloud-assembly': base, 'base-assembly': base, 'github-token': 'gh-token', stage: 'staging' },
      env: eventEnv,
    });
    expect(unchanged.exitCode).toBe(0);
    expect(unchanged.outputs).toEqual({
      'has-changes': 'false',
      'has-destructive-changes': 'false',
      'comment-url': sticky[0]!.html_url,
    });
    expect(github.requests).toEqual([
      'GET /repos/acme/alva/issues/7/comments?per_page=100',
      'GET /repos/acme/alva/issues/7/comments?per_page=100&page=2',
      `PATCH /repos/acme/alva/issues/comments/${sticky[0]!.id}`,
    ]);
    expect(github.comments.filter((c) => c.body.includes('<!-- cdk-diff:staging -->'))).toHaveLength(1);
    expect(sticky[0]!.body).toContain('**No infrastructure changes**: all 1 stack match the base branch.');
  });

  it('succeeds with the diff in the job summary when the token cannot comment (fork PR)', async () => {
    github.readOnly = true;
    try {
      const run = await runAction('cdk-diff', {
        inputs: {
          'cloud-assembly': changed,
          'base-assembly': base,
          'github-token': 'gh-token',
          'fail-on-destructive': 'false',
        },
        env: eventEnv,
      });
      expect(run.exitCode).toBe(0);
      expect(run.log).toMatch(/::notice::Could not comment on pull request #7 \(HTTP 403/);
      expect(run.summary).toMatch(
        /\[!NOTE\][\s\S]*read-only token[\s\S]*DBInstanceIdentifier \(requires replacement\)/,
      );
      expect(run.outputs['comment-url']).toBe('');
    } finally {
      github.readOnly = false;
    }
  });

  describe('deployed', () => {
    let sim: Sim;
    beforeAll(async () => {
      sim = await startSim({
        scenario: {
          clusters: [],
          taskDefinitions: [],
          stacks: [{ name: 'alva-staging-data', template: dataStack('base') }],
        },
        port: 0,
      });
    });
    afterAll(() => sim.close());

    it('diffs against the template CloudFormation has, outside a pull request', async () => {
      const run = await runAction('cdk-diff', {
        inputs: { 'cloud-assembly': changed, deployed: 'true', 'fail-on-destructive': 'false' },
        env: { AWS_ENDPOINT_URL: sim.url, AWS_MAX_ATTEMPTS: '1', GITHUB_EVENT_NAME: 'push' },
      });
      expect(run.exitCode).toBe(0);
      expect(run.outputs).toMatchObject({
        'has-changes': 'true',
        'has-destructive-changes': 'true',
        'comment-url': '',
      });
      expect(run.summary).toContain('Compared with the deployed stacks');
      expect(run.summary).toContain('not for a pull request (event `push`)');
      expect(
        sim
          .calls()
          .filter((c) => c.service === 'cloudformation')
          .map((c) => c.operation),
      ).toEqual(['GetTemplate']);
    });
  });
});
