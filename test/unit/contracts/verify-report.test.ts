import { describe, expect, it } from '@jest/globals';
import {
  parseVerifyReport,
  serializeVerifyReport,
  type VerifyReport,
} from '../../../lib/contracts/verify-report.js';
import { inputError } from './input-error.js';

const TD = (family: string, rev: number) =>
  `arn:aws:ecs:us-east-1:123456789012:task-definition/${family}:${rev}`;

const report: VerifyReport = {
  status: 'failed',
  cluster: 'alva',
  baseUrl: 'http://alva-staging-alb-123.us-east-1.elb.amazonaws.com',
  startedAt: '2026-11-26T22:10:00.000Z',
  durationMs: 14_210,
  services: [
    {
      service: 'alva-api',
      desiredCount: 2,
      newTaskDefinition: TD('alva-api', 8),
      previousTaskDefinition: TD('alva-api', 7),
      primaryTaskDefinition: TD('alva-api', 8),
      runningTasks: { new: 2, old: 1 },
      ok: false,
      targetGroups: [
        {
          targetGroupArn:
            'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/alva-staging-api/1',
          targetGroupName: 'alva-staging-api',
          containerName: 'api',
          containerPort: 3001,
          healthy: 1,
          desired: 2,
          ok: false,
          targets: [
            {
              id: '10.0.1.17',
              port: 3001,
              state: 'healthy',
              revision: 'alva-api:8',
              revisionRole: 'new',
              verdict: 'serving',
            },
            {
              id: '10.0.2.9',
              port: 3001,
              state: 'unhealthy',
              reason: 'Target.ResponseCodeMismatch',
              revisionRole: 'new',
              verdict: 'failing',
            },
          ],
          failuresSeen: [
            { state: 'unhealthy', reason: 'Target.ResponseCodeMismatch', revision: 'alva-api:8', targets: 1 },
          ],
        },
      ],
      events: [{ createdAt: '2026-11-26T22:10:04.000Z', message: '(service alva-api) is unhealthy' }],
    },
  ],
  checks: [
    {
      check: 'GET /api/health 200 ok',
      method: 'GET',
      url: 'http://alva-staging-alb-123.us-east-1.elb.amazonaws.com/api/health',
      expectedStatus: '200',
      bodyContains: 'ok',
      ok: false,
      passes: 0,
      required: 3,
      attempts: 4,
      status: 503,
      lastProblem: 'got 503, expected 200',
    },
  ],
  problems: ['alva-api / target group alva-staging-api: 1 of 2 desired targets are healthy'],
};
const FIX = 'Fix: pass the verify output as is';

describe('report: what it refuses, naming the input and the fix', () => {
  const valid = JSON.parse(serializeVerifyReport(report)) as Record<string, unknown>;
  it.each([
    ['not JSON', '{status', /^Input "report": is not valid JSON/],
    ['an array', '[]', /^Input "report": must be a JSON object \(verify's report\), got an array/],
    [
      'an unknown status',
      JSON.stringify({ ...valid, status: 'ok' }),
      /has a "status" that is neither "passed" nor "failed" \("ok"\)/,
    ],
    ['no cluster', JSON.stringify({ ...valid, cluster: undefined }), /has no "cluster" string/],
    [
      'a durationMs that is not a number',
      JSON.stringify({ ...valid, durationMs: '14s' }),
      /has no "durationMs" number/,
    ],
    ['services that are not an array', JSON.stringify({ ...valid, services: {} }), /has no "services" array/],
    [
      'a service without ok',
      JSON.stringify({ ...valid, services: [{ service: 'alva-api' }] }),
      /services\[0\] is not a service with "service" and "ok"/,
    ],
    [
      'a check without check',
      JSON.stringify({ ...valid, checks: [{ ok: true }] }),
      /checks\[0\] is not a check with "check" and "ok"/,
    ],
    [
      'problems that are not strings',
      JSON.stringify({ ...valid, problems: [1] }),
      /has "problems" that are not strings/,
    ],
  ])('refuses %s', (_label, raw, message) => {
    const err = inputError(() => parseVerifyReport(raw));
    expect(err.input).toBe('report');
    expect(err.message).toMatch(message);
    expect(err.message).toContain(FIX);
  });
});

describe('report: round trip', () => {
  it('parses back exactly what verify writes', () => {
    const written = serializeVerifyReport(report);
    expect(parseVerifyReport(written)).toEqual(report);
    expect(serializeVerifyReport(parseVerifyReport(written))).toBe(written);
  });

  it('a passed report without checks or baseUrl', () => {
    const passed: VerifyReport = {
      ...report,
      status: 'passed',
      services: report.services.map((s) => ({ ...s, ok: true })),
      checks: [],
      problems: [],
    };
    delete passed.baseUrl;
    expect(parseVerifyReport(serializeVerifyReport(passed))).toEqual(passed);
  });
});
