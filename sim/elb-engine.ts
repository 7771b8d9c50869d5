/**
 * ELBv2 state: load balancers, listeners and rules, target groups and the
 * health of their targets. Targets are registered and deregistered by the
 * ECS engine (as ECS does for services with load balancers); health checks
 * run on the simulated clock at each target group's interval, and a target
 * changes state after the healthy/unhealthy threshold of consecutive results.
 *
 * States, reason codes and descriptions follow TargetHealth in the API reference:
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetHealth.html
 */
import type { SimClock, SimRandom } from './clock.js';
import type {
  ImageBehaviour,
  ListenerRuleRef,
  LoadBalancerSpec,
  Scenario,
  TargetGroupSpec,
  WeightedTargetGroupSpec,
} from './scenario.js';

export type TargetState = 'initial' | 'healthy' | 'unhealthy' | 'draining' | 'unused';

export interface TargetRecord {
  id: string;
  port: number;
  state: TargetState;
  reason?: string;
  description?: string;
  registeredAt: number;
  /** The task behind the target (the ECS engine registers only task ENIs). */
  taskArn: string;
  taskDefinitionArn: string;
  image: string;
  serviceName?: string;
  containerName: string;
  behaviour: ImageBehaviour;
  successes: number;
  failures: number;
  cancel?: () => void;
}

export interface HealthCheckConfig {
  path: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  healthyThresholdCount: number;
  unhealthyThresholdCount: number;
  matcher: string;
}

export interface TargetGroupRecord {
  arn: string;
  name: string;
  port: number;
  protocol: 'HTTP' | 'HTTPS';
  targetType: 'ip' | 'instance';
  healthCheck: HealthCheckConfig;
  deregistrationDelaySeconds: number;
  loadBalancerArns: string[];
  targets: Map<string, TargetRecord>;
}

/** One target group of a forward action and its weight (0 to 999; ALB sends a group weight / total of the requests). */
export interface WeightedTargetGroup {
  targetGroupArn: string;
  weight: number;
}

export type ListenerAction =
  | { type: 'forward'; targetGroups: WeightedTargetGroup[] }
  | { type: 'fixed-response'; statusCode: number; body?: string; contentType?: string };

/** A listener's rule as ECS addresses it: a rule ARN, or the listener's default rule ARN. */
export interface RuleRef {
  listener: ListenerRecord;
  loadBalancer: LoadBalancerRecord;
  /** Undefined: the listener's default rule (its default action). */
  rule?: RuleRecord;
}

/** One request the ALB data plane answered (sim/alb.ts), for tests to prove where traffic went. */
export interface AlbRequestRecord {
  seq: number;
  /** Simulated epoch ms. */
  time: number;
  loadBalancer: string;
  listenerArn: string;
  listenerPort: number;
  /** The rule that matched (the default rule's ARN when none did). */
  ruleArn: string;
  method: string;
  path: string;
  status: number;
  targetGroupArn?: string;
  targetGroup?: string;
  taskArn?: string;
  taskDefinitionArn?: string;
  service?: string;
}

/** Requests kept in the data plane's log. */
const REQUEST_LOG_LIMIT = 20_000;

export interface RuleRecord {
  arn: string;
  priority: number;
  pathPatterns: string[];
  hostHeaders: string[];
  action: ListenerAction;
}

export interface ListenerRecord {
  arn: string;
  loadBalancerArn: string;
  port: number;
  protocol: 'HTTP' | 'HTTPS';
  defaultAction: ListenerAction;
  /** Non-default rules, lowest priority number first (the order ALB evaluates them). */
  rules: RuleRecord[];
  defaultRuleArn: string;
  /** The port on 127.0.0.1 the data plane serves this listener on, once it listens. */
  localPort?: number;
  /** The scenario's wish for that port (0 or absent: any free one). */
  httpPort?: number;
}

export interface LoadBalancerRecord {
  arn: string;
  name: string;
  /** "127.0.0.1:<port>" once the data plane listens (sim/alb.ts), else an AWS-style name. */
  dnsName: string;
  httpPort?: number;
  createdAt: Date;
  listeners: ListenerRecord[];
}

export type TargetHealthListener = (targetGroup: TargetGroupRecord, target: TargetRecord) => void;

const DESCRIPTIONS: Record<string, string> = {
  'Elb.RegistrationInProgress': 'Target registration is in progress',
  'Elb.InitialHealthChecking': 'Initial health checks in progress',
  'Target.Timeout': 'Request timed out',
  'Target.FailedHealthChecks': 'Health checks failed',
  'Target.DeregistrationInProgress': 'Target deregistration is in progress',
  'Target.NotRegistered': 'Target is not registered to the target group',
  'Target.NotInUse': 'Target group is not configured to receive traffic from the load balancer',
};

/** Whether an HTTP status matches an ALB matcher ("200", "200,302", "200-299"). */
function matcherAccepts(matcher: string, status: number): boolean {
  return matcher.split(',').some((part) => {
    const [lo, hi] = part.trim().split('-').map(Number);
    return hi === undefined ? status === lo : status >= lo && status <= hi;
  });
}

export class ElbEngine {
  readonly targetGroups = new Map<string, TargetGroupRecord>();
  readonly loadBalancers = new Map<string, LoadBalancerRecord>();
  private readonly healthListeners: TargetHealthListener[] = [];
  private readonly requestLog: AlbRequestRecord[] = [];
  private requestSeq = 0;

  constructor(
    private readonly clock: SimClock,
    private readonly random: SimRandom,
    private readonly region: string,
    private readonly accountId: string,
    private readonly registrationMs: number,
    private readonly event: (kind: string, detail: Record<string, unknown>) => void,
  ) {}

  load(scenario: Scenario): void {
    for (const spec of scenario.targetGroups ?? []) this.addTargetGroup(spec);
    for (const spec of scenario.loadBalancers ?? []) this.addLoadBalancer(spec);
  }

  onTargetHealth(listener: TargetHealthListener): void {
    this.healthListeners.push(listener);
  }

  private arn(resource: string): string {
    return `arn:aws:elasticloadbalancing:${this.region}:${this.accountId}:${resource}`;
  }

  private addTargetGroup(spec: TargetGroupSpec): void {
    const hc = spec.healthCheck ?? {};
    // Defaults of an ALB target group (CreateTargetGroup in the API reference).
    const tg: TargetGroupRecord = {
      arn: spec.arn ?? this.arn(`targetgroup/${spec.name}/${this.random.hex(16)}`),
      name: spec.name,
      port: spec.port,
      protocol: spec.protocol ?? 'HTTP',
      targetType: spec.targetType ?? 'ip',
      healthCheck: {
        path: hc.path ?? '/',
        intervalSeconds: hc.intervalSeconds ?? 30,
        timeoutSeconds: hc.timeoutSeconds ?? 5,
        healthyThresholdCount: hc.healthyThresholdCount ?? 5,
        unhealthyThresholdCount: hc.unhealthyThresholdCount ?? 2,
        matcher: hc.matcher ?? '200',
      },
      deregistrationDelaySeconds: spec.deregistrationDelaySeconds ?? 300,
      loadBalancerArns: [],
      targets: new Map(),
    };
    this.targetGroups.set(tg.arn, tg);
  }

  targetGroupByName(name: string): TargetGroupRecord | undefined {
    for (const tg of this.targetGroups.values()) if (tg.name === name) return tg;
    return undefined;
  }

  private action(
    lbName: string,
    targetGroup: string | undefined,
    fixed?: { statusCode: number; body?: string; contentType?: string },
    weighted?: WeightedTargetGroupSpec[],
  ): ListenerAction {
    if (weighted?.length) {
      return {
        type: 'forward',
        targetGroups: weighted.map((w) => {
          const tg = this.targetGroups.get(w.targetGroup) ?? this.targetGroupByName(w.targetGroup);
          if (!tg)
            throw new Error(
              `scenario: load balancer ${lbName} forwards to unknown target group ${w.targetGroup}`,
            );
          return { targetGroupArn: tg.arn, weight: w.weight };
        }),
      };
    }
    if (targetGroup) {
      const tg = this.targetGroupByName(targetGroup);
      if (!tg)
        throw new Error(`scenario: load balancer ${lbName} forwards to unknown target group ${targetGroup}`);
      return { type: 'forward', targetGroups: [{ targetGroupArn: tg.arn, weight: 1 }] };
    }
    return {
      type: 'fixed-response',
      statusCode: fixed?.statusCode ?? 404,
      body: fixed?.body,
      contentType: fixed?.contentType ?? 'text/plain',
    };
  }

  private addLoadBalancer(spec: LoadBalancerSpec): void {
    const lbId = spec.arn?.split('/').pop() ?? this.random.hex(16);
    const arn = spec.arn ?? this.arn(`loadbalancer/app/${spec.name}/${lbId}`);
    const lb: LoadBalancerRecord = {
      arn,
      name: spec.name,
      dnsName: `${spec.name}-${this.random.digits(10)}.${this.region}.elb.amazonaws.com`,
      httpPort: spec.httpPort,
      createdAt: new Date(this.clock.now()),
      listeners: [],
    };
    for (const ls of spec.listeners) {
      const listenerId = ls.arn?.split('/').pop() ?? this.random.hex(16);
      const listenerArn = ls.arn ?? this.arn(`listener/app/${spec.name}/${lbId}/${listenerId}`);
      const listener: ListenerRecord = {
        arn: listenerArn,
        loadBalancerArn: arn,
        port: ls.port,
        protocol: ls.protocol ?? 'HTTP',
        httpPort: ls.httpPort,
        defaultAction: this.action(
          spec.name,
          ls.defaultTargetGroup,
          ls.defaultFixedResponse,
          ls.defaultWeightedTargetGroups,
        ),
        defaultRuleArn:
          ls.defaultRuleArn ??
          this.arn(`listener-rule/app/${spec.name}/${lbId}/${listenerId}/${this.random.hex(16)}`),
        rules: [...(ls.rules ?? [])]
          .sort((a, b) => a.priority - b.priority)
          .map((rule) => ({
            arn:
              rule.arn ??
              this.arn(`listener-rule/app/${spec.name}/${lbId}/${listenerId}/${this.random.hex(16)}`),
            priority: rule.priority,
            pathPatterns: rule.pathPatterns ?? [],
            hostHeaders: rule.hostHeaders ?? [],
            action: this.action(spec.name, rule.targetGroup, undefined, rule.weightedTargetGroups),
          })),
      };
      lb.listeners.push(listener);
      for (const action of [listener.defaultAction, ...listener.rules.map((r) => r.action)]) {
        if (action.type !== 'forward') continue;
        for (const { targetGroupArn } of action.targetGroups) this.associate(targetGroupArn, arn);
      }
    }
    this.loadBalancers.set(arn, lb);
  }

  private associate(targetGroupArn: string, loadBalancerArn: string): void {
    const tg = this.targetGroups.get(targetGroupArn);
    if (tg && !tg.loadBalancerArns.includes(loadBalancerArn)) tg.loadBalancerArns.push(loadBalancerArn);
  }

  /** A scenario's rule reference (an ARN, or load balancer, listener port and priority) as the rule's ARN. */
  ruleArnOf(ref: ListenerRuleRef): string {
    if (typeof ref === 'string') {
      if (!this.findRule(ref)) throw new Error(`scenario: no listener rule ${ref}`);
      return ref;
    }
    const lb = [...this.loadBalancers.values()].find((l) => l.name === ref.loadBalancer);
    const listener = lb?.listeners.find((l) => l.port === ref.port);
    if (!listener)
      throw new Error(`scenario: no listener on port ${ref.port} of load balancer ${ref.loadBalancer}`);
    if (ref.priority === undefined) return listener.defaultRuleArn;
    const rule = listener.rules.find((r) => r.priority === ref.priority);
    if (!rule)
      throw new Error(`scenario: no rule of priority ${ref.priority} on ${ref.loadBalancer}:${ref.port}`);
    return rule.arn;
  }

  /** The rule an ARN names: a listener rule, or a listener's default rule. */
  findRule(ruleArn: string): RuleRef | undefined {
    for (const loadBalancer of this.loadBalancers.values()) {
      for (const listener of loadBalancer.listeners) {
        if (listener.defaultRuleArn === ruleArn) return { listener, loadBalancer };
        const rule = listener.rules.find((r) => r.arn === ruleArn);
        if (rule) return { listener, loadBalancer, rule };
      }
    }
    return undefined;
  }

  /** The action a rule (or a listener's default rule) takes. */
  actionOf(ref: RuleRef): ListenerAction {
    return ref.rule ? ref.rule.action : ref.listener.defaultAction;
  }

  /**
   * ModifyRule / ModifyListener as ECS calls them while it shifts traffic: the
   * rule forwards to these target groups with these weights.
   */
  setForward(ref: RuleRef, targetGroups: WeightedTargetGroup[], by: string): void {
    const action: ListenerAction = { type: 'forward', targetGroups: targetGroups.map((t) => ({ ...t })) };
    if (ref.rule) ref.rule.action = action;
    else ref.listener.defaultAction = action;
    for (const { targetGroupArn } of targetGroups) this.associate(targetGroupArn, ref.loadBalancer.arn);
    this.event('elb.rule.modified', {
      ruleArn: ref.rule?.arn ?? ref.listener.defaultRuleArn,
      listenerArn: ref.listener.arn,
      isDefault: ref.rule === undefined,
      weights: targetGroups.map((t) => ({
        targetGroup: this.targetGroups.get(t.targetGroupArn)?.name,
        weight: t.weight,
      })),
      by,
    });
  }

  /** Records a request the data plane answered (bounded log). */
  recordRequest(request: Omit<AlbRequestRecord, 'seq' | 'time'>): void {
    this.requestLog.push({ seq: ++this.requestSeq, time: this.clock.now(), ...request });
    if (this.requestLog.length > REQUEST_LOG_LIMIT)
      this.requestLog.splice(0, this.requestLog.length - REQUEST_LOG_LIMIT);
  }

  /** Requests with seq greater than `since`. */
  requests(since = 0): AlbRequestRecord[] {
    return this.requestLog.filter((r) => r.seq > since);
  }

  private setState(
    tg: TargetGroupRecord,
    target: TargetRecord,
    state: TargetState,
    reason?: string,
    description?: string,
  ) {
    const changed = target.state !== state || target.reason !== reason;
    target.state = state;
    target.reason = reason;
    target.description = reason ? (description ?? DESCRIPTIONS[reason]) : undefined;
    if (!changed) return;
    this.event('target.health', {
      targetGroupArn: tg.arn,
      targetGroup: tg.name,
      id: target.id,
      port: target.port,
      state,
      reason,
      taskArn: target.taskArn,
      service: target.serviceName,
      taskDefinition: target.taskDefinitionArn,
    });
    for (const listener of this.healthListeners) listener(tg, target);
  }

  /**
   * Registers a target. `healthy: true` starts it healthy (a scenario's
   * services are loaded already steady); otherwise it goes through
   * registration and initial health checks.
   */
  register(
    tg: TargetGroupRecord,
    info: Omit<TargetRecord, 'state' | 'registeredAt' | 'successes' | 'failures' | 'reason' | 'description'>,
    healthy = false,
  ): TargetRecord {
    const target: TargetRecord = {
      ...info,
      state: 'initial',
      registeredAt: this.clock.now(),
      successes: 0,
      failures: 0,
    };
    tg.targets.set(`${target.id}:${target.port}`, target);
    if (healthy) {
      this.setState(tg, target, 'healthy');
      this.scheduleCheck(tg, target);
    } else if (tg.loadBalancerArns.length === 0) {
      this.setState(tg, target, 'unused', 'Target.NotInUse');
    } else {
      this.setState(tg, target, 'initial', 'Elb.RegistrationInProgress');
      target.cancel = this.clock.after(this.random.jitter(this.registrationMs, 0.2), () => {
        this.setState(tg, target, 'initial', 'Elb.InitialHealthChecking');
        this.check(tg, target);
      });
    }
    return target;
  }

  private scheduleCheck(tg: TargetGroupRecord, target: TargetRecord): void {
    target.cancel = this.clock.after(tg.healthCheck.intervalSeconds * 1000, () => this.check(tg, target));
  }

  /** One health check: the image's behaviour decides the response. */
  private check(tg: TargetGroupRecord, target: TargetRecord): void {
    if (target.state === 'draining') return;
    const { behaviour } = target;
    const hc = tg.healthCheck;
    let failure: { reason: string; description?: string } | undefined;
    if (behaviour.health === 'timeout') {
      failure = { reason: 'Target.Timeout' };
    } else {
      const status = behaviour.health === 'unhealthy' ? (behaviour.healthStatus ?? 500) : 200;
      if (!matcherAccepts(hc.matcher, status)) {
        failure = {
          reason: 'Target.ResponseCodeMismatch',
          description: `Health checks failed with these codes: [${status}]`,
        };
      }
    }
    if (failure) {
      target.failures += 1;
      target.successes = 0;
      if (target.failures >= hc.unhealthyThresholdCount && target.state !== 'unhealthy') {
        this.setState(tg, target, 'unhealthy', failure.reason, failure.description);
      }
    } else {
      target.successes += 1;
      target.failures = 0;
      if (target.successes >= hc.healthyThresholdCount && target.state !== 'healthy') {
        this.setState(tg, target, 'healthy');
      }
    }
    this.scheduleCheck(tg, target);
  }

  /**
   * Deregisters a target: it drains for the target group's deregistration
   * delay, then disappears; `onDrained` runs then.
   */
  deregister(tg: TargetGroupRecord, id: string, port: number, onDrained: () => void): void {
    const key = `${id}:${port}`;
    const target = tg.targets.get(key);
    if (!target || target.state === 'draining') return;
    target.cancel?.();
    this.setState(tg, target, 'draining', 'Target.DeregistrationInProgress');
    this.clock.after(tg.deregistrationDelaySeconds * 1000, () => {
      tg.targets.delete(key);
      this.event('target.deregistered', {
        targetGroupArn: tg.arn,
        targetGroup: tg.name,
        id,
        port,
        taskArn: target.taskArn,
        service: target.serviceName,
      });
      onDrained();
    });
  }
}
