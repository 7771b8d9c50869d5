/**
 * One simulated AWS account loaded from a scenario: the clock, the engines
 * (ECS, ELBv2, CloudWatch Logs), the ground-truth event log, and the API
 * services the HTTP front routes to. Loading a scenario or resetting makes a
 * new World; the old one's timers stop.
 */
import { SimClock, SimRandom } from './clock.js';
import { EcsEngine } from './ecs/engine.js';
import type { ClusterRecord } from './ecs/records.js';
import { DEFAULT_TIMING } from './ecs/timers.js';
import { ElbEngine } from './elb-engine.js';
import { LogsStore } from './logs-store.js';
import { CALL_GATES, SERVICES } from './registry.js';
import type { Scenario } from './scenario.js';
import type { CallGate, SimContext, SimService } from './service.js';

export interface SimEvent {
  seq: number;
  kind: string;
  /** Simulated time, ISO 8601. */
  simTime: string;
  /** Real (wall-clock) time, ISO 8601. */
  realTime: string;
  /** Real epoch milliseconds, for measuring detection delays. */
  realMs: number;
  detail: Record<string, unknown>;
}

/** Event and call logs keep this many entries (memory stays bounded on long runs). */
export const LOG_LIMIT = 20_000;

export class World {
  readonly clock: SimClock;
  readonly random: SimRandom;
  readonly elb: ElbEngine;
  readonly ecs: EcsEngine;
  readonly logs: LogsStore;
  readonly services: SimService[];
  readonly gates: CallGate[];
  readonly region: string;
  readonly accountId: string;
  private readonly eventLog: SimEvent[] = [];
  private eventSeq = 0;

  constructor(
    readonly scenario: Scenario,
    speed: number,
    /** Simulated epoch ms to start from: a reload continues the previous clock, time never runs backwards. */
    startSim = Date.now(),
  ) {
    this.region = scenario.region ?? 'us-east-1';
    this.accountId = scenario.accountId ?? '123456789012';
    this.clock = new SimClock(speed, Math.max(startSim, Date.now()));
    this.random = new SimRandom(scenario.seed ?? 1);
    const timing = { ...DEFAULT_TIMING, ...scenario.timing };
    const event = (kind: string, detail: Record<string, unknown>) => this.event(kind, detail);
    this.logs = new LogsStore(() => this.clock.now());
    this.elb = new ElbEngine(
      this.clock,
      this.random,
      this.region,
      this.accountId,
      timing.registrationMs,
      event,
    );
    this.elb.load(scenario);
    this.ecs = new EcsEngine({
      clock: this.clock,
      random: this.random,
      region: this.region,
      accountId: this.accountId,
      timing,
      elb: this.elb,
      logs: this.logs,
      images: scenario.images ?? {},
      event,
    });
    const ctx: SimContext = {
      region: this.region,
      accountId: this.accountId,
      scenario,
      now: () => this.clock.now(),
      event,
    };
    try {
      this.ecs.load(scenario);
      const parts = { ...ctx, ecs: this.ecs, elb: this.elb, logs: this.logs };
      this.services = SERVICES.map((make) => make(parts));
      this.gates = CALL_GATES.map((make) => make(parts));
    } catch (err) {
      // A scenario that does not load leaves no timer behind.
      this.clock.stop();
      throw err;
    }
  }

  event(kind: string, detail: Record<string, unknown>): void {
    const realMs = Date.now();
    this.eventLog.push({
      seq: ++this.eventSeq,
      kind,
      simTime: new Date(this.clock.now()).toISOString(),
      realTime: new Date(realMs).toISOString(),
      realMs,
      detail,
    });
    if (this.eventLog.length > LOG_LIMIT) this.eventLog.splice(0, this.eventLog.length - LOG_LIMIT);
  }

  /** Events with seq greater than `since`. */
  events(since = 0): SimEvent[] {
    return this.eventLog.filter((e) => e.seq > since);
  }

  /** A JSON-friendly snapshot of the whole account, for tests and debugging. */
  state(): Record<string, unknown> {
    const clusters = [...this.ecs.clusters.values()].map(clusterState);
    const taskDefinitions = [...this.ecs.taskDefinitions.values()]
      .flat()
      .map((td) => ({ arn: td.arn, status: td.status }));
    const targetGroups = [...this.elb.targetGroups.values()].map((tg) => ({
      name: tg.name,
      arn: tg.arn,
      targets: [...tg.targets.values()].map((t) => ({
        id: t.id,
        port: t.port,
        state: t.state,
        reason: t.reason,
        taskArn: t.taskArn,
        taskDefinitionArn: t.taskDefinitionArn,
      })),
    }));
    const loadBalancers = [...this.elb.loadBalancers.values()].map((lb) => ({
      name: lb.name,
      arn: lb.arn,
      dnsName: lb.dnsName,
    }));
    const logGroups = [...this.logs.groups.values()].map((g) => ({
      name: g.name,
      streams: [...g.streams.values()].map((s) => ({ name: s.name, events: s.events.length })),
    }));
    const { rss, heapUsed } = process.memoryUsage();
    return {
      now: new Date(this.clock.now()).toISOString(),
      speed: this.clock.speed,
      memory: { rssMB: Math.round(rss / 1e6), heapUsedMB: Math.round(heapUsed / 1e6) },
      clusters,
      taskDefinitions,
      targetGroups,
      loadBalancers,
      logGroups,
      // What a loaded cloud assembly holds that the simulator does not model (sim/assembly).
      unmodelled: this.scenario.unmodelled ?? [],
    };
  }

  close(): void {
    this.clock.stop();
  }
}

/** One cluster in GET /_sim/state: its services with their deployments and events, and its tasks. */
function clusterState(c: ClusterRecord): Record<string, unknown> {
  return {
    name: c.name,
    arn: c.arn,
    services: [...c.services.values()].map((s) => ({
      name: s.name,
      arn: s.arn,
      status: s.status,
      desiredCount: s.desiredCount,
      taskDefinition: s.taskDefinitionArn,
      steady: s.steady,
      deployments: s.deployments.map((d) => ({
        id: d.id,
        status: d.status,
        taskDefinition: d.taskDefinitionArn,
        rolloutState: d.rolloutState,
        rolloutStateReason: d.rolloutStateReason,
        failedTasks: d.failedTasks,
        serviceDeployment: d.serviceDeployment?.arn,
      })),
      serviceDeployments: s.serviceDeployments.map((sd) => ({
        arn: sd.arn,
        status: sd.status,
        statusReason: sd.statusReason,
      })),
      events: s.events.slice(0, 20).map((e) => e.message),
    })),
    tasks: [...c.tasks.values()].map((t) => ({
      arn: t.arn,
      service: t.service?.name,
      deployment: t.deployment?.id,
      taskDefinition: t.taskDef.arn,
      lastStatus: t.lastStatus,
      desiredStatus: t.desiredStatus,
      ip: t.ip,
      healthy: t.healthy,
      stopCode: t.stopCode,
      stoppedReason: t.stoppedReason,
      containers: t.containers.map((x) => ({
        name: x.name,
        image: x.image,
        lastStatus: x.lastStatus,
        exitCode: x.exitCode,
      })),
    })),
  };
}
