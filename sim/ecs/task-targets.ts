/**
 * A service task's targets: registered in its service's target groups when
 * it starts RUNNING; healthy in all of them, the task counts as healthy; a
 * target found unhealthy makes ECS replace the task once the service's
 * health-check grace period is over. Health itself is the ELB engine's
 * (sim/elb-engine.ts), which reports every change here.
 */
import type { ElbEngine, TargetGroupRecord, TargetRecord } from '../elb-engine.js';
import type { ContainerRecord, ServiceRecord, TaskRecord } from './records.js';
import type { EcsStore } from './store.js';
import type { Timers } from './timers.js';

export interface TaskTargetsDeps {
  store: EcsStore;
  timers: Timers;
  elb: ElbEngine;
  /** The task is healthy in every target group of its service, or it has none. */
  taskHealthy(task: TaskRecord): void;
  /** A task of the service turned healthy: the service scheduler looks again. */
  reconcile(service: ServiceRecord): void;
  stopTask(task: TaskRecord, stopCode: string, reason: string, opts: { failure?: boolean }): void;
}

export class TaskTargets {
  constructor(private readonly deps: TaskTargetsDeps) {
    deps.elb.onTargetHealth((tg, target) => this.onTargetHealth(tg, target));
  }

  /** Registers a service task that starts RUNNING in its service's target groups (`healthy` when loaded steady). */
  register(task: TaskRecord, healthy: boolean): void {
    const service = task.service!;
    const registrations: { tg: TargetGroupRecord; container: ContainerRecord; port: number }[] = [];
    for (const [i, lb] of service.loadBalancers.entries()) {
      // A blue/green deployment's tasks register in the target group it was given (green: the alternate).
      const tgArn = task.deployment?.targetGroupArns?.[i] ?? lb.targetGroupArn;
      const tg = this.deps.elb.targetGroups.get(tgArn);
      const container = task.containers.find((c) => c.name === lb.containerName);
      if (tg && container) registrations.push({ tg, container, port: lb.containerPort });
    }
    // Known before registering: health changes arrive while the targets register.
    task.targets = registrations.map(({ tg, port }) => ({ targetGroup: tg, port }));
    task.healthy = registrations.length === 0 || healthy;
    if (registrations.length === 0) this.deps.taskHealthy(task);
    for (const { tg, container, port } of registrations) {
      this.deps.elb.register(
        tg,
        {
          id: task.ip,
          port,
          taskArn: task.arn,
          taskDefinitionArn: task.taskDef.arn,
          image: container.image,
          serviceName: service.name,
          containerName: container.name,
          behaviour: container.behaviour,
        },
        healthy,
      );
      if (!healthy)
        this.deps.store.serviceEvent(
          service,
          `(service ${service.name}) registered 1 targets in (target-group ${tg.arn})`,
        );
    }
  }

  /** A target's health changed (ElbEngine.onTargetHealth). */
  private onTargetHealth(tg: TargetGroupRecord, target: TargetRecord): void {
    const task = this.deps.store.findTask(target.taskArn);
    if (!task || task.desiredStatus !== 'RUNNING' || !task.service || task.targets.length === 0) return;
    const service = task.service;
    task.healthy = task.targets.every(
      (t) => t.targetGroup.targets.get(`${task.ip}:${t.port}`)?.state === 'healthy',
    );
    if (target.state === 'unhealthy') {
      this.deps.store.serviceEvent(
        service,
        `(service ${service.name}) (port ${target.port}) is unhealthy in (target-group ${tg.arn}) due to (reason ${target.description}).`,
      );
      this.stopIfUnhealthy(task, tg);
    }
    if (task.healthy) {
      this.deps.taskHealthy(task);
      this.deps.reconcile(service);
    }
  }

  /** ECS replaces a task that fails ELB health checks, once its grace period is over. */
  private stopIfUnhealthy(task: TaskRecord, tg: TargetGroupRecord): void {
    const service = task.service!;
    const graceEnds =
      (task.startedAt ?? task.createdAt) + (service.healthCheckGracePeriodSeconds ?? 0) * 1000;
    const wait = graceEnds - this.deps.timers.now();
    if (wait > 0) {
      this.deps.timers.forTask(task, wait, () => {
        const target = tg.targets.get(`${task.ip}:${task.targets.find((t) => t.targetGroup === tg)?.port}`);
        if (task.desiredStatus === 'RUNNING' && target?.state === 'unhealthy') this.stopIfUnhealthy(task, tg);
      });
      return;
    }
    this.deps.stopTask(
      task,
      'ServiceSchedulerInitiated',
      `Task failed ELB health checks in (target-group ${tg.arn})`,
      {
        failure: true,
      },
    );
  }
}
