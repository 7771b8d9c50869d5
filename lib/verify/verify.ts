/**
 * Proves a release is live behind the load balancer: the services' target
 * groups hold exactly the desired number of healthy targets, all running
 * tasks of the new revision, and HTTP checks through the load balancer pass
 * several times in a row. Polls until both hold or the time is up, and
 * returns a report that says what does not hold.
 *
 * The recipe, once per poll: observe the services and judge their targets
 * (./observe.ts, lib/ecs/target-health.ts) → run the HTTP checks once the
 * targets pass → decide. What it says meanwhile is ./progress.ts's.
 */
import { outageBackoffMs } from '../aws/retry.js';
import type { VerifiedService, VerifyReport } from '../contracts/verify-report.js';
import { InputError, OperationError, errorMessage } from '../errors.js';
import type { Log } from '../log.js';
import { AdaptiveInterval, formatDuration, systemClock, type Clock } from '../time.js';
import { shortTaskDefinition } from '../ecs/taskdef.js';
import { discoverBaseUrl } from './base-url.js';
import type { HttpCheck } from './checks.js';
import { greensServing, testListenerBaseUrl } from './green.js';
import { attemptCheck, newProgress, recordAttempt, withoutCredentials, type CheckProgress } from './http.js';
import { TaskWatch } from './late-crash.js';
import { observe, type Observation, type ObserveOptions } from './observe.js';
import { VerifyProgress, type CheckResult } from './progress.js';
import { FailureHistory, targetGroupProblems } from './targets.js';

export interface VerifyOptions extends ObserveOptions {
  /** Where the HTTP checks go; found through the target groups when absent. */
  baseUrl?: string;
  checks: HttpCheck[];
  consecutiveSuccesses: number;
  timeoutMs: number;
  log: Log;
  /** Poll interval bounds while waiting for targets (default 1–10 s). */
  pollMinMs?: number;
  pollMaxMs?: number;
  /** Gap between rounds of HTTP checks once the targets pass (default 1 s). */
  checkGapMs?: number;
  /** Per request (default 10 s, never beyond the deadline). */
  requestTimeoutMs?: number;
  heartbeatMs?: number;
  /** The poll loop's time (default the system's); unit tests pass a manual one. */
  clock?: Clock;
}

/** How verification ended. */
type Decision = Pick<VerifyReport, 'status' | 'problems'>;

/** What one poll found, for the decision and the wait after it. */
interface Round {
  targetsOk: boolean;
  /** No HTTP check failed this round. */
  checksPassing: boolean;
  /** Something worth a log line changed. */
  changed: boolean;
}

export async function verifyRelease(verifyOptions: VerifyOptions): Promise<VerifyReport> {
  // Every poll of this run follows the same tasks: a late crash is told from a replacement.
  // Each service's green revision (`traffic: test`) is found once: every poll checks the same one.
  const options = {
    ...verifyOptions,
    watch: verifyOptions.watch ?? new TaskWatch(),
    greens: verifyOptions.greens ?? new Map(),
  };
  const clock = options.clock ?? systemClock;
  const started = clock.now();
  const report = emptyReport(options.cluster, started);
  report.traffic = options.traffic ?? 'production';
  const outage: Outage = { since: undefined, failures: 0, error: '' };
  const first = await observeThroughOutage(options, clock, started + options.timeoutMs, outage);
  if (first) await prepareChecks(report, first, options);
  const { status, problems } = first
    ? await pollUntilDecided(report, first, options, clock, started, outage)
    : outageDecision(report, outage, options.timeoutMs, clock);
  report.status = status;
  report.problems = problems;
  report.durationMs = clock.now() - started;
  return report;
}

function emptyReport(cluster: string, startedMs: number): VerifyReport {
  return {
    status: 'failed',
    cluster,
    startedAt: new Date(startedMs).toISOString(),
    durationMs: 0,
    services: [],
    checks: [],
    problems: [],
  };
}

/** How long the last look may take once verification was stopped: within GitHub's grace after SIGINT. */
const STANDING_READ_MS = 5000;

/**
 * The report when verification stopped before a verdict (cancelled, AWS
 * unreadable, an unexpected error): the cause, then where each service stands,
 * read from AWS once more (with a short deadline of its own, since the run's
 * signal may be aborted); if AWS cannot be read, the report says so.
 */
export async function interruptedReport(
  options: ObserveOptions,
  cause: string,
  startedMs: number,
  clock: Clock = systemClock,
): Promise<VerifyReport> {
  const report = emptyReport(options.cluster, startedMs);
  report.problems.push(cause);
  try {
    const standing = await observe({
      ...options,
      watch: undefined,
      signal: AbortSignal.timeout(STANDING_READ_MS),
    });
    report.services = standing.services;
    report.problems.push(...standing.terminal, ...serviceProblems(standing.services));
  } catch (err) {
    report.problems.push(`could not read where the services stand from AWS at the end: ${errorMessage(err)}`);
  }
  report.durationMs = clock.now() - startedMs;
  return report;
}

/** Where the checks go (given, or the services' load balancer), and their empty streaks. */
async function prepareChecks(
  report: VerifyReport,
  first: Observation,
  options: VerifyOptions,
): Promise<void> {
  if (options.checks.length === 0) return;
  let baseUrl = options.baseUrl;
  if (options.traffic === 'test') {
    // A service without a green revision on test traffic fails on its own (terminal): no listener to find.
    const reports = first.services.map((s) => s.testTraffic);
    if (reports.some((r) => r === undefined)) return;
    const listener = await testListenerBaseUrl(
      reports.map((r) => r!.testListenerArn),
      await options.elbv2(),
      options.signal,
    );
    report.testListener = { listenerArn: listener.listenerArn, port: listener.port };
    options.log.info(`Test traffic: the test listener ${listener.listenerArn} (port ${listener.port})`);
    baseUrl ??= listener.baseUrl;
  }
  baseUrl ??= await discoverBaseUrl(first.services, options);
  // Credentials in the URL are sent (attemptCheck), never shown.
  report.baseUrl = withoutCredentials(baseUrl);
  options.log.info(`HTTP checks go to ${report.baseUrl}`);
  report.checks = options.checks.map((c) => newProgress(c, baseUrl, options.consecutiveSuccesses));
}

/** Polls until decided: one round, the decision, then a wait (short while checks keep passing). */
async function pollUntilDecided(
  report: VerifyReport,
  first: Observation,
  options: VerifyOptions,
  clock: Clock,
  started: number,
  outage: Outage,
): Promise<Decision> {
  const deadline = started + options.timeoutMs;
  const interval = new AdaptiveInterval(options.pollMinMs ?? 1000, options.pollMaxMs ?? 10_000);
  const progress = new VerifyProgress(options.log, clock, started, report, options.heartbeatMs ?? 30_000);
  const failures = new FailureHistory();
  let observation: Observation | undefined = first;
  for (;;) {
    observation ??= await observeThroughOutage(options, clock, deadline, outage);
    if (!observation) return outageDecision(report, outage, options.timeoutMs, clock);
    const round = await runRound(report, observation, failures, progress, options, deadline, clock);
    const remaining = deadline - clock.now();
    const decision = decide(report, observation, round.targetsOk, remaining <= 0, options.timeoutMs);
    if (decision) return decision;
    progress.waiting(round.changed);
    // Checks that keep passing run again after a short gap; a failing one backs off with the polls.
    const wait =
      round.targetsOk && round.checksPassing ? (options.checkGapMs ?? 1000) : interval.next(round.changed);
    await clock.sleep(Math.min(wait, remaining), options.signal);
    observation = undefined;
  }
}

/** A read outage: since when AWS could not be read, how many reads in a row failed, the last error. */
interface Outage {
  since: number | undefined;
  failures: number;
  error: string;
}

/**
 * observe(), riding out an outage as deploy-services' follow loop does: a
 * failed read is tried again, backing off, until the deadline (undefined
 * then). A service or cluster that does not exist (OperationError,
 * ClusterNotFoundException: a wrong `cluster`, not an outage) or a
 * cancellation ends it at once.
 */
async function observeThroughOutage(
  options: VerifyOptions,
  clock: Clock,
  deadline: number,
  outage: Outage,
): Promise<Observation | undefined> {
  for (;;) {
    try {
      const observation = await observe(options);
      if (outage.since !== undefined) {
        options.log.info(`AWS can be read again, after ${formatDuration(clock.now() - outage.since)}`);
        outage.since = undefined;
        outage.failures = 0;
      }
      return observation;
    } catch (err) {
      if (
        err instanceof OperationError ||
        err instanceof InputError ||
        isClusterNotFound(err) ||
        options.signal?.aborted
      )
        throw err;
      outage.failures += 1;
      outage.since ??= clock.now();
      outage.error = errorMessage(err);
      if (outage.failures === 1) {
        options.log.warning(`Could not read AWS (${outage.error}); trying again until the deadline`);
      }
      const remaining = deadline - clock.now();
      if (remaining <= 0) return undefined;
      await clock.sleep(Math.min(outageBackoffMs(outage.failures), remaining), options.signal);
    }
  }
}

/** Failed at the deadline with AWS unreadable: for how long and why, then the services as last seen. */
function outageDecision(report: VerifyReport, outage: Outage, timeoutMs: number, clock: Clock): Decision {
  const unreadable = formatDuration(clock.now() - (outage.since ?? clock.now()));
  return {
    status: 'failed',
    problems: [
      `not verified within ${formatDuration(timeoutMs)}: AWS could not be read for the last ${unreadable} (${outage.error})`,
      ...serviceProblems(report.services),
    ],
  };
}

/** Takes in one observation: the report's services, the progress lines, then the checks or their reset. */
async function runRound(
  report: VerifyReport,
  observation: Observation,
  failures: FailureHistory,
  progress: VerifyProgress,
  options: VerifyOptions,
  deadline: number,
  clock: Clock,
): Promise<Round> {
  report.services = observation.services;
  for (const tg of observation.services.flatMap((s) => s.targetGroups)) {
    failures.record(tg);
    failures.annotate(tg);
  }
  const changed = progress.observed(observation.services);
  const targetsOk = observation.services.every((s) => s.ok);
  if (observation.terminal.length > 0) return { targetsOk, checksPassing: true, changed };
  if (!targetsOk) {
    // Passes only count while the new revision alone serves.
    for (const check of report.checks) {
      if (check.passes > 0 || check.ok) {
        check.passes = 0;
        check.ok = false;
        progress.passesReset(check);
      }
    }
    return { targetsOk, checksPassing: true, changed };
  }
  const results = await runChecks(report, options, deadline, clock);
  const logged = progress.checked(results);
  return { targetsOk, checksPassing: results.every((r) => r.attempt.ok), changed: logged || changed };
}

/** One attempt of every check that has not passed yet, in parallel, recorded in its progress. */
async function runChecks(
  report: VerifyReport,
  options: VerifyOptions,
  deadline: number,
  clock: Clock,
): Promise<CheckResult[]> {
  const checkByLine = new Map(options.checks.map((c) => [c.line, c]));
  const pending = report.checks.filter((c) => !c.ok);
  // Near the deadline a request still gets a fair chance to answer.
  const requestTimeout = Math.min(options.requestTimeoutMs ?? 10_000, Math.max(deadline - clock.now(), 2000));
  const attempts = await Promise.all(
    pending.map((p) =>
      attemptCheck(
        checkByLine.get(p.check)!,
        options.baseUrl ?? report.baseUrl!,
        requestTimeout,
        options.signal,
      ),
    ),
  );
  return pending.map((progress, i) => {
    const attempt = attempts[i]!;
    const passesBefore = progress.passes;
    const sameFailureAgain =
      progress.attempts > 0 && passesBefore === 0 && progress.lastProblem === attempt.problem;
    recordAttempt(progress, attempt);
    return { progress, attempt, passesBefore, sameFailureAgain };
  });
}

/** Failed for good (terminal), passed (targets and every check), failed at the deadline, or not yet. */
function decide(
  report: VerifyReport,
  observation: Observation,
  targetsOk: boolean,
  timedOut: boolean,
  timeoutMs: number,
): Decision | undefined {
  if (observation.terminal.length > 0) {
    return {
      status: 'failed',
      problems: [...observation.terminal, ...serviceProblems(observation.services)],
    };
  }
  if (targetsOk && report.checks.every((c) => c.ok)) return { status: 'passed', problems: [] };
  if (!timedOut) return undefined;
  return {
    status: 'failed',
    problems: [
      `not verified within ${formatDuration(timeoutMs)}`,
      ...serviceProblems(observation.services),
      ...checkProblems(report.checks, targetsOk, observation.services),
    ],
  };
}

/** Why each service does not pass, one line per cause. */
export function serviceProblems(services: VerifiedService[]): string[] {
  return services.flatMap((s) => {
    if (s.ok) return [];
    const problems =
      s.targetGroups.length === 0
        ? [
            `${s.service}: ${s.runningTasks.new} of ${s.desiredCount} tasks run the new revision ${shortTaskDefinition(s.newTaskDefinition)}, ${s.runningTasks.old} run another`,
          ]
        : s.targetGroups.flatMap((tg) => targetGroupProblems(s.service, tg));
    const test = s.testTraffic;
    if (test && test.testWeightPercent < 100) {
      problems.push(
        `${s.service}: the test listener rule sends ${test.testWeightPercent}% of test traffic to green ${shortTaskDefinition(test.taskDefinition)} (deployment ${test.deploymentStatus ?? 'status unknown'}, stage ${test.lifecycleStage ?? 'unknown'}): test traffic moves to green at TEST_TRAFFIC_SHIFT`,
      );
    }
    return [
      ...problems,
      ...(s.events ?? []).map((e) => `${s.service}: ECS event ${e.createdAt}: ${e.message}`),
    ];
  });
}

function checkProblems(checks: CheckProgress[], targetsOk: boolean, services: VerifiedService[]): string[] {
  return checks
    .filter((c) => !c.ok)
    .map((c) => {
      if (c.attempts === 0) return `HTTP ${c.check}: not run, the targets never passed`;
      const last =
        c.passes > 0 ? `last ${c.status} passed (${c.passes}/${c.required} in a row)` : c.lastProblem;
      // On test traffic, the listener rules say whose green answered: name the service, not only the path.
      const greens = greensServing(c.url, services);
      const served = greens.length > 0 ? `, served by ${greens.join(', ')}` : '';
      return `HTTP ${c.check} (${c.url}${served}): ${last}${targetsOk ? '' : '; the targets stopped passing'}`;
    });
}

const isClusterNotFound = (err: unknown) => err instanceof Error && err.name === 'ClusterNotFoundException';
