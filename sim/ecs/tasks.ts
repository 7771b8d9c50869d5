/**
 * The life of a task, as ECS runs it on Fargate: PROVISIONING → PENDING (ENI
 * attached) → RUNNING (image pulled, containers started) → DEACTIVATING while
 * its targets drain → STOPPING → STOPPED. Containers write their awslogs lines
 * and exit as their image's behaviour says; a one-off task (RunTask) runs its
 * course and stops. A service task's targets are task-targets.ts's.
 *
 * What a task means to its service (a failure for the circuit breaker, a
 * healthy task, a change the service scheduler acts on) is reported through
 * TaskHooks: this module does not know deployments.
 */
import type { SimRandom } from '../clock.js';
import type { ElbEngine } from '../elb-engine.js';
import type { LogsStore } from '../logs-store.js';
import type { ImageBehaviour } from '../scenario.js';
import type {
  ClusterRecord,
  ContainerRecord,
  DeploymentRecord,
  ServiceRecord,
  Tag,
  TaskDefRecord,
  TaskRecord,
} from './records.js';
import type { EcsStore } from './store.js';
import { TaskTargets } from './task-targets.js';
import type { Timers } from './timers.js';

/** A crash-at-start container exits this long after it starts. */
const CRASH_AT_START_MS = 1000;
/** Default run time of a one-off task whose image gives none. */
const ONE_OFF_DEFAULT_MS = 5000;
/** Exit code of a container stopped with SIGTERM (128 + 15). */
const SIGTERM_EXIT = 143;

/** What the lifecycle tells the rest of the control plane about a service's task. */
export interface TaskHooks {
  /** The task failed (could not start, exited, failed health checks): it counts against its deployment. */
  taskFailed(task: TaskRecord): void;
  /** The task is successfully running: healthy in every target group of its service, or it has none. */
  taskHealthy(task: TaskRecord): void;
  /** A task of the service turned healthy or stopped: the service scheduler looks again. */
  reconcile(service: ServiceRecord): void;
}

export interface TaskLifecycleDeps {
  store: EcsStore;
  timers: Timers;
  random: SimRandom;
  elb: ElbEngine;
  logs: LogsStore;
  images: Record<string, ImageBehaviour>;
  hooks: TaskHooks;
}

export interface LaunchOptions {
  service?: ServiceRecord;
  deployment?: DeploymentRecord;
  /** Loaded from a scenario: already running and healthy, no phase to go through. */
  steady?: boolean;
  launchType?: string;
  capacityProviderName?: string;
  subnet?: string;
  startedBy?: string;
  group?: string;
  overrides?: Record<string, unknown>;
  tags?: Tag[];
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

/** The behaviour of an image: the first matching key wins, `default` last. */
function imageBehaviour(images: Record<string, ImageBehaviour>, image: string): ImageBehaviour {
  for (const [pattern, behaviour] of Object.entries(images)) {
    if (pattern === 'default') continue;
    if (pattern === image || globToRegExp(pattern).test(image)) return behaviour;
  }
  return images.default ?? {};
}

export class TaskLifecycle {
  private ipCounter = 0;
  private readonly store: EcsStore;
  private readonly timers: Timers;
  private readonly targets: TaskTargets;

  constructor(private readonly deps: TaskLifecycleDeps) {
    this.store = deps.store;
    this.timers = deps.timers;
    this.targets = new TaskTargets({
      store: deps.store,
      timers: deps.timers,
      elb: deps.elb,
      taskHealthy: (task) => {
        this.armLateCrash(task);
        deps.hooks.taskHealthy(task);
      },
      reconcile: (service) => deps.hooks.reconcile(service),
      stopTask: (task, stopCode, reason, opts) => this.stopTask(task, stopCode, reason, opts),
    });
  }

  /** Places a task: PROVISIONING, or RUNNING at once when `steady`. */
  launchTask(cluster: ClusterRecord, td: TaskDefRecord, opts: LaunchOptions = {}): TaskRecord {
    const task = this.newTask(cluster, td, opts);
    const service = opts.service;
    cluster.tasks.set(task.arn, task);
    this.store.event('task.provisioning', this.taskDetail(task));
    // The scheduler reports a task as started when it places it, not when it runs.
    if (service && !opts.steady)
      this.store.serviceEvent(service, `(service ${service.name}) has started 1 tasks: (task ${task.id}).`);
    if (opts.steady) {
      const t = this.timers.now();
      Object.assign(task, { pullStartedAt: t, pullStoppedAt: t, startedAt: t, connectivityAt: t });
      this.setRunning(task, true);
    } else {
      this.timers.forTask(task, this.timers.phase(this.timers.timing.provisionMs), () =>
        this.setPending(task),
      );
    }
    return task;
  }

  private newTask(cluster: ClusterRecord, td: TaskDefRecord, opts: LaunchOptions): TaskRecord {
    const random = this.deps.random;
    const id = random.hex(32);
    const service = opts.service;
    return {
      arn: this.store.arn(`task/${cluster.name}/${id}`),
      id,
      cluster,
      taskDef: td,
      service,
      deployment: opts.deployment,
      lastStatus: 'PROVISIONING',
      desiredStatus: 'RUNNING',
      createdAt: this.timers.now(),
      containers: td.containers.map((def) => ({
        name: def.name,
        image: def.image,
        essential: def.essential,
        containerArn: this.store.arn(`container/${cluster.name}/${id}/${random.uuid()}`),
        runtimeId: `${id}-${random.digits(10)}`,
        lastStatus: 'PENDING',
        behaviour: imageBehaviour(this.deps.images, def.image),
        def,
      })),
      ip: this.nextIp(),
      subnet: opts.subnet ?? service?.networkConfiguration?.awsvpcConfiguration?.subnets?.[0],
      eniId: `eni-${random.hex(17)}`,
      attachmentId: random.uuid(),
      launchType: opts.launchType ?? service?.launchType ?? 'FARGATE',
      capacityProviderName: opts.capacityProviderName,
      group: opts.group ?? (service ? `service:${service.name}` : `family:${td.family}`),
      startedBy: opts.startedBy ?? opts.deployment?.id,
      overrides: opts.overrides ?? { containerOverrides: [], inferenceAcceleratorOverrides: [] },
      tags: opts.tags ?? [],
      version: 1,
      healthy: false,
      targets: [],
      failed: false,
      timers: [],
    };
  }

  private nextIp(): string {
    const n = this.ipCounter++;
    // ENI addresses stay on loopback (127.0.1.1 upwards) so nothing points outside the machine.
    return `127.0.${1 + Math.floor(n / 254)}.${(n % 254) + 1}`;
  }

  private taskDetail(task: TaskRecord, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      cluster: task.cluster.name,
      service: task.service?.name,
      deploymentId: task.deployment?.id,
      taskArn: task.arn,
      taskDefinition: task.taskDef.arn,
      lastStatus: task.lastStatus,
      ...extra,
    };
  }

  private setStatus(task: TaskRecord, status: string, extra: Record<string, unknown> = {}): void {
    task.lastStatus = status;
    task.version += 1;
    this.store.event(`task.${status.toLowerCase()}`, this.taskDetail(task, extra));
  }

  // ---------------------------------------------------------------- starting

  private setPending(task: TaskRecord): void {
    if (task.desiredStatus !== 'RUNNING') return;
    task.connectivityAt = this.timers.now();
    task.pullStartedAt = this.timers.now();
    this.setStatus(task, 'PENDING');
    const pullMs = Math.max(...task.containers.map((c) => c.behaviour.pullMs ?? this.timers.timing.pullMs));
    this.timers.forTask(task, this.timers.phase(pullMs), () => this.afterPull(task));
  }

  private afterPull(task: TaskRecord): void {
    if (task.desiredStatus !== 'RUNNING') return;
    const unpullable = task.containers.find((c) => c.behaviour.start === 'pull-error');
    if (unpullable) {
      const reason =
        unpullable.behaviour.reason ??
        `CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref ${unpullable.image}: not found`;
      for (const c of task.containers) {
        c.lastStatus = 'STOPPED';
        if (c === unpullable) c.reason = reason;
      }
      this.stopTask(task, 'TaskFailedToStart', reason, { failure: true });
      return;
    }
    task.pullStoppedAt = this.timers.now();
    // `oneOff` says how the image runs as a one-off task (RunTask overrides the
    // command, e.g. a migration): it wins over how the server starts.
    const crashing = task.containers.find(
      (c) =>
        c.essential && c.behaviour.start === 'crash' && !(task.service === undefined && c.behaviour.oneOff),
    );
    if (crashing) {
      // The container starts, writes its lines, and exits: the task never serves.
      task.startedAt = this.timers.now();
      for (const c of task.containers) c.lastStatus = 'RUNNING';
      this.setStatus(task, 'RUNNING');
      this.writeLines(task, crashing, crashing.behaviour.logLines ?? [], CRASH_AT_START_MS * 0.8);
      this.timers.forTask(task, CRASH_AT_START_MS, () =>
        this.containerExited(task, crashing, crashing.behaviour.exitCode ?? 1, crashing.behaviour.reason),
      );
      return;
    }
    task.startedAt = this.timers.now();
    this.setRunning(task, false);
  }

  private setRunning(task: TaskRecord, steady: boolean): void {
    for (const c of task.containers) c.lastStatus = 'RUNNING';
    this.setStatus(task, 'RUNNING');
    if (!task.service) {
      this.runOneOff(task);
      return;
    }
    for (const c of task.containers) {
      if (c.behaviour.logLines?.length) this.writeLines(task, c, c.behaviour.logLines, 2000);
      if (c.behaviour.crashAfterMs !== undefined && c.essential) {
        this.timers.forTask(task, c.behaviour.crashAfterMs, () =>
          this.containerExited(task, c, c.behaviour.exitCode ?? 1, c.behaviour.reason),
        );
      }
    }
    this.targets.register(task, steady);
  }

  /**
   * The first time a service task is healthy, an image with
   * `crashAfterHealthyMs` arms its late crash: the container writes its crash
   * lines and exits, which stops the task (EssentialContainerExited) as any
   * essential container's exit does ("If the essential parameter of a container
   * is marked as true, and that container fails or stops for any reason, all
   * other containers that are part of the task are stopped":
   * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html).
   */
  private armLateCrash(task: TaskRecord): void {
    if (task.everHealthy) return;
    task.everHealthy = true;
    for (const c of task.containers) {
      const after = c.behaviour.crashAfterHealthyMs;
      if (after === undefined || !c.essential) continue;
      const lines = c.behaviour.crashLogLines ?? [];
      if (lines.length)
        this.timers.forTask(task, Math.max(0, after - 500), () => this.writeLines(task, c, lines, 400));
      this.timers.forTask(task, after, () =>
        this.containerExited(task, c, c.behaviour.exitCode ?? 1, c.behaviour.reason),
      );
    }
  }

  // ---------------------------------------------------------------- containers

  /**
   * A one-off task (RunTask): each container writes its lines over the run;
   * non-essential containers end halfway, essential ones together at the end,
   * each with its own exit code.
   */
  private runOneOff(task: TaskRecord): void {
    const lead = task.containers.find((c) => c.essential) ?? task.containers[0];
    const taskOneOff = lead.behaviour.oneOff ?? {};
    const duration = taskOneOff.durationMs ?? ONE_OFF_DEFAULT_MS;
    const outcome = (c: ContainerRecord) => {
      const oneOff = c.behaviour.oneOff ?? taskOneOff;
      const own = oneOff.containers?.[c.name] ?? taskOneOff.containers?.[c.name];
      return {
        lines: own?.logLines ?? oneOff.logLines ?? [],
        exitCode: own?.exitCode ?? oneOff.exitCode ?? 0,
        reason: own?.reason,
      };
    };
    for (const c of task.containers) {
      const { lines, exitCode, reason } = outcome(c);
      const ends = c.essential ? duration : Math.round(duration / 2);
      this.writeLines(task, c, lines, ends * 0.9);
      if (!c.essential)
        this.timers.forTask(task, ends, () => this.containerExited(task, c, exitCode, reason));
    }
    this.timers.forTask(task, duration, () => {
      for (const c of task.containers.filter((x) => x.essential)) {
        const { exitCode, reason } = outcome(c);
        this.recordExit(task, c, exitCode, reason);
      }
      this.stopTask(task, 'EssentialContainerExited', 'Essential container in task exited');
    });
  }

  /** Writes lines to the container's awslogs stream, spread over `spreadMs` from now. */
  private writeLines(task: TaskRecord, container: ContainerRecord, lines: string[], spreadMs: number): void {
    const log = container.def.logConfiguration;
    if (log?.logDriver !== 'awslogs' || !log.options?.['awslogs-group']) return;
    const group = log.options['awslogs-group'];
    const prefix = log.options['awslogs-stream-prefix'];
    const stream = prefix ? `${prefix}/${container.name}/${task.id}` : task.id;
    lines.forEach((line, i) => {
      const at = lines.length === 1 ? 0 : Math.round((spreadMs * i) / lines.length);
      this.timers.forTask(task, at, () => this.deps.logs.write(group, stream, line));
    });
  }

  private recordExit(task: TaskRecord, container: ContainerRecord, exitCode: number, reason?: string): void {
    container.lastStatus = 'STOPPED';
    container.exitCode = exitCode;
    if (reason) container.reason = reason;
    this.store.event('container.exited', this.taskDetail(task, { container: container.name, exitCode }));
  }

  /** A container exits on its own; an essential one stops its task (a service counts it as a failed task). */
  private containerExited(
    task: TaskRecord,
    container: ContainerRecord,
    exitCode: number,
    reason?: string,
  ): void {
    if (container.lastStatus === 'STOPPED') return;
    this.recordExit(task, container, exitCode, reason);
    if (task.desiredStatus !== 'RUNNING' || !container.essential) return;
    this.stopTask(task, 'EssentialContainerExited', 'Essential container in task exited', {
      failure: !!task.service || exitCode !== 0,
    });
  }

  // ---------------------------------------------------------------- stopping

  /**
   * Stops a task: DEACTIVATING while its targets drain (deregistration
   * delay), then STOPPING, then STOPPED.
   */
  stopTask(task: TaskRecord, stopCode: string, reason: string, opts: { failure?: boolean } = {}): void {
    if (task.desiredStatus === 'STOPPED') return;
    this.timers.cancelTimers(task);
    task.desiredStatus = 'STOPPED';
    task.stopCode = stopCode;
    task.stoppedReason = reason;
    task.stoppingAt = this.timers.now();
    task.healthy = false;
    task.version += 1;
    const service = task.service;
    if (opts.failure) this.deps.hooks.taskFailed(task);
    if (service) service.steady = false;
    this.store.event('task.stop-requested', this.taskDetail(task, { stopCode, stoppedReason: reason }));
    const draining = task.targets.filter((t) => t.targetGroup.targets.has(`${task.ip}:${t.port}`));
    if (draining.length === 0 || task.lastStatus !== 'RUNNING') {
      this.setStopping(task);
      return;
    }
    this.setStatus(task, 'DEACTIVATING');
    if (service)
      this.store.serviceEvent(
        service,
        `(service ${service.name}) has begun draining connections on 1 tasks.`,
      );
    let remaining = draining.length;
    for (const { targetGroup, port } of draining) {
      if (service)
        this.store.serviceEvent(
          service,
          `(service ${service.name}) deregistered 1 targets in (target-group ${targetGroup.arn})`,
        );
      this.deps.elb.deregister(targetGroup, task.ip, port, () => {
        remaining -= 1;
        if (remaining === 0) this.setStopping(task);
      });
    }
  }

  private setStopping(task: TaskRecord): void {
    // A task stopped before it had a network interface has nothing to tear down.
    const delay = task.lastStatus === 'PROVISIONING' ? 0 : this.timers.phase(this.timers.timing.stopMs);
    this.setStatus(task, 'STOPPING');
    this.timers.after(delay, () => this.setStopped(task));
  }

  private setStopped(task: TaskRecord): void {
    const now = this.timers.now();
    for (const c of task.containers) {
      if (c.lastStatus === 'RUNNING') {
        c.exitCode = SIGTERM_EXIT;
        c.lastStatus = 'STOPPED';
      } else if (c.lastStatus === 'PENDING') {
        c.lastStatus = 'STOPPED';
      }
    }
    task.executionStoppedAt = now;
    task.stoppedAt = now;
    this.setStatus(task, 'STOPPED', { stopCode: task.stopCode, stoppedReason: task.stoppedReason });
    if (task.service && task.stopCode === 'ServiceSchedulerInitiated' && task.startedAt) {
      this.store.serviceEvent(
        task.service,
        `(service ${task.service.name}) has stopped 1 running tasks: (task ${task.id}).`,
      );
    }
    this.store.retainStopped(task);
    if (task.service) this.deps.hooks.reconcile(task.service);
  }
}
