import { describe, expect, it } from '@jest/globals';
import {
  expectedRevisions,
  parseDeployments,
  serializeDeployments,
  type DeployReport,
} from '../../../lib/contracts/deployments.js';
import { inputError } from './input-error.js';

const TD = (family: string, rev: number) =>
  `arn:aws:ecs:us-east-1:123456789012:task-definition/${family}:${rev}`;
const FIX =
  'Fix: pass the deploy-services output as is: `deployments: ${{ steps.deploy.outputs.deployments }}`';

/** A failed run: web deployed then rolled back with the rest, api failed, auth unchanged. */
const report: DeployReport = {
  cluster: 'alva',
  ok: false,
  cancelled: false,
  rolledBack: true,
  durationMs: 92_000,
  services: [
    {
      service: 'alva-web',
      cluster: 'alva',
      previousTaskDefinition: TD('alva-web', 4),
      taskDefinition: TD('alva-web', 5),
      registered: true,
      images: [{ container: 'web', from: 'repo/web:1', to: 'repo/web:2' }],
      status: 'aborted',
      strategy: 'BLUE_GREEN',
      lifecycleStage: 'BAKE_TIME',
      productionTrafficWeight: 0,
      serviceRevisionArn: 'arn:aws:ecs:us-east-1:123456789012:service-revision/alva/alva-web/4077',
      startedAt: '2026-11-26T21:40:02.114Z',
      finishedAt: '2026-11-26T21:41:31.870Z',
      durationMs: 89_756,
      rollback: {
        taskDefinition: TD('alva-web', 4),
        status: 'succeeded',
        finishedAt: '2026-11-26T21:42:00.000Z',
        durationMs: 28_130,
        trafficShiftBackMs: 4_020,
      },
      finalTaskDefinition: TD('alva-web', 4),
      consoleUrl:
        'https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/alva/services/alva-web/deployments',
    },
    {
      service: 'alva-api',
      cluster: 'alva',
      previousTaskDefinition: TD('alva-api', 2),
      taskDefinition: TD('alva-api', 3),
      registered: true,
      images: [{ container: 'api', from: 'repo/api:1', to: 'repo/api:2' }],
      status: 'failed',
      strategy: 'ROLLING',
      reason: 'the deployment circuit breaker rolled it back',
      details: ['stopped task 0f3…: Essential container in task exited (exit code 1)'],
      rollback: { taskDefinition: TD('alva-api', 2), status: 'failed', reason: 'timed out' },
      finalTaskDefinition: TD('alva-api', 2),
    },
    {
      service: 'alva-auth',
      cluster: 'alva',
      previousTaskDefinition: TD('alva-auth', 7),
      taskDefinition: TD('alva-auth', 7),
      registered: false,
      images: [],
      status: 'unchanged',
      finalTaskDefinition: TD('alva-auth', 7),
    },
  ],
};

describe('deployments: what it refuses, naming the input and the fix', () => {
  it.each([
    ['not JSON', 'deployed!', /^Input "deployments": is not valid JSON \(/],
    ['an array', '[1]', /^Input "deployments": must be a JSON object keyed by service name, got an array/],
    ['a string', '"alva-web"', /must be a JSON object keyed by service name, got string/],
    ['an entry that is not an object', '{"alva-web": 3}', /the entry for "alva-web" is not an object/],
    [
      'an entry without taskDefinition',
      '{"alva-web": {"status": "deployed"}}',
      /the entry for "alva-web" has no "taskDefinition" \(the revision deployed\)/,
    ],
    ['an empty taskDefinition', '{"alva-web": {"taskDefinition": " "}}', /has no "taskDefinition"/],
    [
      'a taskDefinition that is not a string',
      '{"alva-web": {"taskDefinition": 5}}',
      /has no "taskDefinition"/,
    ],
    [
      'a previousTaskDefinition that is not a string',
      '{"alva-web": {"taskDefinition": "w:5", "previousTaskDefinition": 4}}',
      /the entry for "alva-web": "previousTaskDefinition" is not a string \(4\)/,
    ],
    [
      'an unknown status',
      '{"alva-web": {"taskDefinition": "w:5", "status": "ok"}}',
      /"status" is not one of deployed, unchanged, failed, timed-out, cancelled, aborted, in-progress \("ok"\)/,
    ],
    [
      'registered that is not a boolean',
      '{"alva-web": {"taskDefinition": "w:5", "registered": "yes"}}',
      /"registered" is not true or false/,
    ],
    [
      'a strategy that is not a string',
      '{"alva-web": {"taskDefinition": "w:5", "strategy": 1}}',
      /"strategy" is not a string/,
    ],
    [
      'a productionTrafficWeight that is not a number',
      '{"alva-web": {"taskDefinition": "w:5", "productionTrafficWeight": "100%"}}',
      /"productionTrafficWeight" is not a number/,
    ],
    [
      'a serviceRevisionArn that is not a string',
      '{"alva-web": {"taskDefinition": "w:5", "serviceRevisionArn": 4077}}',
      /"serviceRevisionArn" is not a string \(4077\)/,
    ],
    [
      'images that is not an array',
      '{"alva-web": {"taskDefinition": "w:5", "images": {}}}',
      /"images" is not an array/,
    ],
  ])('refuses %s', (_label, raw, message) => {
    const err = inputError(() => parseDeployments(raw));
    expect(err.input).toBe('deployments');
    expect(err.message).toMatch(message);
    expect(err.message).toContain(FIX);
  });

  it('names the input it was given', () => {
    expect(inputError(() => parseDeployments('[]', 'DEPLOYMENTS')).message).toMatch(/^Input "DEPLOYMENTS": /);
  });
});

describe('deployments: round trip', () => {
  it('parses back exactly what deploy-services writes, keyed by service', () => {
    const written = serializeDeployments(report);
    const parsed = parseDeployments(written);
    expect(parsed).toEqual(Object.fromEntries(report.services.map((s) => [s.service, s])));
    expect(Object.keys(parsed)).toEqual(['alva-web', 'alva-api', 'alva-auth']);
    expect(JSON.stringify(parsed)).toBe(written);
  });

  it('writes only the services: the run-level fields are not part of the output', () => {
    expect(Object.keys(JSON.parse(serializeDeployments(report)) as object)).toEqual([
      'alva-web',
      'alva-api',
      'alva-auth',
    ]);
  });

  it('reads an entry written before strategy, lifecycleStage and productionTrafficWeight existed', () => {
    const old = {
      'alva-web': {
        service: 'alva-web',
        previousTaskDefinition: TD('alva-web', 4),
        taskDefinition: TD('alva-web', 5),
        status: 'deployed',
        rollback: { taskDefinition: TD('alva-web', 4), status: 'succeeded', durationMs: 28_130 },
        finalTaskDefinition: TD('alva-web', 5),
      },
    };
    const parsed = parseDeployments(JSON.stringify(old));
    expect(parsed).toEqual(old);
    expect(parsed['alva-web']!.strategy).toBeUndefined();
    expect(parsed['alva-web']!.productionTrafficWeight).toBeUndefined();
    expect(expectedRevisions(parsed).get('alva-web')).toEqual({
      newTaskDefinitionArn: TD('alva-web', 5),
      previousTaskDefinitionArn: TD('alva-web', 4),
    });
  });

  it('keeps any service name as an ordinary key', () => {
    const odd = { ...report.services[2]!, service: 'constructor' };
    const parsed = parseDeployments(serializeDeployments({ services: [odd] }));
    expect(Object.keys(parsed)).toEqual(['constructor']);
    expect(parsed['constructor']).toEqual(odd);
    expect(parsed['toString']).toBeUndefined();
  });
});

describe('deployments: what verify reads of it', () => {
  it('the revision deployed and the one it replaced, per service', () => {
    expect(Object.fromEntries(expectedRevisions(parseDeployments(serializeDeployments(report))))).toEqual({
      'alva-web': { newTaskDefinitionArn: TD('alva-web', 5), previousTaskDefinitionArn: TD('alva-web', 4) },
      'alva-api': { newTaskDefinitionArn: TD('alva-api', 3), previousTaskDefinitionArn: TD('alva-api', 2) },
      'alva-auth': {
        newTaskDefinitionArn: TD('alva-auth', 7),
        previousTaskDefinitionArn: TD('alva-auth', 7),
      },
    });
  });

  it('accepts a hand-written entry that gives only taskDefinition', () => {
    expect(
      Object.fromEntries(
        expectedRevisions(parseDeployments('{"alva-web": {"taskDefinition": " alva-web:5 "}}')),
      ),
    ).toEqual({
      'alva-web': { newTaskDefinitionArn: 'alva-web:5' },
    });
  });
});
