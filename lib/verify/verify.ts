/**
 * Proves a release is live behind the load balancer: the services' target
 * groups hold exactly the desired number of healthy targets, all running
 * tasks of the new revision, and HTTP checks through the load balancer pass
 * several times in a row. Polls until both hold or the time is up, and
 * returns a report that says what does not hold.
 */
import {
  DescribeTasksCommand,
  ListTasksCommand,
  type DesiredStatus,
  type ECSClient,
  type Service,
} from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { OperationError } from '../errors.js';
import type { Log } from '../log.js';
import { AdaptiveInterval, Heartbeat, formatDuration, sleep } from '../time.js';
import { chunks, describeServices } from '../ecs/services.js';
import { shortTaskDefinition } from '../ecs/taskdef.js';
import type { HttpCheck } from './checks.js';
import type { ExpectedRevision } from './deployments.js';
import { attemptCheck, newProgress, recordAttempt, type CheckProgress } from './http.js';
import {
  describeTargetGroup,
  evaluateTargetGroup,
  FailureHistory,
  sameRevision,
  targetGroupProblems,
  taskView,
  type TargetGroupReport,
  type TaskView,
} from './targets.js';

export interface VerifyOptions {
  cluster: string;
  services: string[];
  /** Per service, the revision deploy-services made; else the PRIMARY deployment's. */
  deployments?: Map<string, ExpectedRevision>;
  /** Where the HTTP checks go; found through the target groups when absent. */
  baseUrl?: string;
  checks: HttpCheck[];
  consecutiveSuccesses: number;
  timeoutMs: number;
  ecs: ECSClient;
  elbv2: () => Promise<ElasticLoadBalancingV2Client>;
  log: Log;
  signal?: AbortSignal;
  /** Poll interval bounds while waiting for targets (default 1–10 s). */
  pollMinMs?: number;
  pollMaxMs?: number;
  /** Gap between rounds of HTTP checks once the targets pass (default 1 s). */
  checkGapMs?: number;
  /** Per request (default 10 s, never beyond the deadline). */
  requestTimeoutMs?: number;
  heartbeatMs?: number;
}

export interface ServiceReport {
  service: string;
  desiredCount: number;
  /** The revision that must be live. */
  newTaskDefinition: string;
  previousTaskDefinition?: string;
  /** The task definition of the service's PRIMARY deployment, as ECS reports it. */
  primaryTaskDefinition?: string;
  /** Tasks whose desired status is RUNNING, by revision role. */
  runningTasks: { new: number; old: number };
  ok: boolean;
  targetGroups: TargetGroupReport[];
  /**
   * The service's ECS events since its PRIMARY deployment began that report a
   * problem (unhealthy targets, failed tasks), newest first, at most 5.
   */
  events?: { createdAt: string; message: string }[];
}

/** The `report` output. Its shape is public (see actions/verify/README.md). */
export interface VerifyReport {
  status: 'passed' | 'failed';
  cluster: string;
  baseUrl?: string;
  startedAt: string;
  durationMs: number;
  services: ServiceReport[];
  checks: CheckProgress[];
  /** Why it failed, one line per cause; empty when it passed. */
  problems: string[];
}

interface Observation {
  services: ServiceReport[];
  /** Problems that waiting cannot fix (the service runs another revision than the one deployed). */
  terminal: string[];
}

const LIST_TASKS_PAGE = 100;
const DESCRIBE_TASKS_CHUNK = 100;

export async function verifyRelease(options: VerifyOptions): Promise<VerifyReport> {
  const { log, signal } = options;
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const report: VerifyReport = {
    status: 'failed',
    cluster: options.cluster,
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    services: [],
    checks: [],
    problems: [],
  };

  const first = await observe(options);
  if (options.checks.length > 0) {
    report.baseUrl = options.baseUrl ?? (await discoverBaseUrl(first.services, options));
    log.info(`HTTP checks go to ${report.baseUrl}`);
    report.checks = options.checks.map((c) => newProgress(c, report.baseUrl!, options.consecutiveSuccesses));
  }

  const interval = new AdaptiveInterval(options.pollMinMs ?? 1000, options.pollMaxMs ?? 10_000);
  let lastLines = new Map<string, string>();
  const heartbeat = new Heartbeat(options.heartbeatMs ?? 30_000, (quiet) =>
    log.info(
      `… still waiting after ${formatDuration(Date.now() - started)} (no change for ${formatDuration(quiet)}): ${pendingSummary(report)}`,
    ),
  );

  const checkByLine = new Map(options.checks.map((c) => [c.line, c]));
  const failures = new FailureHistory();
  let observation: Observation | undefined = first;
  for (;;) {
    observation ??= await observe(options);
    report.services = observation.services;
    for (const tg of observation.services.flatMap((s) => s.targetGroups)) {
      failures.record(tg);
      failures.annotate(tg);
    }
    const lines = progressLines(observation.services);
    let changed = false;
    for (const [key, line] of lines) {
      if (lastLines.get(key) !== line) {
        log.info(`${key}: ${line}`);
        changed = true;
      }
    }
    lastLines = lines;

    if (observation.terminal.length > 0) {
      report.problems = [...observation.terminal, ...serviceProblems(observation.services)];
      break;
    }

    const targetsOk = observation.services.every((s) => s.ok);
    // Checks that keep passing run again after a short gap; a failing one backs off with the polls.
    let progressing = true;
    if (targetsOk) {
      const pending = report.checks.filter((c) => !c.ok);
      // Near the deadline a request still gets a fair chance to answer.
      const requestTimeout = Math.min(
        options.requestTimeoutMs ?? 10_000,
        Math.max(deadline - Date.now(), 2000),
      );
      const attempts = await Promise.all(
        pending.map((progress) =>
          attemptCheck(checkByLine.get(progress.check)!, report.baseUrl!, requestTimeout, signal),
        ),
      );
      pending.forEach((progress, i) => {
        const attempt = attempts[i]!;
        const before = progress.passes;
        const sameFailureAgain =
          progress.attempts > 0 && before === 0 && progress.lastProblem === attempt.problem;
        recordAttempt(progress, attempt);
        if (attempt.ok) {
          log.info(
            `${progress.check}: ${attempt.status} in ${attempt.latencyMs} ms (${progress.passes}/${progress.required})`,
          );
          changed = true;
        } else {
          progressing = false;
          // The same failure over and over is one line; the heartbeat says it is still waiting.
          if (!sameFailureAgain) {
            log.info(
              `${progress.check}: ${attempt.problem} (${attempt.latencyMs} ms)${before > 0 ? ', passes reset' : ''}`,
            );
            changed = true;
          }
        }
      });
      if (report.checks.every((c) => c.ok)) {
        report.status = 'passed';
        break;
      }
    } else {
      // Passes only count while the new revision alone serves.
      for (const progress of report.checks) {
        if (progress.passes > 0 || progress.ok) {
          progress.passes = 0;
          progress.ok = false;
          log.info(`${progress.check}: passes reset, the targets no longer pass`);
        }
      }
    }

    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      report.problems = [
        `not verified within ${formatDuration(options.timeoutMs)}`,
        ...serviceProblems(observation.services),
        ...checkProblems(report.checks, targetsOk),
      ];
      break;
    }
    if (changed) heartbeat.changed();
    else heartbeat.tick();
    const wait = targetsOk && progressing ? (options.checkGapMs ?? 1000) : interval.next(changed);
    await sleep(Math.min(wait, remaining), signal);
    observation = undefined;
  }

  report.durationMs = Date.now() - started;
  return report;
}

async function observe(options: VerifyOptions): Promise<Observation> {
  const { ecs, cluster, signal } = options;
  const { services, missing } = await describeServices(ecs, cluster, options.services, signal);
  if (missing.length > 0) {
    throw new OperationError(
      `${missing.map((m) => `service "${m.name}" (${m.reason})`).join(', ')} not found in cluster "${cluster}"`,
      ['Check the `services` and `cluster` inputs: the names must be ACTIVE services of that cluster.'],
    );
  }
  const elbv2 = [...services.values()].some((s) => (s.loadBalancers ?? []).some((lb) => lb.targetGroupArn))
    ? await options.elbv2()
    : undefined;
  const terminal: string[] = [];
  const reports = await Promise.all(
    options.services.map(async (name) => {
      const service = services.get(name)!;
      const expected = options.deployments?.get(name);
      const primary = service.deployments?.find((d) => d.status === 'PRIMARY');
      const newTaskDefinition =
        expected?.newTaskDefinitionArn ?? primary?.taskDefinition ?? service.taskDefinition ?? '';
      if (expected && primary?.taskDefinition && !sameRevision(primary.taskDefinition, newTaskDefinition)) {
        terminal.push(
          `${name}: the service's PRIMARY deployment runs ${shortTaskDefinition(primary.taskDefinition)}, not ${shortTaskDefinition(newTaskDefinition)} that \`deployments\` names as new: the update never happened, was rolled back, or was replaced by another deployment`,
        );
      } else if (primary?.rolloutState === 'FAILED') {
        terminal.push(
          `${name}: the PRIMARY deployment of ${shortTaskDefinition(primary.taskDefinition)} FAILED: ${primary.rolloutStateReason ?? 'no reason given'}`,
        );
      }
      const report = await observeService(name, service, newTaskDefinition, options, elbv2);
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

const PROBLEM_EVENT = /unhealthy|fail|unable|error/i;
const MAX_EVENTS = 5;

/** ECS's own account of what went wrong: it outlives the targets and tasks it names. */
function problemEvents(service: Service, since: Date | undefined): { createdAt: string; message: string }[] {
  return (service.events ?? [])
    .filter(
      (e) => e.message && PROBLEM_EVENT.test(e.message) && (!since || !e.createdAt || e.createdAt >= since),
    )
    .slice(0, MAX_EVENTS)
    .map((e) => ({ createdAt: e.createdAt?.toISOString() ?? '', message: e.message! }));
}

async function observeService(
  name: string,
  service: Service,
  newTaskDefinition: string,
  options: VerifyOptions,
  elbv2: ElasticLoadBalancingV2Client | undefined,
): Promise<ServiceReport> {
  const desiredCount = service.desiredCount ?? 0;
  const bindings = (service.loadBalancers ?? []).filter((lb) => lb.targetGroupArn);
  const [running, health] = await Promise.all([
    listServiceTasks(options, name, 'RUNNING'),
    Promise.all(
      bindings.map((lb) =>
        elbv2!
          .send(new DescribeTargetHealthCommand({ TargetGroupArn: lb.targetGroupArn }), {
            abortSignal: options.signal,
          })
          .then((r) => r.TargetHealthDescriptions ?? []),
      ),
    ),
  ]);
  // Draining targets usually belong to stopping tasks: look those up only when a target has no running task.
  const runningIps = new Set(running.map((t) => t.privateIp));
  const unmatched = health.flat().some((d) => !runningIps.has(d.Target?.Id));
  const tasks = unmatched ? [...running, ...(await listServiceTasks(options, name, 'STOPPED'))] : running;

  const targetGroups = bindings.map((lb, i) =>
    evaluateTargetGroup({
      targetGroupArn: lb.targetGroupArn!,
      containerName: lb.containerName ?? '',
      containerPort: lb.containerPort ?? 0,
      desiredCount,
      newTaskDefinitionArn: newTaskDefinition,
      descriptions: health[i]!,
      tasks,
    }),
  );
  const runningTasks = { new: 0, old: 0 };
  for (const t of running) {
    if (sameRevision(t.taskDefinitionArn, newTaskDefinition)) {
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

async function listServiceTasks(
  options: VerifyOptions,
  serviceName: string,
  desiredStatus: DesiredStatus,
): Promise<TaskView[]> {
  const { ecs, cluster, signal } = options;
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(
      new ListTasksCommand({ cluster, serviceName, desiredStatus, maxResults: LIST_TASKS_PAGE, nextToken }),
      { abortSignal: signal },
    );
    arns.push(...(page.taskArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  const described = await Promise.all(
    chunks(arns, DESCRIBE_TASKS_CHUNK).map((chunk) =>
      ecs.send(new DescribeTasksCommand({ cluster, tasks: chunk }), { abortSignal: signal }),
    ),
  );
  return described.flatMap((r) => r.tasks ?? []).map(taskView);
}

/**
 * The load balancer in front of the services' target groups: DescribeTargetGroups
 * → LoadBalancerArns → DescribeLoadBalancers → DNSName, and the scheme of its listener.
 */
export async function discoverBaseUrl(
  services: ServiceReport[],
  options: Pick<VerifyOptions, 'elbv2' | 'signal'>,
): Promise<string> {
  const targetGroupArns = [
    ...new Set(services.flatMap((s) => s.targetGroups.map((tg) => tg.targetGroupArn))),
  ];
  const fix = 'set `base-url` to the address the checks should use';
  if (targetGroupArns.length === 0) {
    throw new OperationError(
      'No load balancer to send the HTTP checks to: the services have no target groups',
      [fix],
    );
  }
  const elbv2 = await options.elbv2();
  const groups = await Promise.all(
    chunks(targetGroupArns, 20).map((chunk) =>
      elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: chunk }), {
        abortSignal: options.signal,
      }),
    ),
  );
  const lbArns = [
    ...new Set(groups.flatMap((g) => g.TargetGroups ?? []).flatMap((tg) => tg.LoadBalancerArns ?? [])),
  ];
  if (lbArns.length === 0) {
    throw new OperationError(
      'No load balancer to send the HTTP checks to: the target groups are attached to none',
      [fix],
    );
  }
  const { LoadBalancers: lbs = [] } = await elbv2.send(
    new DescribeLoadBalancersCommand({ LoadBalancerArns: lbArns }),
    {
      abortSignal: options.signal,
    },
  );
  if (lbs.length !== 1) {
    throw new OperationError(
      `The services sit behind ${lbs.length} load balancers (${lbs.map((lb) => lb.LoadBalancerName).join(', ')}): which one the checks use is ambiguous`,
      [fix],
    );
  }
  const lb = lbs[0]!;
  const { Listeners: listeners = [] } = await elbv2.send(
    new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }),
    { abortSignal: options.signal },
  );
  const listener =
    listeners.find((l) => l.Protocol === 'HTTP') ?? listeners.find((l) => l.Protocol === 'HTTPS');
  const scheme = listener?.Protocol === 'HTTPS' ? 'https' : 'http';
  const defaultPort = scheme === 'https' ? 443 : 80;
  const host = lb.DNSName ?? '';
  const port =
    listener?.Port && listener.Port !== defaultPort && !host.includes(':') ? `:${listener.Port}` : '';
  return `${scheme}://${host}${port}`;
}

function progressLines(services: ServiceReport[]): Map<string, string> {
  const lines = new Map<string, string>();
  for (const s of services) {
    const revision = shortTaskDefinition(s.newTaskDefinition);
    if (s.targetGroups.length === 0) {
      lines.set(
        `${s.service} (${revision})`,
        `${s.runningTasks.new}/${s.desiredCount} tasks running on the new revision, ${s.runningTasks.old} on others (no target group)`,
      );
    }
    for (const tg of s.targetGroups) {
      lines.set(`${s.service} → ${tg.targetGroupName} (${revision})`, describeTargetGroup(tg));
    }
  }
  return lines;
}

function serviceProblems(services: ServiceReport[]): string[] {
  return services.flatMap((s) => {
    if (s.ok) return [];
    const problems =
      s.targetGroups.length === 0
        ? [
            `${s.service}: ${s.runningTasks.new} of ${s.desiredCount} tasks run the new revision ${shortTaskDefinition(s.newTaskDefinition)}, ${s.runningTasks.old} run another`,
          ]
        : s.targetGroups.flatMap((tg) => targetGroupProblems(s.service, tg));
    return [
      ...problems,
      ...(s.events ?? []).map((e) => `${s.service}: ECS event ${e.createdAt}: ${e.message}`),
    ];
  });
}

function checkProblems(checks: CheckProgress[], targetsOk: boolean): string[] {
  return checks
    .filter((c) => !c.ok)
    .map((c) => {
      if (c.attempts === 0) return `HTTP ${c.check}: not run, the targets never passed`;
      const last =
        c.passes > 0 ? `last ${c.status} passed (${c.passes}/${c.required} in a row)` : c.lastProblem;
      return `HTTP ${c.check} (${c.url}): ${last}${targetsOk ? '' : '; the targets stopped passing'}`;
    });
}

function pendingSummary(report: VerifyReport): string {
  const pending = report.services.flatMap((s) =>
    s.targetGroups.length === 0
      ? s.ok
        ? []
        : [`${s.service} ${s.runningTasks.new}/${s.desiredCount} tasks`]
      : s.targetGroups
          .filter((tg) => !tg.ok)
          .map((tg) => `${tg.targetGroupName} ${tg.healthy}/${tg.desired}`),
  );
  const checks = report.checks.filter((c) => !c.ok).map((c) => `${c.check} ${c.passes}/${c.required}`);
  return [...pending, ...checks].join(', ') || 'nothing';
}
