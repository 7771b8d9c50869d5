/**
 * The service scheduler: one pass over a service, every scheduler tick and
 * whenever one of its tasks turns healthy or stops. It runs the rolling
 * update (start the PRIMARY deployment's missing tasks within maximumPercent,
 * stop old ones while the healthy count stays at or above
 * minimumHealthyPercent), completes the deployment, and drains a deleted
 * service. https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html
 */
import type { BlueGreenDeployments } from './blue-green.js';
import type { Deployments } from './deployments.js';
import type { DeploymentRecord, ServiceRecord, TaskRecord } from './records.js';
import type { EcsStore } from './store.js';
import type { TaskLifecycle } from './tasks.js';

/** A task the minimum healthy percent counts: RUNNING and healthy in its target groups. */
const counts = (t: TaskRecord) => t.lastStatus === 'RUNNING' && t.healthy;

export class ServiceScheduler {
  /** While a scenario loads, services are placed as they are: the scheduler waits. */
  private paused = false;

  constructor(
    private readonly store: EcsStore,
    private readonly tasks: TaskLifecycle,
    private readonly deployments: Deployments,
    /** Blue/green, linear and canary deployments run their own stages (sim/ecs/blue-green.ts). */
    private readonly blueGreen?: Pick<BlueGreenDeployments, 'reconcile' | 'settleRollbacks'>,
  ) {}

  /** Runs `fn` with the scheduler paused. */
  pausedWhile(fn: () => void): void {
    this.paused = true;
    try {
      fn();
    } finally {
      this.paused = false;
    }
  }

  reconcileAll(): void {
    for (const cluster of this.store.clusters.values()) {
      for (const service of cluster.services.values()) this.reconcile(service);
    }
  }

  /** One pass of the service scheduler over a service. */
  reconcile(service: ServiceRecord): void {
    if (service.status === 'INACTIVE' || this.paused) return;
    if (service.status === 'DRAINING') {
      this.drain(service);
      return;
    }
    this.blueGreen?.settleRollbacks(service);
    const primary = service.deployments[0];
    if (!primary) return;
    primary.desiredCount = service.desiredCount;
    if (primary.blueGreen && !primary.blueGreen.finished) {
      // Green scales up beside blue; blue stops only at CLEAN_UP: no rolling replacement.
      this.blueGreen?.reconcile(service, primary);
      return;
    }
    const live = this.store.liveTasks(service);
    const scaling = `Scaling activity initiated by (deployment ${primary.id})`;
    this.scaleInPrimary(service, primary, live, scaling);
    // A FAILED deployment starts no task; when it failed without a rollback, the older deployment keeps its tasks.
    if (primary.rolloutState !== 'FAILED') {
      this.startMissing(service, primary, live);
      this.stopOld(service, primary, live, scaling);
    }
    this.settle(service, primary);
  }

  /** A deleted service stops its tasks and becomes INACTIVE once they have all STOPPED. */
  private drain(service: ServiceRecord): void {
    for (const task of this.store.liveTasks(service))
      this.tasks.stopTask(task, 'ServiceSchedulerInitiated', 'Service deleted');
    if (!this.store.hasUnstoppedTasks(service)) {
      service.status = 'INACTIVE';
      service.deployments = [];
      this.store.event('service.inactive', { cluster: service.cluster.name, service: service.name });
    }
  }

  /** The primary has more than desired: the extra tasks stop, those not yet healthy first. */
  private scaleInPrimary(
    service: ServiceRecord,
    primary: DeploymentRecord,
    live: TaskRecord[],
    scaling: string,
  ): void {
    const primaryLive = live.filter((t) => t.deployment === primary);
    if (primaryLive.length <= service.desiredCount) return;
    const extra = [...primaryLive]
      .sort((a, b) => Number(counts(a)) - Number(counts(b)))
      .slice(0, primaryLive.length - service.desiredCount);
    for (const task of extra) this.tasks.stopTask(task, 'ServiceSchedulerInitiated', scaling);
  }

  /** Starts the primary's missing tasks, as many as maximumPercent allows. */
  private startMissing(service: ServiceRecord, primary: DeploymentRecord, live: TaskRecord[]): void {
    const desired = service.desiredCount;
    const maxTotal = Math.max(
      Math.floor((desired * service.deploymentConfiguration.maximumPercent) / 100),
      1,
    );
    const primaryLive = live.filter((t) => t.deployment === primary).length;
    const toStart = Math.min(desired - primaryLive, maxTotal - this.store.liveTasks(service).length);
    if (toStart <= 0) return;
    const td = this.store.findTaskDefinition(primary.taskDefinitionArn)!;
    for (let i = 0; i < toStart; i++)
      this.tasks.launchTask(service.cluster, td, { service, deployment: primary });
  }

  /** Stops old tasks: those not healthy at once, healthy ones while minimumHealthyPercent still holds. */
  private stopOld(
    service: ServiceRecord,
    primary: DeploymentRecord,
    live: TaskRecord[],
    scaling: string,
  ): void {
    const minHealthy = Math.ceil(
      (service.desiredCount * service.deploymentConfiguration.minimumHealthyPercent) / 100,
    );
    let healthy = this.store.liveTasks(service).filter(counts).length;
    const ordered = live
      .filter((t) => t.deployment !== primary)
      .sort((a, b) => Number(counts(a)) - Number(counts(b)));
    for (const task of ordered) {
      if (!counts(task)) {
        this.tasks.stopTask(task, 'ServiceSchedulerInitiated', scaling);
      } else if (healthy - 1 >= minHealthy) {
        this.tasks.stopTask(task, 'ServiceSchedulerInitiated', scaling);
        healthy -= 1;
      }
    }
  }

  /**
   * The primary runs its desired count, all healthy, and no older task is left:
   * the deployment completes, or a completed one reaches a steady state again.
   */
  private settle(service: ServiceRecord, primary: DeploymentRecord): void {
    const desired = service.desiredCount;
    const primaryLive = this.store.liveTasks(service).filter((t) => t.deployment === primary);
    const done =
      primaryLive.filter(counts).length === desired &&
      primaryLive.length === desired &&
      !this.store.hasUnstoppedTasks(service, primary);
    if (!done) return;
    if (primary.rolloutState === 'IN_PROGRESS') this.deployments.complete(service, primary);
    else if (primary.rolloutState === 'COMPLETED' && !service.steady)
      this.deployments.reachSteadyState(service, primary);
  }
}
