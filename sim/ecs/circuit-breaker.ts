/**
 * The deployment circuit breaker and rollbacks. Failed tasks count against
 * their deployment until one of its tasks is healthy; at the threshold the
 * deployment FAILS and, with `rollback` on, a new deployment goes back to the
 * last COMPLETED one. StopServiceDeployment (stopType ROLLBACK) asks for the
 * same rollback by hand.
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
 */
import { AwsError } from '../service.js';
import type { BlueGreenDeployments } from './blue-green.js';
import type { Deployments } from './deployments.js';
import type {
  CircuitBreakerConfig,
  DeploymentRecord,
  ServiceDeploymentRecord,
  ServiceRecord,
  TaskRecord,
} from './records.js';
import type { ServiceScheduler } from './service-scheduler.js';
import type { EcsStore } from './store.js';
import type { TaskLifecycle } from './tasks.js';
import type { Timers } from './timers.js';

const BREAKER_FAILED = 'ECS deployment circuit breaker: tasks failed to start.';

/**
 * The failure threshold: by default 0.5 × desired count, at least 3 and at most 200
 * (ServiceDeploymentCircuitBreaker); a thresholdConfiguration can change it.
 */
export function circuitBreakerThreshold(
  desiredCount: number,
  config?: CircuitBreakerConfig['thresholdConfiguration'],
): number {
  const type = config?.type ?? 'BOUNDED_PERCENT';
  const value = config?.value ?? 50;
  if (type === 'COUNT') return Math.max(1, value);
  const percent = Math.ceil((value / 100) * desiredCount);
  return type === 'UNBOUNDED_PERCENT' ? Math.max(1, percent) : Math.min(200, Math.max(3, percent));
}

export interface CircuitBreakerDeps {
  /** Blue/green, linear, canary: a failure shifts traffic back instead of deploying blue again. */
  blueGreen: Pick<BlueGreenDeployments, 'rollback' | 'requestRollback'>;
  store: EcsStore;
  timers: Timers;
  deployments: Deployments;
  tasks: TaskLifecycle;
  scheduler: ServiceScheduler;
}

export class CircuitBreaker {
  constructor(private readonly deps: CircuitBreakerDeps) {}

  /** A task of a deployment failed: counted once, while the deployment's failures are evaluated. */
  taskFailed(task: TaskRecord): void {
    const { service, deployment } = task;
    if (!deployment || !service || task.failed || !deployment.failuresEvaluated) return;
    task.failed = true;
    deployment.failedTasks += 1;
    deployment.updatedAt = this.deps.timers.now();
    this.check(service, deployment);
  }

  /** A task of a deployment is successfully running: its failure count resets and stops being evaluated. */
  taskHealthy(task: TaskRecord): void {
    const deployment = task.deployment;
    const breaker = task.service?.deploymentConfiguration.deploymentCircuitBreaker;
    if (!deployment || !deployment.failuresEvaluated || breaker?.resetOnHealthyTask === false) return;
    deployment.failedTasks = 0;
    deployment.failuresEvaluated = false;
    const sd = deployment.serviceDeployment;
    if (sd?.circuitBreakerStatus === 'MONITORING' && sd.deployment === deployment)
      sd.circuitBreakerStatus = 'MONITORING_COMPLETE';
  }

  /** At the threshold the PRIMARY deployment FAILS, then rolls back, or stops where it is. */
  private check(service: ServiceRecord, deployment: DeploymentRecord): void {
    const breaker = service.deploymentConfiguration.deploymentCircuitBreaker;
    if (!breaker.enable || deployment.rolloutState !== 'IN_PROGRESS' || deployment.status !== 'PRIMARY')
      return;
    const threshold = circuitBreakerThreshold(service.desiredCount, breaker.thresholdConfiguration);
    if (deployment.failedTasks < threshold) return;
    const { store, timers } = this.deps;
    deployment.rolloutState = 'FAILED';
    deployment.rolloutStateReason = BREAKER_FAILED;
    deployment.updatedAt = timers.now();
    store.serviceEvent(
      service,
      `(service ${service.name}) (deployment ${deployment.id}) deployment failed: tasks failed to start.`,
    );
    store.event('deployment.failed', {
      cluster: service.cluster.name,
      service: service.name,
      deploymentId: deployment.id,
    });
    const sd = deployment.serviceDeployment;
    if (sd) {
      sd.circuitBreakerStatus = 'TRIGGERED';
      sd.updatedAt = timers.now();
    }
    const target = service.lastCompleted;
    if (deployment.blueGreen && !deployment.blueGreen.finished) {
      // Green never had production traffic it cannot give back: the rules return to blue.
      this.deps.blueGreen.rollback(service, deployment, 'Circuit Breaker triggered the rollback.');
    } else if (deployment.rollbackOf) {
      this.rollbackFailed(service, deployment);
    } else if (breaker.rollback && target && target !== deployment) {
      this.rollback(service, deployment, target, 'Circuit Breaker triggered the rollback.');
    } else if (sd) {
      const now = timers.now();
      Object.assign(sd, { status: 'STOPPED', statusReason: BREAKER_FAILED, stoppedAt: now, finishedAt: now });
    }
  }

  /** A rollback that fails too: nothing older to go back to, its tasks stop. */
  private rollbackFailed(service: ServiceRecord, deployment: DeploymentRecord): void {
    const sd = deployment.serviceDeployment;
    if (sd)
      Object.assign(sd, {
        status: 'ROLLBACK_FAILED',
        statusReason: 'The rollback failed: tasks failed to start.',
        finishedAt: this.deps.timers.now(),
      });
    for (const task of this.deps.store.liveTasks(service).filter((t) => t.deployment === deployment)) {
      this.deps.tasks.stopTask(
        task,
        'ServiceSchedulerInitiated',
        `Scaling activity initiated by (deployment ${deployment.id})`,
      );
    }
  }

  /** StopServiceDeployment with stopType ROLLBACK: the rollback starts at the scheduler's next tick. */
  requestRollback(sd: ServiceDeploymentRecord): void {
    if (sd.status === 'ROLLBACK_REQUESTED' || sd.status === 'ROLLBACK_IN_PROGRESS') return;
    if (sd.deployment.blueGreen) return this.deps.blueGreen.requestRollback(sd);
    const service = sd.service;
    const target = service.lastCompleted;
    const finished = ['SUCCESSFUL', 'STOPPED', 'ROLLBACK_SUCCESSFUL', 'ROLLBACK_FAILED'].includes(sd.status);
    if (finished) {
      throw new AwsError(
        'ConflictException',
        `The service deployment is ${sd.status} and can no longer be stopped.`,
      );
    }
    if (!target || target === sd.deployment || !service.deployments.includes(sd.deployment)) {
      throw new AwsError(
        'ConflictException',
        'The service deployment cannot be rolled back: there is no previous service revision.',
      );
    }
    const { timers } = this.deps;
    sd.status = 'ROLLBACK_REQUESTED';
    sd.updatedAt = timers.now();
    const failed = sd.deployment;
    failed.rolloutState = 'FAILED';
    failed.rolloutStateReason = `ECS deployment ${failed.id} stopped: rollback requested.`;
    timers.after(timers.timing.schedulerTickMs, () => {
      if (service.status !== 'ACTIVE') return;
      this.rollback(service, failed, target, 'A user requested the rollback.');
    });
  }

  /** A new PRIMARY deployment on `to`'s task definition; the service's taskDefinition returns to it. */
  private rollback(
    service: ServiceRecord,
    failed: DeploymentRecord,
    to: DeploymentRecord,
    reason: string,
  ): void {
    const sd = failed.serviceDeployment;
    if (sd) {
      sd.status = 'ROLLBACK_IN_PROGRESS';
      sd.rollback = { reason, startedAt: this.deps.timers.now(), serviceRevisionArn: to.revisionArn };
      sd.updatedAt = this.deps.timers.now();
    }
    service.taskDefinitionArn = to.taskDefinitionArn;
    this.deps.deployments.start(service, to.taskDefinitionArn, { of: failed, to, reason });
    this.deps.scheduler.reconcile(service);
  }
}
