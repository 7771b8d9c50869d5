/**
 * Shared pieces of the fault matrix and the bad-input suite: a verdict that
 * records what a scenario expected and what the simulator (not the action)
 * shows happened, and readers of the simulator's ground truth.
 *
 * When RELIABILITY_RESULTS names a file, every verdict is appended to it as one
 * JSON line {action, scenario, expected, observed, pass}; bench/reliability-report.ts
 * turns those lines into bench/results/reliability.md.
 */
import { join, resolve } from 'node:path';
import { ECSClient, UpdateServiceCommand, DeleteServiceCommand } from '@aws-sdk/client-ecs';
import { loadScenario, type Sim, type Scenario } from '../../sim/index.js';
import { clientConfig, startTestSim } from '../sim/helpers.js';
import { runAction, type ActionRun, type RunOptions } from '../e2e/run-action.js';
import { recordRow, type ReliabilityRow } from '../../runner/reliability-results.js';
import { OFFLINE_AWS_ENV } from '../../runner/action-host.js';

export const root = resolve(import.meta.dirname, '..', '..');
export const STAGING = join(root, 'sim', 'scenarios', 'staging.json');
export const CLUSTER = 'alva-staging-cluster';
export const SERVICES = ['alva-web', 'alva-api', 'alva-auth', 'alva-admin'];
/** The secret key an action run gets where the simulator models no IAM (runner/action-host.ts): it must never show in a log. */
export const AWS_SECRET = OFFLINE_AWS_ENV.AWS_SECRET_ACCESS_KEY;

/** The AWS secrets `run` was given (the static key, or its role session's secret and token): none may show in a log. */
export function awsSecrets(run: ActionRun): string[] {
  return run.session ? [run.session.secretAccessKey, run.session.sessionToken] : [AWS_SECRET];
}
export const REGISTRY = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
/** Simulated time runs this many times faster than real time in the matrix. */
export const SPEED = 40;

/**
 * Simulated ms that last `seconds` of the action's own time. The bundles wait
 * and time out in real time while the simulator runs SPEED times faster, so an
 * outage "of 20 s" as the action lives it is `forMs: actionSeconds(20)`.
 */
export function actionSeconds(seconds: number, speed = SPEED): number {
  return seconds * 1000 * speed;
}

/**
 * What one scenario expected, and each fact observed about it. `finish()`
 * records the row and throws (failing the test) with every unmet expectation.
 */
export class Verdict {
  private readonly facts: string[] = [];
  private readonly unmet: string[] = [];
  private failureClass?: string;

  constructor(
    readonly action: string,
    readonly scenario: string,
    readonly expected: string,
    readonly suite: ReliabilityRow['suite'] = 'fault',
  ) {}

  /** The class of partial failure (kills and reruns, outages, ...) the report groups the scenario under. */
  inClass(failureClass: string): this {
    this.failureClass = failureClass;
    return this;
  }

  /** One expectation: `observed` describes what was seen, whether or not it holds. */
  check(holds: boolean, observed: string): this {
    this.facts.push(holds ? observed : `NOT OK: ${observed}`);
    if (!holds) this.unmet.push(observed);
    return this;
  }

  finish(run?: ActionRun): void {
    const pass = this.unmet.length === 0;
    recordRow({
      suite: this.suite,
      action: this.action,
      ...(this.failureClass ? { failureClass: this.failureClass } : {}),
      scenario: this.scenario,
      expected: this.expected,
      observed: this.facts.join('; '),
      pass,
    });
    if (!pass) {
      const tail = run
        ? `\n--- action log (last 60 lines) ---\n${run.log.split('\n').slice(-60).join('\n')}`
        : '';
      throw new Error(
        `${this.action}: ${this.scenario}: expected ${this.expected}\nunmet:\n  ${this.unmet.join('\n  ')}${tail}`,
      );
    }
  }
}

// ---------------------------------------------------------------- simulator

export function staging(change?: (s: Scenario) => void): Scenario {
  const scenario = loadScenario(STAGING);
  change?.(scenario);
  return scenario;
}

/** The staging world (IAM enforced; actions run as their pipeline role, run-action.ts) with the test's operator role. */
export function startStaging(change?: (s: Scenario) => void, speed = SPEED): Promise<Sim> {
  return startTestSim({ scenario: staging(change), speed, port: 0 });
}

/** The environment that points a bundle at the simulator. */
export function simEnv(sim: Sim): Record<string, string> {
  return { AWS_ENDPOINT_URL: sim.url };
}

interface StateService {
  name: string;
  status: string;
  taskDefinition: string;
  desiredCount: number;
  deployments: { id: string; status: string; taskDefinition: string; rolloutState?: string }[];
}
interface StateTask {
  arn: string;
  service?: string;
  taskDefinition: string;
  lastStatus: string;
  desiredStatus: string;
  stoppedReason?: string;
  stopCode?: string;
  containers: { name: string; image: string; exitCode?: number }[];
}
interface SimState {
  clusters: { name: string; services: StateService[]; tasks: StateTask[] }[];
  taskDefinitions: { arn: string; status: string }[];
}

export function simState(sim: Sim): SimState {
  return sim.state() as unknown as SimState;
}

export function cluster(sim: Sim): SimState['clusters'][number] {
  const found = simState(sim).clusters.find((c) => c.name === CLUSTER);
  if (!found) throw new Error(`simulator has no cluster ${CLUSTER}`);
  return found;
}

/** "family:revision" of an ARN. */
export function shortTd(arn: string): string {
  return arn.replace(/^.*task-definition\//, '');
}

/** Per service: the task definition of its PRIMARY deployment (what it runs or is moving to). */
export function primaryRevisions(sim: Sim, services = SERVICES): Record<string, string> {
  const c = cluster(sim);
  return Object.fromEntries(
    services.map((name) => {
      const s = c.services.find((x) => x.name === name);
      if (!s) return [name, 'MISSING'];
      if (s.status !== 'ACTIVE') return [name, s.status];
      const primary = s.deployments.find((d) => d.status === 'PRIMARY');
      return [name, primary ? shortTd(primary.taskDefinition) : 'NO PRIMARY'];
    }),
  );
}

/** Per service: the task definitions of its RUNNING tasks (what actually serves). */
export function runningRevisions(sim: Sim, services = SERVICES): Record<string, string[]> {
  const c = cluster(sim);
  return Object.fromEntries(
    services.map((name) => [
      name,
      [
        ...new Set(
          c.tasks
            .filter((t) => t.service === name && t.lastStatus === 'RUNNING' && t.desiredStatus === 'RUNNING')
            .map((t) => shortTd(t.taskDefinition)),
        ),
      ].sort(),
    ]),
  );
}

export function describeRevisions(revisions: Record<string, string>): string {
  return Object.entries(revisions)
    .map(([s, r]) => `${s.replace(/^alva-/, '')}=${r.replace(/^alva-/, '')}`)
    .join(' ');
}

/**
 * "All on the new or all on the previous revision": every service's PRIMARY
 * deployment is its `before` revision, or every one is a new revision.
 */
export function consistentOutcome(
  sim: Sim,
  before: Record<string, string>,
  want: 'previous' | 'new' | 'either',
  services = Object.keys(before),
): { holds: boolean; observed: string; outcome: 'previous' | 'new' | 'mixed' } {
  const now = primaryRevisions(sim, services);
  const onPrevious = services.filter((s) => now[s] === before[s]);
  const onNew = services.filter(
    (s) => now[s] !== before[s] && /:\d+$/.test(now[s]!) && now[s]!.startsWith(before[s]!.split(':')[0]!),
  );
  const outcome =
    onPrevious.length === services.length ? 'previous' : onNew.length === services.length ? 'new' : 'mixed';
  const holds = outcome !== 'mixed' && (want === 'either' || outcome === want);
  return {
    holds,
    outcome,
    observed: `services ${outcome === 'mixed' ? 'MIXED' : `all on ${outcome}`} (${describeRevisions(now)})`,
  };
}

export function mutatingCalls(sim: Sim, since = 0): string[] {
  return sim
    .calls(since)
    .filter((c) => c.mutating && c.status === 200)
    .map((c) => `${c.operation}`);
}

export function lastCallSeq(sim: Sim): number {
  return sim.calls().at(-1)?.seq ?? 0;
}

/** Successful calls of one operation. */
export function callsOf(sim: Sim, operation: string, since = 0) {
  return sim.calls(since).filter((c) => c.operation === operation);
}

export function faultsHit(sim: Sim): number {
  return sim.calls().filter((c) => c.fault).length;
}

/** One-off tasks (no service) left running: not STOPPED and nobody asked them to stop. */
export function oneOffTasksAlive(sim: Sim): StateTask[] {
  return cluster(sim).tasks.filter(
    (t) => !t.service && t.lastStatus !== 'STOPPED' && t.desiredStatus !== 'STOPPED',
  );
}

/** Every one-off task the cluster has seen, stopped or not: what "exactly one started" is judged by. */
export function oneOffTasksStarted(sim: Sim): StateTask[] {
  return cluster(sim).tasks.filter((t) => !t.service);
}

export function secretsIn(log: string, secrets: string[] = [AWS_SECRET]): string[] {
  return secrets.filter((s) => s && log.includes(s));
}

export function exitDescribe(run: ActionRun): string {
  return run.signal ? `killed by ${run.signal}` : `exit ${run.exitCode}`;
}

/**
 * The ::error text of a run, shortened: the step's failure message (core.setFailed,
 * the last ::error line) first, then any other ::error lines (details).
 */
export function errorText(run: ActionRun, max = 140): string {
  const lines = run.log
    .split('\n')
    .filter((l) => l.startsWith('::error'))
    .map((l) => l.replace(/^::error[^:]*::/, '').replace(/%0A/g, ' '));
  const last = run.log.trim().split('\n').pop() ?? '';
  const text = lines.length
    ? [...lines.slice(-1), ...lines.slice(0, -1)].join(' | ')
    : `(no ::error line; last output: ${last})`;
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Waits (real time) until `predicate` holds, polling. */
export async function until(predicate: () => boolean, timeoutMs = 60_000, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (predicate()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return predicate();
}

/** An SDK client of "someone else" working on the same account: the test's operator (test/sim/helpers.ts). */
export function otherOperator(sim: Sim): ECSClient {
  return new ECSClient({ ...clientConfig(sim), maxAttempts: 3 });
}

export { UpdateServiceCommand, DeleteServiceCommand };

/** Image URIs for the four staging containers, with a tag. */
export function images(tag: string, overrides: Record<string, string> = {}): string {
  const map: Record<string, string> = {};
  for (const c of ['web', 'api', 'auth', 'admin']) map[c] = `${REGISTRY}/alva-${c}:${overrides[c] ?? tag}`;
  return JSON.stringify(map);
}

/** GitHub's cancellation of a step: SIGINT, then SIGTERM at 7.5 s, SIGKILL at 10 s (runner/action-host.ts). */
export const CANCEL_GRACE_MS = 10_000;

/** A run cancelled as GitHub cancels a step (see RunOptions.cancelWhen). */
export type CancelledRun = ActionRun;

/** Runs a committed bundle as runAction does, cancelled GitHub's way once its log matches `when`. */
export function runActionCancelled(
  name: string,
  options: Pick<RunOptions, 'inputs' | 'env' | 'timeoutMs'> & { when: RegExp; onCancel?: () => void },
): Promise<CancelledRun> {
  const { when, onCancel, ...rest } = options;
  return runAction(name, { ...rest, cancelWhen: { when, ...(onCancel ? { onCancel } : {}) } });
}

/** The `deployments` output as JSON, or undefined when it is missing or not JSON. */
export function deploymentsOutput(
  run: ActionRun,
): Record<string, { status?: string; taskDefinition?: string; previousTaskDefinition?: string }> | undefined {
  try {
    const parsed: unknown = JSON.parse(run.outputs.deployments ?? '');
    return parsed && typeof parsed === 'object' ? (parsed as never) : undefined;
  } catch {
    return undefined;
  }
}

/** Per service: is a task of `revision` ("family:n") RUNNING and healthy in its target group? */
export function healthyOn(sim: Sim, revisions: Record<string, string>): Record<string, boolean> {
  const state = sim.state() as unknown as {
    targetGroups: { targets: { state: string; taskArn?: string; taskDefinitionArn?: string }[] }[];
  };
  const tasks = cluster(sim).tasks;
  return Object.fromEntries(
    Object.entries(revisions).map(([service, revision]) => {
      const running = tasks.filter(
        (t) =>
          t.service === service &&
          shortTd(t.taskDefinition) === revision &&
          t.lastStatus === 'RUNNING' &&
          t.desiredStatus === 'RUNNING',
      );
      const healthy = running.some((t) =>
        state.targetGroups.some((tg) => tg.targets.some((x) => x.taskArn === t.arn && x.state === 'healthy')),
      );
      return [service, healthy];
    }),
  );
}
