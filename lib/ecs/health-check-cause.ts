/**
 * Why tasks failed their load balancer health checks: the target group, the
 * check itself (DescribeTargetGroups: protocol, path, port, matcher) and what
 * the check got (status codes or a timeout). What it got comes, in order of
 * trust, from the target health a poll saw, the target health now, and the
 * service event ECS wrote ("… is unhealthy in (target-group …) due to (reason
 * Health checks failed with these codes: [502])"): the last outlives the
 * targets, so the cause is named whatever the poll timing.
 */
import type { ServiceEvent, Task } from '@aws-sdk/client-ecs';
import {
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { errorMessage } from '../errors.js';
import type { EcsClients } from './clients.js';
import { parseUnhealthyEvent } from './service-events.js';
import { targetGroupName } from './target-health.js';
import { taskEniAddress, taskId } from './tasks.js';

/** A health-check failure a poll saw before the target went away. */
export interface SeenTargetFailure {
  targetGroupArn: string;
  state: string;
  reason?: string;
  description?: string;
}

export interface HealthCheckInput {
  /** The failed tasks: those stopped for failing ELB health checks name their target group. */
  tasks: readonly Task[];
  /** The service's events (newest first), every one since the deployment began: the parser picks. */
  events: readonly ServiceEvent[];
  seen?: readonly SeenTargetFailure[];
  signal?: AbortSignal;
}

// ECS: "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:…)".
const ELB_STOP = /failed ELB health checks in \(?target-group ([^)\s]+)\)?/i;

/** ELB's words for a reason code that comes without a description. */
const REASON_TEXT: Record<string, string> = {
  'Target.Timeout': 'Request timed out',
  'Target.ResponseCodeMismatch': 'Health checks failed: the response code did not match',
  'Target.FailedHealthChecks': 'Health checks failed',
  'Elb.InternalError': 'Health checks failed due to an internal error',
};

/** The target groups whose health checks stopped one of these tasks. */
export function failedHealthCheckTargetGroups(tasks: readonly Task[]): string[] {
  const arns = tasks.map((t) => ELB_STOP.exec(t.stoppedReason ?? '')?.[1]).filter((a) => a !== undefined);
  return [...new Set(arns)];
}

/** One line per target group whose health checks failed; none when no task failed them. Never throws. */
export async function explainHealthChecks(clients: EcsClients, input: HealthCheckInput): Promise<string[]> {
  const arns = [
    ...new Set([
      ...failedHealthCheckTargetGroups(input.tasks),
      ...(input.seen ?? []).map((s) => s.targetGroupArn),
    ]),
  ];
  if (!arns.length) return [];
  const lines: string[] = [];
  let elbv2: ElasticLoadBalancingV2Client | undefined;
  let groups: TargetGroup[] = [];
  try {
    elbv2 = await clients.elbv2();
    const byArn = arns.filter((a) => a.startsWith('arn:'));
    const reply = await elbv2.send(
      new DescribeTargetGroupsCommand(byArn.length ? { TargetGroupArns: byArn } : { Names: arns }),
      { abortSignal: input.signal },
    );
    groups = reply.TargetGroups ?? [];
  } catch (err) {
    lines.push(`(could not read the target group's health check settings: ${errorMessage(err)})`);
  }
  for (const arn of arns) {
    const group = groups.find((g) => g.TargetGroupArn === arn || g.TargetGroupName === arn);
    const got = distinct([
      ...seenReasons(arn, input),
      ...(await healthNow(elbv2, arn, input)),
      ...eventReasons(arn, input),
    ]);
    const name = group?.TargetGroupName ?? targetGroupName(arn);
    lines.push(
      `Health check of target group ${name}: ${group ? describeCheck(group) : 'its settings could not be read'}; ` +
        `it got: ${got.length ? got.slice(0, 3).join('; ') : 'no reason recorded (the targets are gone and no service event says why)'}`,
    );
  }
  return lines;
}

/** "HTTP GET /api/health on the traffic port, expecting 200 (every 5 s, 3 s timeout, unhealthy after 2 failures)". */
export function describeCheck(group: TargetGroup): string {
  const protocol = group.HealthCheckProtocol ?? 'HTTP';
  const port =
    !group.HealthCheckPort || group.HealthCheckPort === 'traffic-port'
      ? `the traffic port${group.Port ? ` (${group.Port})` : ''}`
      : `port ${group.HealthCheckPort}`;
  const request = protocol === 'TCP' ? 'TCP connect' : `${protocol} GET ${group.HealthCheckPath ?? '/'}`;
  const expect = group.Matcher?.GrpcCode
    ? `, expecting gRPC code ${group.Matcher.GrpcCode}`
    : protocol === 'TCP'
      ? ''
      : `, expecting ${group.Matcher?.HttpCode ?? '200'}`;
  const timing = [
    group.HealthCheckIntervalSeconds !== undefined ? `every ${group.HealthCheckIntervalSeconds} s` : '',
    group.HealthCheckTimeoutSeconds !== undefined ? `${group.HealthCheckTimeoutSeconds} s timeout` : '',
    group.UnhealthyThresholdCount !== undefined
      ? `unhealthy after ${group.UnhealthyThresholdCount} failures`
      : '',
  ].filter(Boolean);
  return `${request} on ${port}${expect}${timing.length ? ` (${timing.join(', ')})` : ''}`;
}

/** What a check got, and where that was read. */
interface Got {
  text: string;
  from: string;
}

/** Each distinct text once, with where it was first read. */
function distinct(got: Got[]): string[] {
  const seen = new Set<string>();
  return got.filter((g) => !seen.has(g.text) && seen.add(g.text)).map((g) => `${g.text} (${g.from})`);
}

function reasonText(reason: string | undefined, description: string | undefined): string | undefined {
  if (description) return description;
  return reason ? (REASON_TEXT[reason] ?? reason) : undefined;
}

function seenReasons(arn: string, input: HealthCheckInput): Got[] {
  return (input.seen ?? [])
    .filter((s) => s.targetGroupArn === arn)
    .map((s) => reasonText(s.reason, s.description))
    .filter((text) => text !== undefined)
    .map((text) => ({ text, from: 'target health seen by a poll' }));
}

/** Targets of the failed tasks still registered and failing now. */
async function healthNow(
  elbv2: ElasticLoadBalancingV2Client | undefined,
  arn: string,
  input: HealthCheckInput,
): Promise<Got[]> {
  if (!elbv2 || !arn.startsWith('arn:')) return [];
  const addresses = new Set(input.tasks.map(taskEniAddress).filter((a) => a !== undefined));
  try {
    const reply = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }), {
      abortSignal: input.signal,
    });
    return (reply.TargetHealthDescriptions ?? [])
      .filter((d) => addresses.has(d.Target?.Id ?? '') && d.TargetHealth?.State?.startsWith('unhealthy'))
      .map((d) => reasonText(d.TargetHealth?.Reason, d.TargetHealth?.Description))
      .filter((text) => text !== undefined)
      .map((text) => ({ text, from: 'target health now' }));
  } catch {
    // The target group's settings were read above, or their failure said so: the events still tell.
    return [];
  }
}

/** ECS's "is unhealthy … due to (reason …)" events for this target group, those naming a failed task first. */
function eventReasons(arn: string, input: HealthCheckInput): Got[] {
  const ids = new Set(input.tasks.map((t) => taskId(t.taskArn)));
  const name = targetGroupName(arn);
  return input.events
    .map(parseUnhealthyEvent)
    .filter((e) => e !== undefined && (e.targetGroup === arn || targetGroupName(e.targetGroup) === name))
    .sort((a, b) => Number(ids.has(b!.taskId ?? '')) - Number(ids.has(a!.taskId ?? '')))
    .map((e) => ({
      text: e!.reason,
      from: `ECS event${e!.createdAt ? ` ${e!.createdAt.toISOString()}` : ''}`,
    }));
}
