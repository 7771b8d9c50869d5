/**
 * One look at the services: what ECS and the load balancer say now (observe),
 * and what that means for each service (judge: lib/ecs/target-health.ts per
 * target group, through ./targets.ts).
 */
import type { ECSClient, Service, Task } from '@aws-sdk/client-ecs';
import {
  DescribeRulesCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
  type TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { ExpectedRevision } from '../contracts/deployments.js';
import type { VerifiedService } from '../contracts/verify-report.js';
import { OperationError } from '../errors.js';
import type { EcsClients } from '../ecs/clients.js';
import { relevantEvents } from '../ecs/service-events.js';
import { describeServices } from '../ecs/services.js';
import { sameRevision } from '../ecs/target-health.js';
import { shortTaskDefinition } from '../ecs/taskdef.js';
import { listServiceTasks, primaryDeployment, taskEniAddress } from '../ecs/tasks.js';
import {
  endedProblem,
  findGreen,
  readGreen,
  testTrafficReport,
  type GreenRevision,
  type Traffic,
} from './green.js';
import { lateCrashProblems, type TaskWatch } from './late-crash.js';
import { evaluateTargetGroup } from './targets.js';

export interface ObserveOptions {
  cluster: string;
  services: string[];
  /** Per service, the revision deploy-services made; else the PRIMARY deployment's. */
  deployments?: Map<string, ExpectedRevision>;
  ecs: ECSClient;
  elbv2: () => Promise<ElasticLoadBalancingV2Client>;
  /** CloudWatch Logs, for the last log lines of a task that crashed (absent: the explanation says so). */
  logs?: EcsClients['logs'];
  /** Follows the new revision's tasks across polls: one that stops for a failure is a late crash. */
  watch?: TaskWatch;
  /** production (default): the service's target groups. test: each blue/green service's green revision (./green.ts). */
  traffic?: Traffic;
  /** With `traffic: test`: each service's green revision once found (or why there is none), kept across polls. */
  greens?: Map<string, GreenRevision | string>;
  signal?: AbortSignal;
}

/** A load balancer binding: the target group and the container behind it. */
interface Binding {
  targetGroupArn: string;
  containerName: string;
  containerPort: number;
}

/**
 * The target groups that serve a service's production traffic. A rolling service's are its load balancers'
 * target groups. A blue/green, linear or canary service's new tasks register in one group of a pair (ECS
 * alternates them from one deployment to the next), so its production groups are the ones its production
 * listener rule forwards to with a weight above 0: after a release, green's (possibly the alternate), never the
 * emptied blue one.
 */
async function productionBindings(
  service: Service,
  elbv2: ElasticLoadBalancingV2Client | undefined,
  signal: AbortSignal | undefined,
): Promise<Binding[]> {
  const bindings: Binding[] = [];
  for (const lb of (service.loadBalancers ?? []).filter((b) => b.targetGroupArn)) {
    const binding = { containerName: lb.containerName ?? '', containerPort: lb.containerPort ?? 0 };
    const rule = lb.advancedConfiguration?.productionListenerRule;
    const pair = [lb.targetGroupArn!, lb.advancedConfiguration?.alternateTargetGroupArn].filter(Boolean);
    const weighted = rule && elbv2 ? await weightedTargetGroups(elbv2, rule, signal) : [];
    const serving = weighted.filter((arn) => pair.includes(arn));
    for (const targetGroupArn of serving.length > 0 ? serving : [lb.targetGroupArn!]) {
      if (!bindings.some((b) => b.targetGroupArn === targetGroupArn))
        bindings.push({ targetGroupArn, ...binding });
    }
  }
  return bindings;
}

/** The target groups a listener rule forwards to with a weight above 0. */
async function weightedTargetGroups(
  elbv2: ElasticLoadBalancingV2Client,
  ruleArn: string,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const { Rules = [] } = await elbv2.send(new DescribeRulesCommand({ RuleArns: [ruleArn] }), {
    abortSignal: signal,
  });
  const forward = Rules[0]?.Actions?.find((a) => a.Type === 'forward');
  const groups =
    forward?.ForwardConfig?.TargetGroups ??
    (forward?.TargetGroupArn ? [{ TargetGroupArn: forward.TargetGroupArn, Weight: 1 }] : []);
  return groups.filter((g) => g.TargetGroupArn && (g.Weight ?? 1) > 0).map((g) => g.TargetGroupArn!);
}

export interface Observation {
  services: VerifiedService[];
  /** Problems that waiting cannot fix (the service runs another revision than the one deployed). */
  terminal: string[];
}

/** What one service's tasks and target groups look like now. */
interface ServiceReading {
  /** Tasks whose desired status is RUNNING. */
  running: Task[];
  /** The running ones first, then (when a target has no running task) the recently stopped. */
  tasks: Task[];
  /** DescribeTargetHealth per load balancer binding, in the service's order. */
  health: TargetHealthDescription[][];
}

export async function observe(options: ObserveOptions): Promise<Observation> {
  const { ecs, cluster, signal } = options;
  const { services, missing } = await describeServices(ecs, cluster, options.services, signal);
  if (missing.length > 0) {
    throw new OperationError(
      `${missing.map((m) => `service "${m.name}" (${m.reason})`).join(', ')} not found in cluster "${cluster}"`,
      ['Check the `services` and `cluster` inputs: the names must be ACTIVE services of that cluster.'],
    );
  }
  const elbv2 =
    options.traffic === 'test' ||
    [...services.values()].some((s) => (s.loadBalancers ?? []).some((lb) => lb.targetGroupArn))
      ? await options.elbv2()
      : undefined;
  const terminal: string[] = [];
  const reports = await Promise.all(
    options.services.map(async (name) => {
      const service = services.get(name)!;
      if (options.traffic === 'test') return observeGreen(name, service, options, elbv2!, terminal);
      const expected = options.deployments?.get(name);
      const primary = primaryDeployment(service.deployments);
      const newTaskDefinition =
        expected?.newTaskDefinitionArn ?? primary?.taskDefinition ?? service.taskDefinition ?? '';
      const problem = revisionProblem(name, primary, newTaskDefinition, expected !== undefined);
      if (problem) terminal.push(problem);
      const bindings = await productionBindings(service, elbv2, signal);
      const reading = await readService(name, bindings, options, elbv2);
      if (options.watch) {
        terminal.push(
          ...(await lateCrashProblems({
            cluster,
            service: name,
            newTaskDefinition,
            running: reading.running,
            watch: options.watch,
            clients: clientsOf(options),
            ...(signal ? { signal } : {}),
          })),
        );
      }
      const report = judgeService(name, service, newTaskDefinition, bindings, reading);
      if (expected?.previousTaskDefinitionArn)
        report.previousTaskDefinition = expected.previousTaskDefinitionArn;
      if (primary?.taskDefinition) report.primaryTaskDefinition = primary.taskDefinition;
      const events = problemEvents(service, primary?.createdAt);
      if (events.length > 0) report.events = events;
      return report;
    }),
  );
  return { services: reports, terminal };
}

/**
 * A blue/green service's green revision, as `traffic: test` verifies it: its
 * target groups (the green service revision's), its tasks, whether the test
 * listener rule sends all test traffic to it, and whether its deployment still
 * leads anywhere (stopped or rolled back: terminal).
 */
async function observeGreen(
  name: string,
  service: Service,
  options: ObserveOptions,
  elbv2: ElasticLoadBalancingV2Client,
  terminal: string[],
): Promise<VerifiedService> {
  const { ecs, cluster, signal } = options;
  let green = options.greens?.get(name);
  if (green === undefined) {
    green = await findGreen(ecs, cluster, name, service, options.deployments?.get(name), signal);
    options.greens?.set(name, green);
  }
  if (typeof green === 'string') {
    terminal.push(green);
    return {
      service: name,
      desiredCount: service.desiredCount ?? 0,
      newTaskDefinition: options.deployments?.get(name)?.newTaskDefinitionArn ?? '',
      runningTasks: { new: 0, old: 0 },
      ok: false,
      targetGroups: [],
    };
  }
  const [deployment, reading] = await Promise.all([
    readGreen(ecs, elbv2, green, signal),
    readService(name, green.bindings, options, elbv2),
  ]);
  const ended = endedProblem(name, deployment);
  if (ended) terminal.push(ended);
  if (options.watch) {
    terminal.push(
      ...(await lateCrashProblems({
        cluster,
        service: name,
        newTaskDefinition: green.taskDefinition,
        running: reading.running,
        watch: options.watch,
        clients: clientsOf(options),
        ...(signal ? { signal } : {}),
      })),
    );
  }
  const report = judgeService(name, service, green.taskDefinition, green.bindings, reading);
  // Blue keeps serving production meanwhile: its tasks are expected, and only green's target groups are judged.
  report.ok = report.ok && green.bindings.length > 0 && deployment.testWeightPercent === 100;
  report.testTraffic = testTrafficReport(deployment);
  const expected = options.deployments?.get(name);
  if (expected?.previousTaskDefinitionArn) report.previousTaskDefinition = expected.previousTaskDefinitionArn;
  const events = problemEvents(service, deployment.deployment.createdAt);
  if (events.length > 0) report.events = events;
  return report;
}

/** What waiting cannot fix: the PRIMARY deployment is another revision than deployed, or it FAILED. */
function revisionProblem(
  name: string,
  primary: ReturnType<typeof primaryDeployment>,
  newTaskDefinition: string,
  deployedByUs: boolean,
): string | undefined {
  if (deployedByUs && primary?.taskDefinition && !sameRevision(primary.taskDefinition, newTaskDefinition)) {
    return `${name}: the service's PRIMARY deployment runs ${shortTaskDefinition(primary.taskDefinition)}, not ${shortTaskDefinition(newTaskDefinition)} that \`deployments\` names as new: the update never happened, was rolled back, or was replaced by another deployment`;
  }
  if (primary?.rolloutState === 'FAILED') {
    return `${name}: the PRIMARY deployment of ${shortTaskDefinition(primary.taskDefinition)} FAILED: ${primary.rolloutStateReason ?? 'no reason given'}`;
  }
  return undefined;
}

const MAX_EVENTS = 5;

/** ECS's own account of what went wrong, chosen by relevance: it outlives the targets and tasks it names. */
function problemEvents(service: Service, since: Date | undefined): { createdAt: string; message: string }[] {
  return relevantEvents(service.events ?? [], {
    ...(since ? { since } : {}),
    targetGroupArns: (service.loadBalancers ?? []).flatMap((lb) =>
      [lb.targetGroupArn, lb.advancedConfiguration?.alternateTargetGroupArn].filter(
        (arn) => arn !== undefined,
      ),
    ),
    problemsOnly: true,
    max: MAX_EVENTS,
  }).map((e) => ({ createdAt: e.createdAt?.toISOString() ?? '', message: e.message! }));
}

/** The clients lib/ecs/explain.ts reads with. */
function clientsOf(options: ObserveOptions): EcsClients {
  const noLogs = (): Promise<CloudWatchLogsClient> =>
    Promise.reject(new Error('no CloudWatch Logs client was given to verify'));
  return { ecs: options.ecs, elbv2: options.elbv2, logs: options.logs ?? noLogs };
}

/** The service's running tasks and its target groups' health, read in parallel. */
async function readService(
  name: string,
  bindings: Binding[],
  options: ObserveOptions,
  elbv2: ElasticLoadBalancingV2Client | undefined,
): Promise<ServiceReading> {
  const { ecs, cluster, signal } = options;
  const [running, health] = await Promise.all([
    listServiceTasks(ecs, { cluster, serviceName: name, desiredStatus: 'RUNNING', signal }),
    Promise.all(
      bindings.map((lb) =>
        elbv2!
          .send(new DescribeTargetHealthCommand({ TargetGroupArn: lb.targetGroupArn }), {
            abortSignal: signal,
          })
          .then((r) => r.TargetHealthDescriptions ?? []),
      ),
    ),
  ]);
  // Draining targets usually belong to stopping tasks: look those up only when a target has no running task.
  const runningIps = new Set(running.map(taskEniAddress));
  const unmatched = health.flat().some((d) => !runningIps.has(d.Target?.Id));
  const tasks = unmatched
    ? [
        ...running,
        ...(await listServiceTasks(ecs, { cluster, serviceName: name, desiredStatus: 'STOPPED', signal })),
      ]
    : running;
  return { running, tasks, health };
}

/** The service as verify reports it: each target group judged, or, without one, its tasks. */
function judgeService(
  name: string,
  service: Service,
  newTaskDefinition: string,
  bindings: Binding[],
  { running, tasks, health }: ServiceReading,
): VerifiedService {
  const desiredCount = service.desiredCount ?? 0;
  const targetGroups = bindings.map((lb, i) =>
    evaluateTargetGroup({
      targetGroupArn: lb.targetGroupArn,
      containerName: lb.containerName,
      containerPort: lb.containerPort,
      desiredCount,
      newTaskDefinitionArn: newTaskDefinition,
      descriptions: health[i]!,
      tasks,
    }),
  );
  const runningTasks = { new: 0, old: 0 };
  for (const t of running) {
    if (sameRevision(t.taskDefinitionArn ?? '', newTaskDefinition)) {
      if (t.lastStatus === 'RUNNING') runningTasks.new++;
    } else runningTasks.old++;
  }
  // Without a target group, the tasks themselves are the evidence.
  const ok =
    targetGroups.length > 0
      ? targetGroups.every((tg) => tg.ok)
      : runningTasks.new === desiredCount && runningTasks.old === 0;
  return { service: name, desiredCount, newTaskDefinition, runningTasks, ok, targetGroups };
}
