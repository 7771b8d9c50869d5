import { describe, expect, it } from '@jest/globals';
import type { Task } from '@aws-sdk/client-ecs';
import type { TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  describeTargetGroup,
  evaluateTargetGroup,
  FailureHistory,
  targetGroupProblems,
} from '../../../lib/verify/targets.js';

const TD = (rev: number) => `arn:aws:ecs:us-east-1:123456789012:task-definition/alva-web:${rev}`;
const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/alva-web-tg/0123456789abcdef';

function task(id: string, ip: string, rev: number, status = 'RUNNING', desired = 'RUNNING'): Task {
  return {
    taskArn: `arn:aws:ecs:us-east-1:123456789012:task/alva-staging-cluster/${id}`,
    taskDefinitionArn: TD(rev),
    lastStatus: status,
    desiredStatus: desired,
    attachments: [
      {
        type: 'ElasticNetworkInterface',
        details: [
          { name: 'subnetId', value: 'subnet-1' },
          { name: 'privateIPv4Address', value: ip },
        ],
      },
    ],
    containers: [{ name: 'web' }],
  };
}

function target(
  ip: string,
  state: string,
  reason?: string,
  description?: string,
  port = 3000,
): TargetHealthDescription {
  return {
    Target: { Id: ip, Port: port },
    HealthCheckPort: String(port),
    TargetHealth: { State: state as never, Reason: reason as never, Description: description },
  };
}

const evaluate = (descriptions: TargetHealthDescription[], tasks: Task[], desiredCount = 2) =>
  evaluateTargetGroup({
    targetGroupArn: TG,
    containerName: 'web',
    containerPort: 3000,
    desiredCount,
    newTaskDefinitionArn: TD(7),
    descriptions,
    tasks,
  });

describe('evaluateTargetGroup', () => {
  it('passes with the desired count healthy on the new revision while old targets drain', () => {
    const report = evaluate(
      [
        target('10.0.1.5', 'healthy'),
        target('10.0.1.6', 'healthy'),
        target(
          '10.0.2.5',
          'draining',
          'Target.DeregistrationInProgress',
          'Target deregistration is in progress',
        ),
      ],
      [task('a', '10.0.1.5', 7), task('b', '10.0.1.6', 7), task('c', '10.0.2.5', 6, 'RUNNING', 'STOPPED')],
    );
    expect(report).toMatchObject({ targetGroupName: 'alva-web-tg', healthy: 2, desired: 2, ok: true });
    expect(report.targets.map((t) => [t.verdict, t.revision, t.revisionRole])).toEqual([
      ['serving', 'alva-web:7', 'new'],
      ['serving', 'alva-web:7', 'new'],
      ['draining', 'alva-web:6', 'old'],
    ]);
    expect(targetGroupProblems('alva-web', report)).toEqual([]);
    expect(describeTargetGroup(report)).toBe(
      '2/2 healthy on the new revision; alva-web:6 draining (Target.DeregistrationInProgress) ×1',
    );
  });

  it('fails an old revision still healthy once the new one is live, naming the task and revision', () => {
    const report = evaluate(
      [target('10.0.1.5', 'healthy'), target('10.0.1.6', 'healthy'), target('10.0.2.5', 'healthy')],
      [task('a', '10.0.1.5', 7), task('b', '10.0.1.6', 7), task('c', '10.0.2.5', 6)],
    );
    expect(report.ok).toBe(false);
    expect(report.healthy).toBe(2);
    expect(targetGroupProblems('alva-web', report)).toEqual([
      'alva-web / target group alva-web-tg: target 10.0.2.5:3000 is healthy; an old revision still healthy and taking traffic although the new revision is live; task c (alva-web:6, old revision, RUNNING)',
    ]);
  });

  it('names each failing new target with its state, reason code and description', () => {
    const report = evaluate(
      [
        target(
          '10.0.1.5',
          'unhealthy',
          'Target.ResponseCodeMismatch',
          'Health checks failed with these codes: [500]',
        ),
        target('10.0.1.6', 'initial', 'Elb.InitialHealthChecking', 'Initial health checks in progress'),
        target('10.0.2.5', 'healthy'),
      ],
      [task('a', '10.0.1.5', 7), task('b', '10.0.1.6', 7), task('c', '10.0.2.5', 6)],
    );
    expect(report.targets.map((t) => t.verdict)).toEqual(['failing', 'starting', 'stale']);
    expect(targetGroupProblems('alva-web', report)).toEqual([
      'alva-web / target group alva-web-tg: 0 of 2 desired targets are healthy running tasks of the new revision',
      'alva-web / target group alva-web-tg: target 10.0.1.5:3000 is unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [500]); task a (alva-web:7, new revision, RUNNING)',
      'alva-web / target group alva-web-tg: target 10.0.1.6:3000 is initial (Elb.InitialHealthChecking: Initial health checks in progress), still starting; task b (alva-web:7, new revision, RUNNING)',
      'alva-web / target group alva-web-tg: target 10.0.2.5:3000 is healthy; an old revision still serving; task c (alva-web:6, old revision, RUNNING)',
    ]);
  });

  it('does not count a healthy target without a task of the service, nor one of a stopping task', () => {
    const report = evaluate(
      [target('10.0.1.5', 'healthy'), target('10.0.3.3', 'healthy')],
      [task('a', '10.0.1.5', 7, 'RUNNING', 'STOPPED')],
      1,
    );
    expect(report.healthy).toBe(0);
    const problems = targetGroupProblems('alva-web', report);
    expect(problems[1]).toContain(
      'its task is not running; task a (alva-web:7, new revision, RUNNING→STOPPED)',
    );
    expect(problems[2]).toContain(
      'target 10.0.3.3:3000 is healthy; healthy but not a task of this service; no running or recent task of this service has this address and port',
    );
  });

  it('ignores unhealthy old targets and matches a revision given as family:revision', () => {
    const report = evaluateTargetGroup({
      targetGroupArn: TG,
      containerName: 'web',
      containerPort: 3000,
      desiredCount: 1,
      newTaskDefinitionArn: 'alva-web:7',
      descriptions: [target('10.0.1.5', 'healthy'), target('10.0.2.5', 'unhealthy', 'Target.Timeout')],
      tasks: [task('a', '10.0.1.5', 7), task('c', '10.0.2.5', 6)],
    });
    expect(report.ok).toBe(true);
    expect(report.targets[1]!.verdict).toBe('inactive');
  });
});

describe('FailureHistory', () => {
  it('keeps failures of new-revision targets across polls, counted per distinct target', () => {
    const history = new FailureHistory();
    const mismatch = (ip: string) =>
      target(ip, 'unhealthy', 'Target.ResponseCodeMismatch', 'Health checks failed with these codes: [503]');
    history.record(
      evaluate(
        [mismatch('10.0.1.5'), target('10.0.2.5', 'unhealthy', 'Target.Timeout')],
        [task('a', '10.0.1.5', 7), task('c', '10.0.2.5', 6)],
      ),
    );
    history.record(evaluate([mismatch('10.0.1.5')], [task('a', '10.0.1.5', 7)]));
    const later = evaluate([mismatch('10.0.1.6')], [task('b', '10.0.1.6', 7)]);
    history.record(later);
    const now = evaluate(
      [target('10.0.1.7', 'initial', 'Elb.InitialHealthChecking')],
      [task('d', '10.0.1.7', 7)],
    );
    history.annotate(now);
    expect(now.failuresSeen).toEqual([
      {
        state: 'unhealthy',
        reason: 'Target.ResponseCodeMismatch',
        description: 'Health checks failed with these codes: [503]',
        revision: 'alva-web:7',
        targets: 2,
      },
    ]);
    expect(targetGroupProblems('alva-web', now).at(-1)).toBe(
      'alva-web / target group alva-web-tg: during verification 2 targets of the new revision alva-web:7 were unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [503])',
    );
  });
});
