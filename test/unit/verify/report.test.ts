import { describe, expect, it } from '@jest/globals';
import { checkTable, targetTable, verdict } from '../../../lib/verify/report.js';
import type { VerifyReport } from '../../../lib/contracts/verify-report.js';

const TD = (family: string, rev: number) =>
  `arn:aws:ecs:us-east-1:123456789012:task-definition/${family}:${rev}`;

const report: VerifyReport = {
  status: 'failed',
  cluster: 'alva',
  baseUrl: 'http://alb.example',
  startedAt: '2026-11-26T22:00:00.000Z',
  durationMs: 61_000,
  services: [
    {
      service: 'alva-api',
      desiredCount: 2,
      newTaskDefinition: TD('alva-api', 8),
      runningTasks: { new: 2, old: 1 },
      ok: false,
      targetGroups: [
        {
          targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/alva-api-tg/abc',
          targetGroupName: 'alva-api-tg',
          containerName: 'api',
          containerPort: 3001,
          healthy: 1,
          desired: 2,
          ok: false,
          targets: [
            {
              id: '10.0.0.1',
              port: 3001,
              state: 'healthy',
              revision: 'alva-api:8',
              revisionRole: 'new',
              verdict: 'serving',
            },
            {
              id: '10.0.0.2',
              port: 3001,
              state: 'unhealthy',
              reason: 'Target.Timeout',
              revision: 'alva-api:8',
              revisionRole: 'new',
              verdict: 'failing',
            },
            {
              id: '10.0.0.3',
              port: 3001,
              state: 'draining',
              reason: 'Target.DeregistrationInProgress',
              revision: 'alva-api:7',
              revisionRole: 'old',
              verdict: 'draining',
            },
            { id: '10.0.0.9', port: 3001, state: 'healthy', verdict: 'stale' },
          ],
        },
      ],
    },
    {
      service: 'alva-worker',
      desiredCount: 1,
      newTaskDefinition: TD('alva-worker', 3),
      runningTasks: { new: 1, old: 0 },
      ok: true,
      targetGroups: [],
    },
  ],
  checks: [
    {
      check: 'GET /a|b <x> 200',
      method: 'GET',
      url: 'http://alb.example/a|b',
      expectedStatus: '200',
      ok: false,
      passes: 1,
      required: 3,
      attempts: 5,
      status: 200,
      latencyMs: 12,
      minLatencyMs: 9,
      maxLatencyMs: 40,
    },
    {
      check: 'GET /b 200',
      method: 'GET',
      url: 'http://alb.example/b',
      expectedStatus: '200',
      ok: false,
      passes: 0,
      required: 3,
      attempts: 0,
    },
  ],
  problems: ['…'],
};

describe('report tables', () => {
  it('lists each target group with healthy/desired, draining and every other target by state, reason and revision', () => {
    const [head, api, worker] = targetTable(report);
    expect(head!.map((c) => (typeof c === 'string' ? c : c.data))).toEqual([
      'Service',
      'Revision',
      'Target group',
      'Healthy',
      'Draining',
      'Other targets',
      'OK',
    ]);
    expect(api).toEqual([
      'alva-api',
      'alva-api:8',
      'alva-api-tg',
      '1/2',
      '1',
      '10.0.0.2:3001 unhealthy (Target.Timeout) alva-api:8<br>10.0.0.9:3001 healthy no task',
      '❌',
    ]);
    expect(worker).toEqual(['alva-worker', 'alva-worker:3', '(none)', '1/1 tasks', '-', '-', '✅']);
  });

  it('lists each check with its last status, latency, passes in a row and tries, escaping markup', () => {
    const rows = checkTable(report);
    expect(rows[1]).toEqual(['GET /a&#124;b &#60;x&#62; 200', '200', '12 / 40 ms', '1/3 (5 tries)', '❌']);
    expect(rows[2]).toEqual(['GET /b 200', '-', '-', '0/3 (0 tries)', '❌']);
    // No empty cell anywhere (the summary writer leaves an empty cell unclosed).
    for (const row of [...rows, ...targetTable(report)]) for (const cell of row) expect(cell).not.toBe('');
  });

  it('gives a one-line verdict with counts and duration', () => {
    expect(verdict(report)).toBe(
      'Verification failed (2 services, 1 target groups, 2 HTTP checks) after 1m01s',
    );
  });
});
