/**
 * `traffic: test`: what verify checks of a blue/green (linear, canary)
 * service before production traffic moves: its GREEN revision, reached
 * through the test listener.
 *
 * - the green revision: the service's IN_PROGRESS service deployment
 *   (ListServiceDeployments, once) and its target service revision
 *   (DescribeServiceRevisions, once): its task definition, and the target
 *   group its tasks registered in (the revision's `loadBalancers`);
 * - each poll: the service deployment's status and lifecycle stage
 *   (DescribeServiceDeployments) and how much of the test listener rule's
 *   traffic goes to green's target group (DescribeRules);
 * - where the checks go: the test listener rule's listener (its ARN is the
 *   rule's up to the listener id) → DescribeListeners → port and protocol →
 *   the load balancer's DNS name.
 *
 * A rolling service has no green revision and no test listener: asking to
 * check its test traffic is an input error that names it.
 */
import {
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  ListServiceDeploymentsCommand,
  type ECSClient,
  type Service,
  type ServiceDeployment,
} from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { ExpectedRevision } from '../contracts/deployments.js';
import type { TestTrafficReport, VerifiedService } from '../contracts/verify-report.js';
import { InputError, OperationError } from '../errors.js';
import { sameRevision } from '../ecs/target-health.js';
import { shortTaskDefinition } from '../ecs/taskdef.js';

/** Which traffic verify checks: production (the service's target groups, the production listener) or test (green). */
export type Traffic = 'production' | 'test';

/** One service's green revision, found once per run. */
export interface GreenRevision {
  serviceDeploymentArn: string;
  serviceRevisionArn: string;
  taskDefinition: string;
  /** Green's target groups, one per load balancer binding of the service, in the service's order. */
  bindings: { targetGroupArn: string; containerName: string; containerPort: number }[];
  testListenerRuleArn: string;
}

/** What one poll says of green beyond its targets. */
export interface GreenReading {
  green: GreenRevision;
  deployment: ServiceDeployment;
  /** Percent of the test listener rule's traffic forwarded to green's target group. */
  testWeightPercent: number;
  /** The test listener rule's path patterns; absent when it has none (every path). */
  testPathPatterns?: string[];
  /** The test listener rule's priority; absent for the listener's default rule. */
  testRulePriority?: number;
}

const TRAFFIC_FIX =
  'set `traffic: production` (the default) for rolling services, or verify them in a step of their own';

/** Deployments that no longer lead to green: it was stopped or rolled back. */
const ENDED = new Set([
  'STOPPED',
  'STOP_REQUESTED',
  'ROLLBACK_REQUESTED',
  'ROLLBACK_IN_PROGRESS',
  'ROLLBACK_SUCCESSFUL',
  'ROLLBACK_FAILED',
]);

/** The test listener rule of a service's (first) load balancer binding; an InputError for a rolling service. */
export function testListenerRuleOf(name: string, service: Service): string {
  const strategy = service.deploymentConfiguration?.strategy ?? 'ROLLING';
  if (strategy === 'ROLLING') {
    throw new InputError(
      'traffic',
      `is "test", but service "${name}" deploys with the ROLLING strategy: it has no green revision and no test listener`,
      TRAFFIC_FIX,
    );
  }
  const rule = (service.loadBalancers ?? [])
    .map((lb) => lb.advancedConfiguration?.testListenerRule)
    .find(Boolean);
  if (!rule) {
    throw new InputError(
      'traffic',
      `is "test", but service "${name}" (${strategy}) has no testListenerRule in its load balancers' advancedConfiguration: no traffic reaches green before production`,
      'give the service a test listener rule (advancedConfiguration.testListenerRule), or verify it with `traffic: production`',
    );
  }
  return rule;
}

/**
 * The green revision of a service's IN_PROGRESS deployment; a string (the
 * problem, which waiting cannot fix) when there is none or it is not the
 * revision `expected` names.
 */
export async function findGreen(
  ecs: ECSClient,
  cluster: string,
  name: string,
  service: Service,
  expected: ExpectedRevision | undefined,
  signal?: AbortSignal,
): Promise<GreenRevision | string> {
  const testListenerRuleArn = testListenerRuleOf(name, service);
  const { serviceDeployments = [] } = await ecs.send(
    new ListServiceDeploymentsCommand({ cluster, service: service.serviceArn ?? name }),
    { abortSignal: signal },
  );
  const inProgress = serviceDeployments.find((d) => d.status === 'IN_PROGRESS');
  if (!inProgress?.serviceDeploymentArn || !inProgress.targetServiceRevisionArn) {
    const latest = serviceDeployments[0];
    return `${name}: no deployment is IN_PROGRESS, so no green revision is on test traffic${latest ? ` (the latest, ${latest.serviceDeploymentArn}, is ${latest.status})` : ''}; verify with \`traffic: test\` while the deployment holds before production traffic moves`;
  }
  const { serviceRevisions = [] } = await ecs.send(
    new DescribeServiceRevisionsCommand({ serviceRevisionArns: [inProgress.targetServiceRevisionArn] }),
    { abortSignal: signal },
  );
  const revision = serviceRevisions[0];
  const taskDefinition = revision?.taskDefinition ?? '';
  if (expected && !sameRevision(taskDefinition, expected.newTaskDefinitionArn)) {
    return `${name}: the deployment in progress (${inProgress.serviceDeploymentArn}) runs ${shortTaskDefinition(taskDefinition)} as green, not ${shortTaskDefinition(expected.newTaskDefinitionArn)} that \`deployments\` names as new`;
  }
  const bindings = (revision?.loadBalancers ?? [])
    .filter((lb) => lb.targetGroupArn)
    .map((lb) => ({
      targetGroupArn: lb.targetGroupArn!,
      containerName: lb.containerName ?? '',
      containerPort: lb.containerPort ?? 0,
    }));
  return {
    serviceDeploymentArn: inProgress.serviceDeploymentArn,
    serviceRevisionArn: inProgress.targetServiceRevisionArn,
    taskDefinition,
    bindings,
    testListenerRuleArn,
  };
}

/** Green's deployment now, and the share of test traffic its target group gets. */
export async function readGreen(
  ecs: ECSClient,
  elbv2: ElasticLoadBalancingV2Client,
  green: GreenRevision,
  signal?: AbortSignal,
): Promise<GreenReading> {
  const [{ serviceDeployments = [] }, { Rules = [] }] = await Promise.all([
    ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [green.serviceDeploymentArn] }), {
      abortSignal: signal,
    }),
    elbv2.send(new DescribeRulesCommand({ RuleArns: [green.testListenerRuleArn] }), { abortSignal: signal }),
  ]);
  const greenGroups = new Set(green.bindings.map((b) => b.targetGroupArn));
  const forward = Rules[0]?.Actions?.find((a) => a.Type === 'forward');
  const groups =
    forward?.ForwardConfig?.TargetGroups ??
    (forward?.TargetGroupArn ? [{ TargetGroupArn: forward.TargetGroupArn, Weight: 1 }] : []);
  const total = groups.reduce((sum, g) => sum + (g.Weight ?? 1), 0);
  const toGreen = groups
    .filter((g) => g.TargetGroupArn && greenGroups.has(g.TargetGroupArn))
    .reduce((sum, g) => sum + (g.Weight ?? 1), 0);
  const paths = (Rules[0]?.Conditions ?? [])
    .filter((c) => c.Field === 'path-pattern')
    .flatMap((c) => c.PathPatternConfig?.Values ?? c.Values ?? []);
  return {
    green,
    deployment: serviceDeployments[0] ?? { serviceDeploymentArn: green.serviceDeploymentArn },
    testWeightPercent: total > 0 ? Math.round((toGreen / total) * 1000) / 10 : 0,
    ...(paths.length > 0 ? { testPathPatterns: paths } : {}),
    ...(/^\d+$/.test(Rules[0]?.Priority ?? '') ? { testRulePriority: Number(Rules[0]!.Priority) } : {}),
  };
}

/** A deployment that was stopped or rolled back: green will never be on test traffic again. */
export function endedProblem(name: string, reading: GreenReading): string | undefined {
  const { status, rollback, statusReason } = reading.deployment;
  if (!status || !ENDED.has(status)) return undefined;
  const why = rollback?.reason ?? statusReason;
  return `${name}: the deployment of green ${shortTaskDefinition(reading.green.taskDefinition)} (${reading.green.serviceDeploymentArn}) is ${status}${why ? ` (${why})` : ''}: it was stopped or rolled back before verify passed on test traffic`;
}

/** The report's record of what was checked. */
export function testTrafficReport(reading: GreenReading): TestTrafficReport {
  return {
    serviceDeploymentArn: reading.green.serviceDeploymentArn,
    serviceRevisionArn: reading.green.serviceRevisionArn,
    taskDefinition: reading.green.taskDefinition,
    ...(reading.deployment.status ? { deploymentStatus: reading.deployment.status } : {}),
    ...(reading.deployment.lifecycleStage ? { lifecycleStage: reading.deployment.lifecycleStage } : {}),
    targetGroupArns: reading.green.bindings.map((b) => b.targetGroupArn),
    testListenerRuleArn: reading.green.testListenerRuleArn,
    testListenerArn: listenerArnOfRule(reading.green.testListenerRuleArn),
    testWeightPercent: reading.testWeightPercent,
    ...(reading.testPathPatterns ? { testPathPatterns: reading.testPathPatterns } : {}),
    ...(reading.testRulePriority !== undefined ? { testRulePriority: reading.testRulePriority } : {}),
  };
}

/** An ALB path pattern (case-sensitive; `*` any run of characters, `?` exactly one) against a request path. */
export function pathPatternMatches(pattern: string, path: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${regex}$`).test(path);
}

/**
 * The green a request to `url` reaches through the test listener, as the ALB routes it: of the services whose
 * test listener rule's path patterns match its path (a rule without path patterns matches every path), the
 * one whose rule has the lowest priority. None for production checks (no test traffic was read).
 */
export function greensServing(url: string, services: readonly VerifiedService[]): string[] {
  const path = new URL(url).pathname;
  const matching = services.filter((s) => {
    const patterns = s.testTraffic?.testPathPatterns;
    return s.testTraffic && (!patterns || patterns.some((p) => pathPatternMatches(p, path)));
  });
  const rank = (s: VerifiedService) => s.testTraffic!.testRulePriority ?? Number.POSITIVE_INFINITY;
  const first = matching.sort((a, b) => rank(a) - rank(b))[0];
  return first ? [`${first.service}'s green ${shortTaskDefinition(first.testTraffic!.taskDefinition)}`] : [];
}

/** A rule's listener: arn:…:listener-rule/app/NAME/LB/LISTENER/RULE → arn:…:listener/app/NAME/LB/LISTENER. */
export function listenerArnOfRule(ruleArn: string): string {
  return ruleArn.replace(':listener-rule/', ':listener/').replace(/\/[^/]+$/, '');
}

/**
 * Where test-traffic checks go: the one test listener of the services, at
 * its load balancer's DNS name and its own port. Several test listeners: which
 * one is ambiguous.
 */
export async function testListenerBaseUrl(
  listenerArns: string[],
  elbv2: ElasticLoadBalancingV2Client,
  signal?: AbortSignal,
): Promise<{ baseUrl: string; listenerArn: string; port: number }> {
  const distinct = [...new Set(listenerArns)];
  const fix = 'verify the services of each test listener in a step of their own, or set `base-url`';
  if (distinct.length !== 1) {
    throw new OperationError(
      `The services' test listener rules are on ${distinct.length} listeners (${distinct.join(', ')}): which one the checks use is ambiguous`,
      [fix],
    );
  }
  const listenerArn = distinct[0]!;
  const { Listeners = [] } = await elbv2.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] }), {
    abortSignal: signal,
  });
  const listener = Listeners[0];
  if (!listener?.LoadBalancerArn || !listener.Port) {
    throw new OperationError(`The test listener ${listenerArn} has no load balancer or port`, [fix]);
  }
  const { LoadBalancers = [] } = await elbv2.send(
    new DescribeLoadBalancersCommand({ LoadBalancerArns: [listener.LoadBalancerArn] }),
    { abortSignal: signal },
  );
  const dnsName = LoadBalancers[0]?.DNSName;
  if (!dnsName) throw new OperationError(`The test listener's load balancer has no DNS name`, [fix]);
  const scheme = listener.Protocol === 'HTTPS' ? 'https' : 'http';
  const defaultPort = scheme === 'https' ? 443 : 80;
  // The test listener is on its own port of the load balancer's name.
  const host = dnsName.replace(/:\d+$/, '');
  const port = listener.Port === defaultPort ? '' : `:${listener.Port}`;
  return { baseUrl: `${scheme}://${host}${port}`, listenerArn, port: listener.Port };
}
