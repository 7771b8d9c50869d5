/**
 * verify's main as its recipe: inputs → verifyRelease (mocked: its own tests
 * are in verify.test.ts) → the `report` output → the job summary → the verdict,
 * all through the action host, which ends the step by exit code, never by
 * process.exit().
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { DescribeServicesCommand, ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import * as core from '../../../actions/__fixtures__/core.js';
import type { VerifyReport } from '../../../lib/contracts/verify-report.js';
import type { VerifyOptions } from '../../../lib/verify/verify.js';

const verifyRelease = jest.fn<(options: VerifyOptions) => Promise<VerifyReport>>();
const realVerify = await import('../../../lib/verify/verify.js');
jest.unstable_mockModule('@actions/core', () => core);
jest.unstable_mockModule('../../../lib/verify/verify.js', () => ({ ...realVerify, verifyRelease }));
const { run } = await import('../../../actions/verify/src/main.js');

const ecs = mockClient(ECSClient);
const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const TD = (rev: number) => `arn:aws:ecs:us-east-1:123456789012:task-definition/alva-api:${rev}`;
let inputs: Record<string, string> = {};
let exit: jest.SpiedFunction<typeof process.exit>;

function report(problems: string[] = []): VerifyReport {
  const ok = problems.length === 0;
  return {
    status: ok ? 'passed' : 'failed',
    cluster: 'alva',
    baseUrl: 'https://staging.example.com',
    startedAt: '2026-11-26T22:10:00.000Z',
    durationMs: 12_000,
    services: [
      {
        service: 'alva-api',
        desiredCount: 1,
        newTaskDefinition: TD(8),
        previousTaskDefinition: TD(7),
        runningTasks: { new: 1, old: 0 },
        ok,
        targetGroups: [
          {
            targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/alva-api/1',
            targetGroupName: 'alva-api',
            containerName: 'api',
            containerPort: 3001,
            healthy: ok ? 1 : 0,
            desired: 1,
            ok,
            targets: [
              {
                id: '10.0.1.17',
                port: 3001,
                state: ok ? 'healthy' : 'unhealthy',
                revision: 'alva-api:8',
                revisionRole: 'new',
                verdict: ok ? 'serving' : 'failing',
              },
            ],
          },
        ],
      },
    ],
    checks: [],
    problems,
  };
}

beforeEach(() => {
  jest.clearAllMocks();
  core.summary.emptyBuffer();
  ecs.reset();
  elbv2.reset();
  process.env.AWS_REGION = 'us-east-1';
  inputs = { cluster: 'alva', services: 'alva-api', 'timeout-seconds': '60' };
  core.getInput.mockImplementation((name: string) => inputs[name] ?? '');
  exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
});
afterEach(() => {
  exit.mockRestore();
  process.exitCode = undefined;
});

describe('verify main', () => {
  it('on success sets `report`, writes the summary and ends with exit code 0 without process.exit', async () => {
    verifyRelease.mockResolvedValue(report());
    await run();
    expect(verifyRelease).toHaveBeenCalledWith(
      expect.objectContaining({ cluster: 'alva', services: ['alva-api'], timeoutMs: 60_000 }),
    );
    expect(core.setFailed).not.toHaveBeenCalled();
    const [name, value] = core.setOutput.mock.calls[0]!;
    expect(name).toBe('report');
    // The report says which traffic was checked: production unless `traffic: test`.
    expect(JSON.parse(value as string)).toEqual({ ...report(), traffic: 'production' });
    expect(core.summary.write).toHaveBeenCalled();
    expect(core.summary.stringify()).toContain('# Release verified');
    expect(core.summary.addTable).toHaveBeenCalled();
    expect(core.info).toHaveBeenCalledWith(expect.stringMatching(/^Verified 1 services, 1 target groups/));
    expect(exit).not.toHaveBeenCalled();
    expect(process.exitCode).toBeUndefined();
  });

  it('on failure sets `report`, lists the problems in the summary and fails the step with them', async () => {
    const problems = [
      'alva-api / target group alva-api: target 10.0.1.17:3001 is unhealthy (Target.ResponseCodeMismatch)',
      'GET / 200: got <500>, expected 200',
    ];
    verifyRelease.mockResolvedValue(report(problems));
    await run();
    expect(JSON.parse(core.setOutput.mock.calls[0]![1] as string)).toMatchObject({
      status: 'failed',
      problems,
    });
    expect(core.setFailed).toHaveBeenCalledTimes(1);
    expect(core.setFailed).toHaveBeenCalledWith(
      [
        'Verification failed (1 services, 1 target groups, 0 HTTP checks) after 12s',
        ...problems.map((p) => `  - ${p}`),
      ].join('\n'),
    );
    const summary = core.summary.stringify();
    expect(summary).toContain('# Release NOT verified');
    expect(summary).toContain('Why it failed (2)');
    // Text is escaped in the summary: a body excerpt cannot become markup.
    expect(summary).toContain('got &lt;500&gt;, expected 200');
    expect(exit).not.toHaveBeenCalled();
    expect(process.exitCode).toBe(1);
  });

  it('fails on bad input naming the input, with no AWS call and no report', async () => {
    inputs.checks = 'GET /api/health';
    await run();
    expect(core.error).toHaveBeenCalledWith(
      expect.stringMatching(/^Input "checks": line 1 "GET \/api\/health"/),
      {
        title: 'checks',
      },
    );
    expect(verifyRelease).not.toHaveBeenCalled();
    expect(ecs.calls()).toHaveLength(0);
    expect(elbv2.calls()).toHaveLength(0);
    expect(core.setOutput).not.toHaveBeenCalled();
    expect(exit).not.toHaveBeenCalled();
    expect(process.exitCode).toBe(1);
  });

  it('on SIGINT aborts the verification, warns once and fails saying it was cancelled', async () => {
    verifyRelease.mockImplementation(async ({ signal }) => {
      process.emit('SIGINT', 'SIGINT');
      process.emit('SIGTERM', 'SIGTERM');
      expect(signal?.aborted).toBe(true);
      // What an aborted SDK call throws: not a CancelledError, but the signal says why.
      throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
    });
    await run();
    expect(core.warning.mock.calls).toEqual([['Received SIGINT: stopping verification']]);
    expect(core.setFailed).toHaveBeenCalledWith('Verification cancelled: received SIGINT');
    // The report is written even so: the cause, then where the service stands (here AWS could not say).
    const written = JSON.parse(core.setOutput.mock.calls[0]![1] as string) as VerifyReport;
    expect(written.status).toBe('failed');
    expect(written.problems[0]).toBe('verification cancelled (received SIGINT) before a verdict');
    expect(written.problems[1]).toMatch(/^could not read where the services stand from AWS at the end: /);
    expect(core.summary.stringify()).toContain('verification cancelled (received SIGINT) before a verdict');
    expect(exit).not.toHaveBeenCalled();
    expect(process.exitCode).toBe(1);
    // The host stopped listening when the step ended.
    expect(process.listenerCount('SIGINT')).toBe(0);
  });

  it('when AWS cannot be read mid-way, writes the report with where the service stands, read at the end', async () => {
    verifyRelease.mockRejectedValue(
      Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }),
    );
    ecs.on(DescribeServicesCommand).resolves({
      services: [
        {
          serviceName: 'alva-api',
          status: 'ACTIVE',
          desiredCount: 1,
          taskDefinition: TD(8),
          deployments: [{ status: 'PRIMARY', taskDefinition: TD(8), rolloutState: 'IN_PROGRESS' }],
        },
      ],
    });
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    await run();
    expect(core.setFailed).toHaveBeenCalledWith('Rate exceeded');
    const written = JSON.parse(core.setOutput.mock.calls[0]![1] as string) as VerifyReport;
    expect(written.status).toBe('failed');
    expect(written.problems[0]).toBe('verification stopped before a verdict: Rate exceeded');
    expect(written.services.map((s) => [s.service, s.primaryTaskDefinition, s.ok])).toEqual([
      ['alva-api', TD(8), false],
    ]);
    expect(core.summary.stringify()).toContain('Release NOT verified');
    expect(process.exitCode).toBe(1);
  });
});
