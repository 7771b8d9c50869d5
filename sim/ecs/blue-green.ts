/**
 * ECS-native blue/green, linear and canary deployments
 * (deploymentConfiguration.strategy BLUE_GREEN | LINEAR | CANARY), as the
 * developer guide describes them:
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-blue-green.html
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-deployment-how-it-works.html
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-lifecycle-hooks.html
 *
 * A new deployment of such a service runs the lifecycle stages in order:
 * RECONCILE_SERVICE (only with more than one revision running), PRE_SCALE_UP,
 * SCALE_UP (green tasks start and register in the alternate target group),
 * POST_SCALE_UP, TEST_TRAFFIC_SHIFT (the test listener rule forwards to
 * green), POST_TEST_TRAFFIC_SHIFT, then per traffic step
 * PRE_PRODUCTION_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT (the production
 * rule's weights move: all at once for blue/green, stepPercent at a time for
 * linear, canaryPercent then the rest for canary, with their bake times between
 * steps), POST_PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME (bakeTimeInMinutes), and
 * CLEAN_UP (blue tasks stop; the green target groups are production's from
 * now on, so the next deployment's green is the other one).
 *
 * At each stage the service's lifecycle hooks for it run (Lambda functions,
 * sim/lambda.ts) and must answer hookStatus SUCCEEDED before the deployment
 * moves on; IN_PROGRESS is asked again after callBackDelay seconds (default
 * 30); FAILED, no valid hookStatus or an error roll back. A rollback (a hook,
 * the circuit breaker, StopServiceDeployment ROLLBACK) puts both rules back
 * on blue at once and stops green.
 */
import type { ElbEngine, RuleRef, WeightedTargetGroup } from '../elb-engine.js';
import { AwsError } from '../service.js';
import type { Deployments } from './deployments.js';
import type {
  BlueGreenRun,
  DeploymentLifecycleHook,
  DeploymentRecord,
  LifecycleHookDetailRecord,
  ServiceDeploymentRecord,
  ServiceRecord,
  TaskRecord,
} from './records.js';
import type { EcsStore } from './store.js';
import type { Timers } from './timers.js';

/** What a hook answered, or why it could not (sim/lambda.ts). */
export type HookOutcome = { ok: true; payload: unknown } | { ok: false; error: string };

/** Invokes a Lambda function the way ECS does for a lifecycle hook (with the hook's role). */
export interface HookInvoker {
  invoke(functionArn: string, roleArn: string | undefined, payload: unknown): Promise<HookOutcome>;
}

export interface BlueGreenDeps {
  store: EcsStore;
  timers: Timers;
  elb: ElbEngine;
  deployments: Deployments;
  hooks: HookInvoker;
  random: { hex(n: number): string };
  stopTask(task: TaskRecord, stopCode: string, reason: string): void;
  launchGreen(service: ServiceRecord, deployment: DeploymentRecord, count: number): void;
  reconcile(service: ServiceRecord): void;
}

/** The callback delay ECS uses when an IN_PROGRESS answer gives none (seconds). */
const DEFAULT_CALLBACK_DELAY_S = 30;
/** A hook's default timeout (DeploymentLifecycleHookTimeoutConfiguration: 1440 minutes). */
const DEFAULT_HOOK_TIMEOUT_MIN = 1440;

const MINUTE = 60_000;

/** Whether a service deploys with ECS's blue/green machinery (a strategy and an advancedConfiguration). */
export function isBlueGreen(service: ServiceRecord): boolean {
  const strategy = service.deploymentConfiguration.strategy;
  return (
    (strategy === 'BLUE_GREEN' || strategy === 'LINEAR' || strategy === 'CANARY') &&
    service.loadBalancers.some((lb) => lb.advancedConfiguration)
  );
}

/** The production weights green gets, step by step. */
export function productionSteps(service: ServiceRecord): { percent: number; bakeMs: number }[] {
  const config = service.deploymentConfiguration;
  if (config.strategy === 'LINEAR') {
    const step = config.linearConfiguration?.stepPercent ?? 10;
    const bakeMs = (config.linearConfiguration?.stepBakeTimeInMinutes ?? 6) * MINUTE;
    const steps: { percent: number; bakeMs: number }[] = [];
    for (let i = 1; ; i++) {
      const percent = Math.min(100, Math.round(step * i * 10) / 10);
      // The step bake time is not applied after reaching 100 percent (LinearConfiguration).
      steps.push({ percent, bakeMs: percent >= 100 ? 0 : bakeMs });
      if (percent >= 100) return steps;
    }
  }
  if (config.strategy === 'CANARY') {
    const canary = config.canaryConfiguration?.canaryPercent ?? 5;
    const bakeMs = (config.canaryConfiguration?.canaryBakeTimeInMinutes ?? 10) * MINUTE;
    return canary >= 100
      ? [{ percent: 100, bakeMs: 0 }]
      : [
          { percent: canary, bakeMs },
          { percent: 100, bakeMs: 0 },
        ];
  }
  return [{ percent: 100, bakeMs: 0 }];
}

export class BlueGreenDeployments {
  /** PAUSE hooks awaiting ContinueServiceDeployment, by hookId. */
  private readonly paused = new Map<string, (action: 'CONTINUE' | 'ROLLBACK') => void>();

  constructor(private readonly deps: BlueGreenDeps) {}

  /**
   * ContinueServiceDeployment: a PAUSE hook AWAITING_ACTION continues the
   * deployment (CONTINUE) or rolls it back (ROLLBACK).
   */
  continueDeployment(sd: ServiceDeploymentRecord, hookId: string, action: 'CONTINUE' | 'ROLLBACK'): void {
    const detail = sd.lifecycleHookDetails?.find((h) => h.hookId === hookId);
    if (!detail)
      throw new AwsError(
        'InvalidParameterException',
        `The lifecycle hook ${hookId} was not found in the service deployment.`,
      );
    const resume = this.paused.get(hookId);
    if (sd.status !== 'IN_PROGRESS' || detail.status !== 'AWAITING_ACTION' || !resume) {
      throw new AwsError(
        'ConflictException',
        `The lifecycle hook ${hookId} is ${detail.status} and the service deployment is ${sd.status}: only a hook in AWAITING_ACTION of an IN_PROGRESS deployment can be continued.`,
      );
    }
    resume(action);
  }

  /**
   * A new deployment of a blue/green service: green goes to the target groups
   * production is not on, and the lifecycle stages begin. The first
   * deployment of a service (nothing completed yet) has no blue and rolls.
   */
  begin(service: ServiceRecord, deployment: DeploymentRecord): void {
    const blue = service.lastCompleted;
    if (!blue || blue === deployment) return;
    const liveTgs = liveTargetGroups(service);
    const greenTgs = service.loadBalancers.map((lb, i) => {
      const alternate = lb.advancedConfiguration?.alternateTargetGroupArn;
      if (!alternate) return liveTgs[i]!;
      return liveTgs[i] === alternate ? lb.targetGroupArn : alternate;
    });
    // A blue/green deployment still running is superseded: its green stops, production stays on blue.
    for (const other of service.deployments) {
      if (other !== deployment && other.blueGreen && !other.blueGreen.finished)
        this.supersede(service, other);
    }
    const strategy = service.deploymentConfiguration.strategy as BlueGreenRun['strategy'];
    deployment.targetGroupArns = greenTgs;
    // The green revision's load balancers name the groups its tasks register in (the roles swapped).
    const revision = service.revisions.get(deployment.revisionArn);
    if (revision)
      revision.loadBalancers = service.loadBalancers.map((lb, i) => ({
        ...lb,
        targetGroupArn: greenTgs[i]!,
        ...(lb.advancedConfiguration && {
          advancedConfiguration: { ...lb.advancedConfiguration, alternateTargetGroupArn: liveTgs[i]! },
        }),
      }));
    const run: BlueGreenRun = {
      strategy,
      blue,
      blueTargetGroupArns: liveTgs,
      greenTargetGroupArns: greenTgs,
      stage: 'PENDING',
      productionWeight: 0,
      testWeight: 0,
      cancel: [],
      epoch: 0,
    };
    deployment.blueGreen = run;
    // ECS owns both rules from now on: each forwards to blue and green, blue weighted 100.
    this.setWeights(service, run, 'production', 0);
    this.setWeights(service, run, 'test', 0);
    const revisions = new Set(service.deployments.filter((d) => d !== deployment).map((d) => d.revisionArn));
    const first = revisions.size > 1 ? 'RECONCILE_SERVICE' : 'PRE_SCALE_UP';
    this.after(run, this.deps.timers.timing.schedulerTickMs, () => this.enter(service, deployment, first));
  }

  /** Called on every scheduler pass over a service whose PRIMARY runs blue/green. */
  reconcile(service: ServiceRecord, primary: DeploymentRecord): void {
    const run = primary.blueGreen;
    if (!run || run.finished) return;
    if (run.stage === 'SCALE_UP') {
      const green = this.deps.store.liveTasks(service).filter((t) => t.deployment === primary);
      const missing = service.desiredCount - green.length;
      // Green scales to the full desired count at once (maximumPercent does not apply).
      if (missing > 0) this.deps.launchGreen(service, primary, missing);
      const healthy = green.filter((t) => t.lastStatus === 'RUNNING' && t.healthy).length;
      if (healthy >= service.desiredCount && missing <= 0) this.enter(service, primary, 'POST_SCALE_UP');
    } else if (run.stage === 'CLEAN_UP') {
      if (!this.deps.store.hasUnstoppedTasks(service, primary)) {
        run.finished = 'SUCCEEDED';
        service.liveTargetGroupArns = run.greenTargetGroupArns;
        this.deps.deployments.complete(service, primary);
      }
    } else {
      // Green keeps its desired count through the run: a failed green task is replaced.
      const green = this.deps.store.liveTasks(service).filter((t) => t.deployment === primary);
      const missing = service.desiredCount - green.length;
      if (
        missing > 0 &&
        run.stage !== 'PRE_SCALE_UP' &&
        run.stage !== 'RECONCILE_SERVICE' &&
        run.stage !== 'PENDING'
      )
        this.deps.launchGreen(service, primary, missing);
    }
  }

  /** After a rollback: once green's tasks have all stopped, the rollback is complete. */
  settleRollbacks(service: ServiceRecord): void {
    for (const dep of [...service.deployments]) {
      const run = dep.blueGreen;
      const sd = dep.serviceDeployment;
      if (run?.finished !== 'ROLLED_BACK' || !sd || sd.status !== 'ROLLBACK_IN_PROGRESS') continue;
      const greenLeft = [...service.cluster.tasks.values()].some(
        (t) => t.deployment === dep && t.lastStatus !== 'STOPPED',
      );
      if (greenLeft) continue;
      const now = this.deps.timers.now();
      Object.assign(sd, { status: 'ROLLBACK_SUCCESSFUL', finishedAt: now, updatedAt: now });
      dep.status = 'INACTIVE';
      service.deployments = service.deployments.filter((d) => d !== dep);
      this.deps.store.event('deployment.rolled-back', {
        cluster: service.cluster.name,
        service: service.name,
        deploymentId: dep.id,
        serviceDeploymentArn: sd.arn,
        to: run.blue.id,
      });
    }
  }

  /** StopServiceDeployment ROLLBACK on a blue/green deployment: traffic returns to blue at the next tick. */
  requestRollback(sd: ServiceDeploymentRecord): void {
    const dep = sd.deployment;
    const run = dep.blueGreen!;
    if (run.finished || sd.status !== 'IN_PROGRESS') {
      throw new AwsError(
        'ConflictException',
        `The service deployment is ${sd.status} and can no longer be stopped.`,
      );
    }
    if (run.stage === 'CLEAN_UP') {
      throw new AwsError(
        'ConflictException',
        'The service deployment is in the CLEAN_UP lifecycle stage and can no longer be rolled back.',
      );
    }
    sd.status = 'ROLLBACK_REQUESTED';
    sd.updatedAt = this.deps.timers.now();
    this.deps.timers.after(this.deps.timers.timing.schedulerTickMs, () => {
      if (!run.finished) this.rollback(sd.service, dep, 'A user requested the rollback.');
    });
  }

  /**
   * Rolls a blue/green deployment back: both rules forward to blue only (the
   * traffic shift back, at once), blue is PRIMARY again, green's tasks stop.
   */
  rollback(service: ServiceRecord, dep: DeploymentRecord, reason: string): void {
    const run = dep.blueGreen;
    if (!run || run.finished) return;
    const { timers, store } = this.deps;
    const now = timers.now();
    this.stopRun(run);
    run.finished = 'ROLLED_BACK';
    this.setWeights(service, run, 'production', 0);
    this.setWeights(service, run, 'test', 0);
    store.event('deployment.traffic-restored', {
      cluster: service.cluster.name,
      service: service.name,
      deploymentId: dep.id,
      stage: run.stage,
      reason,
    });
    const sd = dep.serviceDeployment;
    if (sd) {
      sd.status = 'ROLLBACK_IN_PROGRESS';
      sd.rollback = { reason, startedAt: now, serviceRevisionArn: run.blue.revisionArn };
      sd.updatedAt = now;
    }
    dep.rolloutState = 'FAILED';
    dep.rolloutStateReason = `ECS deployment ${dep.id} rolled back: ${reason}`;
    dep.updatedAt = now;
    dep.status = 'ACTIVE';
    run.blue.status = 'PRIMARY';
    run.blue.updatedAt = now;
    service.deployments = [run.blue, ...service.deployments.filter((d) => d !== run.blue)];
    service.taskDefinitionArn = run.blue.taskDefinitionArn;
    store.serviceEvent(
      service,
      `(service ${service.name}) (deployment ${dep.id}) deployment failed: rolling back to deploymentId ${run.blue.id}.`,
    );
    for (const task of store.liveTasks(service).filter((t) => t.deployment === dep)) {
      this.deps.stopTask(
        task,
        'ServiceSchedulerInitiated',
        `Scaling activity initiated by (deployment ${dep.id})`,
      );
    }
    this.deps.reconcile(service);
  }

  /** A newer deployment replaces a running one: production stays on blue, the old green stops. */
  private supersede(service: ServiceRecord, dep: DeploymentRecord): void {
    const run = dep.blueGreen!;
    this.stopRun(run);
    run.finished = 'ROLLED_BACK';
    this.setWeights(service, run, 'production', 0);
    this.setWeights(service, run, 'test', 0);
    for (const task of this.deps.store.liveTasks(service).filter((t) => t.deployment === dep)) {
      this.deps.stopTask(
        task,
        'ServiceSchedulerInitiated',
        `Scaling activity initiated by (deployment ${dep.id})`,
      );
    }
  }

  // ------------------------------------------------------------ the stages

  private enter(service: ServiceRecord, dep: DeploymentRecord, stage: string): void {
    const run = dep.blueGreen!;
    if (run.finished || service.status !== 'ACTIVE') return;
    run.stage = stage;
    run.epoch += 1;
    const sd = dep.serviceDeployment;
    const now = this.deps.timers.now();
    if (sd) {
      sd.lifecycleStage = stage;
      sd.updatedAt = now;
    }
    dep.updatedAt = now;
    this.deps.store.event('deployment.lifecycle-stage', {
      cluster: service.cluster.name,
      service: service.name,
      deploymentId: dep.id,
      serviceDeploymentArn: sd?.arn,
      stage,
      productionWeight: run.productionWeight,
      testWeight: run.testWeight,
    });
    const tick = this.deps.timers.timing.schedulerTickMs;
    const next = (to: string) => () => this.after(run, tick, () => this.enter(service, dep, to));
    switch (stage) {
      case 'RECONCILE_SERVICE':
        return this.runHooks(service, dep, stage, next('PRE_SCALE_UP'));
      case 'PRE_SCALE_UP':
        return this.runHooks(service, dep, stage, next('SCALE_UP'));
      case 'SCALE_UP':
        // The scheduler starts green and moves on once every green task is healthy (reconcile above).
        return this.deps.reconcile(service);
      case 'POST_SCALE_UP':
        return this.runHooks(service, dep, stage, next('TEST_TRAFFIC_SHIFT'));
      case 'TEST_TRAFFIC_SHIFT':
        this.setWeights(service, run, 'test', 100);
        return this.runHooks(service, dep, stage, next('POST_TEST_TRAFFIC_SHIFT'));
      case 'POST_TEST_TRAFFIC_SHIFT':
        return this.runHooks(service, dep, stage, () => this.productionStep(service, dep, 0));
      case 'POST_PRODUCTION_TRAFFIC_SHIFT':
        return this.runHooks(service, dep, stage, next('BAKE_TIME'));
      case 'BAKE_TIME': {
        const bakeMs = (service.deploymentConfiguration.bakeTimeInMinutes ?? 0) * MINUTE;
        return this.after(run, Math.max(bakeMs, tick), () => this.enter(service, dep, 'CLEAN_UP'));
      }
      case 'CLEAN_UP': {
        const reason = `Scaling activity initiated by (deployment ${dep.id})`;
        for (const task of this.deps.store.liveTasks(service).filter((t) => t.deployment !== dep))
          this.deps.stopTask(task, 'ServiceSchedulerInitiated', reason);
        return this.deps.reconcile(service);
      }
    }
  }

  /** One production traffic step: PRE_PRODUCTION_TRAFFIC_SHIFT hooks, the weights, the step's hooks, its bake. */
  private productionStep(service: ServiceRecord, dep: DeploymentRecord, index: number): void {
    const run = dep.blueGreen!;
    const steps = productionSteps(service);
    const step = steps[index]!;
    const tick = this.deps.timers.timing.schedulerTickMs;
    this.after(run, tick, () => {
      this.enter(service, dep, 'PRE_PRODUCTION_TRAFFIC_SHIFT');
      this.runHooks(service, dep, 'PRE_PRODUCTION_TRAFFIC_SHIFT', () => {
        this.after(run, tick, () => {
          this.enter(service, dep, 'PRODUCTION_TRAFFIC_SHIFT');
          this.setWeights(service, run, 'production', step.percent);
          this.runHooks(service, dep, 'PRODUCTION_TRAFFIC_SHIFT', () => {
            if (index + 1 < steps.length) {
              this.after(run, Math.max(step.bakeMs, tick), () =>
                this.productionStep(service, dep, index + 1),
              );
            } else {
              this.after(run, tick, () => this.enter(service, dep, 'POST_PRODUCTION_TRAFFIC_SHIFT'));
            }
          });
        });
      });
    });
  }

  // ------------------------------------------------------------ hooks

  /** Runs the stage's hooks one after the other; `then` once all SUCCEEDED. */
  private runHooks(service: ServiceRecord, dep: DeploymentRecord, stage: string, then: () => void): void {
    const hooks = (service.deploymentConfiguration.lifecycleHooks ?? []).filter((h) =>
      h.lifecycleStages.includes(stage),
    );
    const sd = dep.serviceDeployment;
    const run = dep.blueGreen!;
    const epoch = run.epoch;
    const now = this.deps.timers.now();
    const details = hooks.map((hook): LifecycleHookDetailRecord => ({
      hookId:
        hook.targetType === 'PAUSE' ? `ecs-pause-${this.deps.random.hex(40)}` : this.deps.random.hex(16),
      targetType: hook.targetType ?? 'AWS_LAMBDA',
      targetArn: hook.targetType === 'PAUSE' ? undefined : hook.hookTargetArn,
      stage,
      status: hook.targetType === 'PAUSE' ? 'AWAITING_ACTION' : 'IN_PROGRESS',
      expiresAt: now + (hook.timeoutConfiguration?.timeoutInMinutes ?? DEFAULT_HOOK_TIMEOUT_MIN) * MINUTE,
      timeoutAction: hook.timeoutConfiguration?.action ?? 'ROLLBACK',
      invocations: 0,
    }));
    // The deployment's hooks so far, this stage's last.
    if (sd) sd.lifecycleHookDetails = [...(sd.lifecycleHookDetails ?? []), ...details];
    const runOne = (i: number) => {
      if (run.finished || run.epoch !== epoch) return;
      if (i >= hooks.length) return then();
      if (hooks[i]!.targetType === 'PAUSE')
        return this.pause(service, dep, details[i]!, epoch, () => runOne(i + 1));
      this.invokeHook(service, dep, hooks[i]!, details[i]!, epoch, () => runOne(i + 1));
    };
    runOne(0);
  }

  /** A PAUSE hook: the deployment waits for ContinueServiceDeployment, or for the hook's timeout. */
  private pause(
    service: ServiceRecord,
    dep: DeploymentRecord,
    detail: LifecycleHookDetailRecord,
    epoch: number,
    proceed: () => void,
  ): void {
    const run = dep.blueGreen!;
    const stale = () => run.finished !== undefined || run.epoch !== epoch;
    const settle = (
      outcome: 'CONTINUE' | 'ROLLBACK',
      status: LifecycleHookDetailRecord['status'],
      why: string,
    ) => {
      this.paused.delete(detail.hookId);
      if (stale()) return;
      detail.status = status;
      this.deps.store.event('deployment.hook.answered', {
        service: service.name,
        deploymentId: dep.id,
        stage: detail.stage,
        hookId: detail.hookId,
        hookStatus: status,
      });
      if (outcome === 'CONTINUE') proceed();
      else this.rollback(service, dep, why);
    };
    this.paused.set(detail.hookId, (action) =>
      action === 'CONTINUE'
        ? settle('CONTINUE', 'SUCCEEDED', '')
        : settle('ROLLBACK', 'FAILED', 'A user requested the rollback.'),
    );
    this.deps.store.event('deployment.hook.awaiting-action', {
      service: service.name,
      deploymentId: dep.id,
      stage: detail.stage,
      hookId: detail.hookId,
    });
    this.after(run, Math.max(0, (detail.expiresAt ?? Infinity) - this.deps.timers.now()), () => {
      if (!this.paused.has(detail.hookId)) return;
      settle(
        detail.timeoutAction,
        'TIMED_OUT',
        `Lifecycle hook ${detail.hookId} timed out at ${detail.stage}.`,
      );
    });
  }

  private invokeHook(
    service: ServiceRecord,
    dep: DeploymentRecord,
    hook: DeploymentLifecycleHook,
    detail: LifecycleHookDetailRecord,
    epoch: number,
    succeeded: () => void,
  ): void {
    const run = dep.blueGreen!;
    const { timers, store } = this.deps;
    const stale = () => run.finished !== undefined || run.epoch !== epoch;
    if (timers.now() >= (detail.expiresAt ?? Infinity)) {
      detail.status = 'TIMED_OUT';
      if (detail.timeoutAction === 'CONTINUE') return succeeded();
      return this.rollback(
        service,
        dep,
        `Lifecycle hook ${hook.hookTargetArn} timed out at ${detail.stage}.`,
      );
    }
    detail.invocations += 1;
    const payload = this.payload(service, dep, detail, hook);
    store.event('deployment.hook.invoked', {
      service: service.name,
      deploymentId: dep.id,
      stage: detail.stage,
      hookTargetArn: hook.hookTargetArn,
      invocation: detail.invocations,
    });
    void this.deps.hooks.invoke(hook.hookTargetArn ?? '', hook.roleArn, payload).then((outcome) => {
      if (stale()) return;
      const answer = outcome.ok ? (outcome.payload as Record<string, unknown> | null) : null;
      const status = answer && typeof answer === 'object' ? answer.hookStatus : undefined;
      store.event('deployment.hook.answered', {
        service: service.name,
        deploymentId: dep.id,
        stage: detail.stage,
        hookTargetArn: hook.hookTargetArn,
        hookStatus: status,
        error: outcome.ok ? undefined : outcome.error,
      });
      if (status === 'SUCCEEDED') {
        detail.status = 'SUCCEEDED';
        return succeeded();
      }
      if (status === 'IN_PROGRESS') {
        const delayS = Number(answer?.callBackDelay ?? DEFAULT_CALLBACK_DELAY_S);
        if (answer?.hookDetails && typeof answer.hookDetails === 'object')
          detail.carriedDetails = answer.hookDetails as Record<string, unknown>;
        this.after(
          run,
          (Number.isFinite(delayS) && delayS >= 0 ? delayS : DEFAULT_CALLBACK_DELAY_S) * 1000,
          () => this.invokeHook(service, dep, hook, detail, epoch, succeeded),
        );
        return;
      }
      detail.status = 'FAILED';
      detail.lastError = outcome.ok ? `hookStatus ${JSON.stringify(status ?? null)}` : outcome.error;
      const why =
        status === 'FAILED'
          ? `Lifecycle hook ${hook.hookTargetArn} returned FAILED at ${detail.stage}.`
          : `Lifecycle hook ${hook.hookTargetArn} did not return a valid hookStatus at ${detail.stage}: ${detail.lastError}`;
      this.rollback(service, dep, why);
    });
  }

  /** The event ECS sends a Lambda hook (Lambda hooks for Amazon ECS service deployments). */
  private payload(
    service: ServiceRecord,
    dep: DeploymentRecord,
    detail: LifecycleHookDetailRecord,
    hook: DeploymentLifecycleHook,
  ): Record<string, unknown> {
    const run = dep.blueGreen!;
    const weights = (greenPercent: number) => ({
      [run.blue.revisionArn]: 100 - greenPercent,
      [dep.revisionArn]: greenPercent,
    });
    // Traffic weights are filled in while traffic moves; other stages get empty ones.
    const configured =
      hook.hookDetails && typeof hook.hookDetails === 'object' ? hook.hookDetails : undefined;
    const hookDetails = { ...(configured as object | undefined), ...detail.carriedDetails };
    return {
      executionId: detail.hookId,
      lifecycleStage: detail.stage,
      resourceArn: dep.serviceDeployment?.arn,
      executionDetails: {
        serviceArn: service.arn,
        targetServiceRevisionArn: dep.revisionArn,
        testTrafficWeights: detail.stage === 'TEST_TRAFFIC_SHIFT' ? weights(run.testWeight) : {},
        productionTrafficWeights:
          detail.stage === 'PRODUCTION_TRAFFIC_SHIFT' ? weights(run.productionWeight) : {},
      },
      ...(Object.keys(hookDetails).length > 0 ? { hookDetails } : {}),
    };
  }

  // ------------------------------------------------------------ traffic

  /** Green gets `greenPercent` of a rule's traffic on every load balancer with an advancedConfiguration. */
  private setWeights(
    service: ServiceRecord,
    run: BlueGreenRun,
    which: 'production' | 'test',
    greenPercent: number,
  ): void {
    if (which === 'production') run.productionWeight = greenPercent;
    else run.testWeight = greenPercent;
    for (const [i, lb] of service.loadBalancers.entries()) {
      const advanced = lb.advancedConfiguration;
      const ruleArn = which === 'production' ? advanced?.productionListenerRule : advanced?.testListenerRule;
      if (!ruleArn) continue;
      const ref: RuleRef | undefined = this.deps.elb.findRule(ruleArn);
      if (!ref) continue;
      const groups: WeightedTargetGroup[] = [
        { targetGroupArn: run.blueTargetGroupArns[i]!, weight: 100 - greenPercent },
        { targetGroupArn: run.greenTargetGroupArns[i]!, weight: greenPercent },
      ];
      this.deps.elb.setForward(ref, groups, `ecs:${service.name}`);
    }
  }

  // ------------------------------------------------------------ timers

  /** A timer of the run: does nothing once the run is stopped or has moved on. */
  private after(run: BlueGreenRun, ms: number, fn: () => void): void {
    let cancelled = false;
    run.cancel.push(() => {
      cancelled = true;
    });
    this.deps.timers.after(ms, () => {
      if (!cancelled && !run.finished) fn();
    });
  }

  private stopRun(run: BlueGreenRun): void {
    for (const cancel of run.cancel.splice(0)) cancel();
    run.epoch += 1;
  }
}

/** The target groups production is on now, per load balancer of the service. */
export function liveTargetGroups(service: ServiceRecord): string[] {
  return service.loadBalancers.map((lb, i) => service.liveTargetGroupArns?.[i] ?? lb.targetGroupArn);
}
