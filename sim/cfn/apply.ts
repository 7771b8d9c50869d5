/**
 * A change set applied to the running world, as AWS would apply it: the
 * stacks are mapped before and after (remap.ts) and the difference goes to
 * the engines through their own entry points. A target group's health check
 * and deregistration delay change on the record the health checker reads at
 * each check; listener rules and default actions are rebuilt; a task
 * definition is registered as a new revision; an ECS service is created,
 * updated (a new task definition, network or load balancers start a
 * deployment, EcsEngine.updateService) or deleted; IAM roles and policies
 * replace the account's (IamAccount.replaceSpec drops the cached decisions);
 * log groups are created and deleted. Everything else is not applied, and
 * the stack events say so (notApplied).
 *
 * Validation happens before anything is applied, with the service's own
 * rules and words (ELBv2 CreateTargetGroup/ModifyTargetGroup), so a failing
 * resource leaves the world as it was.
 */
import type { EcsEngine } from '../ecs/engine.js';
import type { ServiceLoadBalancer } from '../ecs/records.js';
import type { ElbEngine, ListenerAction, ListenerRecord } from '../elb-engine.js';
import type { IamAccount } from '../iam/account.js';
import type { IamSpec } from '../iam/model.js';
import type { LogsStore } from '../logs-store.js';
import type {
  ListenerSpec,
  LoadBalancerSpec,
  Scenario,
  ServiceSpec,
  TargetGroupSpec,
  WeightedTargetGroupSpec,
} from '../scenario.js';
import { AwsError } from '../service.js';
import type { ResourceChange } from './changes.js';
import type { Remapped } from './remap.js';

export interface WorldEngines {
  ecs: EcsEngine;
  elb: ElbEngine;
  logs: LogsStore;
  iam: IamAccount;
}

/** A resource CloudFormation's handler would refuse, with the service's message. */
export interface ResourceFailure {
  logicalId: string;
  reason: string;
}

/** Types whose changes reach the simulated world. */
const APPLIED_TYPES = new Set([
  'AWS::ElasticLoadBalancingV2::TargetGroup',
  'AWS::ElasticLoadBalancingV2::LoadBalancer',
  'AWS::ElasticLoadBalancingV2::Listener',
  'AWS::ElasticLoadBalancingV2::ListenerRule',
  'AWS::ECS::TaskDefinition',
  'AWS::ECS::Service',
  'AWS::ECS::Cluster',
  'AWS::IAM::Role',
  'AWS::IAM::Policy',
  'AWS::IAM::ManagedPolicy',
  'AWS::IAM::OIDCProvider',
  'AWS::Logs::LogGroup',
]);

/**
 * Why a change does not reach the simulated world (undefined: it does). Said in
 * the resource's stack event, never silently "applied".
 */
export function notApplied(change: ResourceChange, unmodelledReason?: string): string | undefined {
  const type = change.ResourceType;
  if (!APPLIED_TYPES.has(type))
    return `Not modelled by the simulator: ${type} is recorded in the stack, the simulated world does not change${unmodelledReason ? ` (${unmodelledReason})` : ''}`;
  if (type === 'AWS::ECS::Cluster' && change.Action !== 'Add')
    return 'Not modelled by the simulator: a cluster is created, its later changes and its deletion are not applied';
  if (type === 'AWS::Logs::LogGroup' && change.Action === 'Modify')
    return 'Not modelled by the simulator: log group settings (retention, KMS key, class) are not applied';
  if (unmodelledReason) return `Partly modelled by the simulator: ${unmodelledReason}`;
  return undefined;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** ELBv2's own checks of a target group's health check (CreateTargetGroup / ModifyTargetGroup). */
export function targetGroupProblem(spec: TargetGroupSpec): string | undefined {
  const hc = spec.healthCheck ?? {};
  const range = (value: number | undefined, field: string, min: number, max: number) => {
    if (value === undefined) return undefined;
    if (value < min)
      return `1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: Member must have value greater than or equal to ${min}`;
    if (value > max)
      return `1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: Member must have value less than or equal to ${max}`;
    return undefined;
  };
  const problem =
    range(hc.intervalSeconds, 'healthCheckIntervalSeconds', 5, 300) ??
    range(hc.timeoutSeconds, 'healthCheckTimeoutSeconds', 2, 120) ??
    range(hc.healthyThresholdCount, 'healthyThresholdCount', 2, 10) ??
    range(hc.unhealthyThresholdCount, 'unhealthyThresholdCount', 2, 10);
  if (problem) return problem;
  // An ALB target group's defaults: interval 30, timeout 5.
  if ((hc.intervalSeconds ?? 30) <= (hc.timeoutSeconds ?? 5))
    return 'Health check interval must be greater than the timeout.';
  return undefined;
}

/** CloudFormation's words for a handler's refusal (Cloud Control resource handlers). */
export function handlerMessage(message: string, service: string, requestId: string, token: string): string {
  return `Resource handler returned message: "${message} (Service: ${service}, Status Code: 400, Request ID: ${requestId})" (RequestToken: ${token}, HandlerErrorCode: InvalidRequest)`;
}

export class WorldApplier {
  constructor(
    private readonly engines: WorldEngines,
    /** "<stack>/<logicalId>" of each deployed task definition → the revision the engine registered. */
    readonly taskDefinitionArns: Map<string, string>,
  ) {}

  /** The first resource of `changes` (in `stack`) the service would refuse. */
  validate(next: Remapped, stack: string, changes: ResourceChange[]): ResourceFailure | undefined {
    const resolved = next.stacks.get(stack);
    for (const change of changes) {
      if (change.Action === 'Remove') continue;
      if (change.ResourceType === 'AWS::ElasticLoadBalancingV2::TargetGroup') {
        const arn = resolved?.resources.get(change.LogicalResourceId)?.physicalId;
        const spec = next.scenario.targetGroups?.find((tg) => tg.arn === arn);
        const problem = spec && targetGroupProblem(spec);
        if (problem) return { logicalId: change.LogicalResourceId, reason: problem };
      }
    }
    return undefined;
  }

  /** Records the task definitions a loaded world registered (the loader's revisions are the engine's). */
  adoptLoaded(current: Remapped): void {
    for (const { stack, logicalId } of current.taskDefinitionOrder) {
      const arn = current.stacks.get(stack)?.resources.get(logicalId)?.physicalId;
      if (arn && this.engines.ecs.findTaskDefinition(arn))
        this.taskDefinitionArns.set(`${stack}/${logicalId}`, arn);
    }
  }

  /**
   * Applies `stack`'s changes: `prev` and `next` are every deployed stack mapped before and
   * after. Returns the task-definition revisions the update made obsolete (deregistered at
   * cleanup, as CloudFormation deletes a replaced resource's old physical id last).
   * Throws AwsError (with the logical id in `failedLogicalId`) when an engine refuses; then
   * nothing of this update stays applied.
   */
  apply(prev: Remapped, next: Remapped, stack: string, changes: ResourceChange[]): { obsolete: string[] } {
    const { ecs, elb } = this.engines;
    const before = new Map(this.taskDefinitionArns);
    const registered: string[] = [];
    const obsolete: string[] = [];
    // 1. Task definitions: a new revision for each added or replaced one.
    next.taskDefinitionOrder.forEach(({ stack: s, logicalId }, i) => {
      const key = `${s}/${logicalId}`;
      const change =
        s === stack
          ? changes.find((c) => c.LogicalResourceId === logicalId && c.Action !== 'Remove')
          : undefined;
      if (!change && this.taskDefinitionArns.has(key)) return;
      const { tags, ...request } = next.scenario.taskDefinitions[i] as {
        tags?: { key: string; value: string }[];
      } & Record<string, unknown>;
      try {
        const td = ecs.registerTaskDefinition(request, tags ?? []);
        registered.push(td.arn);
        const old = this.taskDefinitionArns.get(key);
        if (old) obsolete.push(old);
        this.taskDefinitionArns.set(key, td.arn);
      } catch (err) {
        for (const arn of registered) {
          const td = ecs.findTaskDefinition(arn);
          if (td) ecs.deregisterTaskDefinition(td);
        }
        this.taskDefinitionArns.clear();
        for (const [k, v] of before) this.taskDefinitionArns.set(k, v);
        throw Object.assign(err as Error, { failedLogicalId: logicalId });
      }
    });
    for (const change of changes) {
      if (change.Action === 'Remove' && change.ResourceType === 'AWS::ECS::TaskDefinition') {
        const key = `${stack}/${change.LogicalResourceId}`;
        const arn = this.taskDefinitionArns.get(key);
        if (arn) obsolete.push(arn);
        this.taskDefinitionArns.delete(key);
      }
    }
    // 2. Clusters, then target groups and load balancers, then services (they name both).
    for (const cluster of next.scenario.clusters) {
      if (!ecs.clusters.has(cluster.name)) ecs.addCluster(cluster);
    }
    this.applyTargetGroups(prev.scenario.targetGroups ?? [], next.scenario.targetGroups ?? []);
    this.applyLoadBalancers(prev.scenario.loadBalancers ?? [], next.scenario.loadBalancers ?? []);
    this.applyServices(prev, next, before);
    this.applyIam(prev.scenario.iam, next.scenario.iam);
    this.applyLogGroups(prev.scenario, next.scenario);
    // Target groups no longer in any stack go once nothing is registered in them.
    for (const tg of prev.scenario.targetGroups ?? []) {
      if (next.scenario.targetGroups?.some((n) => n.arn === tg.arn)) continue;
      const record = tg.arn ? elb.targetGroups.get(tg.arn) : undefined;
      if (record && record.targets.size === 0) elb.targetGroups.delete(record.arn);
    }
    return { obsolete };
  }

  /** Deregisters the revisions an update or a deletion made obsolete. */
  cleanUp(obsolete: string[]): void {
    for (const arn of obsolete) {
      const td = this.engines.ecs.findTaskDefinition(arn);
      if (td && td.status === 'ACTIVE') this.engines.ecs.deregisterTaskDefinition(td);
    }
  }

  private applyTargetGroups(prev: TargetGroupSpec[], next: TargetGroupSpec[]): void {
    const { elb } = this.engines;
    for (const spec of next) {
      const record = spec.arn ? elb.targetGroups.get(spec.arn) : undefined;
      if (!record) {
        elb.load({ clusters: [], taskDefinitions: [], targetGroups: [spec] });
        continue;
      }
      const old = prev.find((p) => p.arn === spec.arn);
      if (old && same(old, spec)) continue;
      const hc = spec.healthCheck ?? {};
      // ELB's defaults for what the template leaves out (CreateTargetGroup).
      record.healthCheck = {
        path: hc.path ?? '/',
        intervalSeconds: hc.intervalSeconds ?? 30,
        timeoutSeconds: hc.timeoutSeconds ?? 5,
        healthyThresholdCount: hc.healthyThresholdCount ?? 5,
        unhealthyThresholdCount: hc.unhealthyThresholdCount ?? 2,
        matcher: hc.matcher ?? '200',
      };
      record.deregistrationDelaySeconds = spec.deregistrationDelaySeconds ?? 300;
      record.port = spec.port;
      record.protocol = spec.protocol ?? 'HTTP';
    }
  }

  private action(
    forward: string | undefined,
    weighted: WeightedTargetGroupSpec[] | undefined,
    fixed?: ListenerSpec['defaultFixedResponse'],
  ): ListenerAction {
    const { elb } = this.engines;
    const arnOf = (ref: string) => {
      const tg = elb.targetGroups.get(ref) ?? elb.targetGroupByName(ref);
      if (!tg) throw new AwsError('TargetGroupNotFound', `One or more target groups not found`);
      return tg.arn;
    };
    if (weighted?.length)
      return {
        type: 'forward',
        targetGroups: weighted.map((w) => ({ targetGroupArn: arnOf(w.targetGroup), weight: w.weight })),
      };
    if (forward) return { type: 'forward', targetGroups: [{ targetGroupArn: arnOf(forward), weight: 1 }] };
    return {
      type: 'fixed-response',
      statusCode: fixed?.statusCode ?? 404,
      body: fixed?.body,
      contentType: fixed?.contentType ?? 'text/plain',
    };
  }

  private applyLoadBalancers(prev: LoadBalancerSpec[], next: LoadBalancerSpec[]): void {
    const { elb } = this.engines;
    for (const spec of next) {
      const record = spec.arn ? elb.loadBalancers.get(spec.arn) : undefined;
      if (!record) {
        elb.load({ clusters: [], taskDefinitions: [], loadBalancers: [spec] });
        continue;
      }
      const old = prev.find((p) => p.arn === spec.arn);
      if (old && same(old, spec)) continue;
      const listeners: ListenerRecord[] = [];
      for (const ls of spec.listeners) {
        const existing = record.listeners.find((l) => l.arn === ls.arn);
        const listener: ListenerRecord = existing ?? {
          arn: ls.arn!,
          loadBalancerArn: record.arn,
          port: ls.port,
          protocol: ls.protocol ?? 'HTTP',
          httpPort: ls.httpPort,
          defaultAction: this.action(undefined, undefined),
          rules: [],
          defaultRuleArn: ls.defaultRuleArn ?? `${ls.arn}/default`,
        };
        const oldListener = old?.listeners.find((l) => l.arn === ls.arn);
        // ECS moves weights on blue/green rules; CloudFormation sets what the template says only when it changed.
        if (!oldListener || !same(oldListener, ls)) {
          listener.defaultAction = this.action(
            ls.defaultTargetGroup,
            ls.defaultWeightedTargetGroups,
            ls.defaultFixedResponse,
          );
          listener.rules = (ls.rules ?? []).map((rule) => ({
            arn: rule.arn!,
            priority: rule.priority,
            pathPatterns: rule.pathPatterns ?? [],
            hostHeaders: rule.hostHeaders ?? [],
            action: this.action(rule.targetGroup, rule.weightedTargetGroups),
          }));
          listener.rules.sort((a, b) => a.priority - b.priority);
          for (const action of [listener.defaultAction, ...listener.rules.map((r) => r.action)]) {
            if (action.type !== 'forward') continue;
            for (const { targetGroupArn } of action.targetGroups) {
              const tg = elb.targetGroups.get(targetGroupArn);
              if (tg && !tg.loadBalancerArns.includes(record.arn)) tg.loadBalancerArns.push(record.arn);
            }
          }
        }
        listeners.push(listener);
      }
      record.listeners.splice(0, record.listeners.length, ...listeners);
    }
    for (const spec of prev) {
      if (!next.some((n) => n.arn === spec.arn) && spec.arn) elb.loadBalancers.delete(spec.arn);
    }
  }

  /** A service spec as the engine takes it: its task definition the engine's revision. */
  private engineService(spec: ServiceSpec, remapped: Remapped, arns: Map<string, string>): ServiceSpec {
    const loaderArn = `task-definition/${spec.taskDefinition}`;
    for (const [name, stack] of remapped.stacks) {
      for (const resource of stack.resources.values()) {
        if (resource.type !== 'AWS::ECS::TaskDefinition' || !resource.physicalId.endsWith(loaderArn))
          continue;
        const arn = arns.get(`${name}/${resource.logicalId}`);
        if (arn) return { ...spec, taskDefinition: arn };
      }
    }
    return spec;
  }

  private loadBalancersOf(spec: ServiceSpec): ServiceLoadBalancer[] {
    const { elb } = this.engines;
    const arnOf = (ref: string) => (elb.targetGroups.get(ref) ?? elb.targetGroupByName(ref))?.arn ?? ref;
    return (spec.loadBalancers ?? []).map((lb) => ({
      targetGroupArn: arnOf(lb.targetGroup),
      containerName: lb.containerName,
      containerPort: lb.containerPort,
      ...(lb.advancedConfiguration
        ? {
            advancedConfiguration: {
              alternateTargetGroupArn: arnOf(lb.advancedConfiguration.alternateTargetGroup),
              productionListenerRule:
                lb.advancedConfiguration.productionListenerRule &&
                elb.ruleArnOf(lb.advancedConfiguration.productionListenerRule),
              testListenerRule:
                lb.advancedConfiguration.testListenerRule &&
                elb.ruleArnOf(lb.advancedConfiguration.testListenerRule),
              roleArn: lb.advancedConfiguration.roleArn,
            },
          }
        : {}),
    }));
  }

  private applyServices(prev: Remapped, next: Remapped, prevArns: Map<string, string>): void {
    const { ecs } = this.engines;
    const key = (s: ServiceSpec) => `${s.cluster}/${s.name}`;
    const olds = new Map(
      (prev.scenario.services ?? []).map((s) => [key(s), this.engineService(s, prev, prevArns)]),
    );
    for (const raw of next.scenario.services ?? []) {
      const spec = this.engineService(raw, next, this.taskDefinitionArns);
      const old = olds.get(key(spec));
      const cluster = ecs.clusters.get(spec.cluster);
      if (!cluster) throw new AwsError('ClusterNotFoundException', 'Cluster not found.');
      const record = cluster.services.get(spec.name);
      if (!record || record.status !== 'ACTIVE') {
        ecs.createService(cluster, {
          name: spec.name,
          taskDefinition: spec.taskDefinition,
          desiredCount: spec.desiredCount,
          launchType: spec.capacityProviderStrategy ? undefined : (spec.launchType ?? 'FARGATE'),
          capacityProviderStrategy: spec.capacityProviderStrategy,
          loadBalancers: this.loadBalancersOf(spec),
          networkConfiguration: spec.networkConfiguration,
          deploymentConfiguration: spec.deploymentConfiguration,
          healthCheckGracePeriodSeconds: spec.healthCheckGracePeriodSeconds,
          serviceDeployments: spec.serviceDeployments ?? true,
          tags: spec.tags ?? [],
          propagateTags: spec.propagateTags,
          enableECSManagedTags: spec.enableECSManagedTags,
        });
        ecs.reconcile(cluster.services.get(spec.name)!);
        continue;
      }
      if (old && same(old, spec)) continue;
      const td = ecs.findTaskDefinition(spec.taskDefinition);
      ecs.updateService(record, {
        ...(td && td.arn !== record.taskDefinitionArn ? { taskDefinition: td } : {}),
        ...(old?.desiredCount !== spec.desiredCount ? { desiredCount: spec.desiredCount } : {}),
        ...(!same(old?.deploymentConfiguration, spec.deploymentConfiguration) && spec.deploymentConfiguration
          ? { deploymentConfiguration: spec.deploymentConfiguration }
          : {}),
        ...(!same(old?.networkConfiguration, spec.networkConfiguration) && spec.networkConfiguration
          ? { networkConfiguration: spec.networkConfiguration }
          : {}),
        ...(spec.healthCheckGracePeriodSeconds !== old?.healthCheckGracePeriodSeconds &&
        spec.healthCheckGracePeriodSeconds !== undefined
          ? { healthCheckGracePeriodSeconds: spec.healthCheckGracePeriodSeconds }
          : {}),
        ...(!same(old?.loadBalancers, spec.loadBalancers)
          ? { loadBalancers: this.loadBalancersOf(spec) }
          : {}),
      });
    }
    for (const [k, old] of olds) {
      if ((next.scenario.services ?? []).some((s) => key(s) === k)) continue;
      const record = ecs.clusters.get(old.cluster)?.services.get(old.name);
      if (record && record.status === 'ACTIVE') ecs.deleteService(record);
    }
  }

  /** The account's IAM with the stacks' roles, policies and providers as `next` has them; others stay. */
  private applyIam(prev: IamSpec | undefined, next: IamSpec | undefined): void {
    const { iam } = this.engines;
    if (!iam.spec || same(prev, next)) return;
    const merge = <T extends { arn: string }>(
      current: T[] | undefined,
      before: T[] | undefined,
      after: T[] | undefined,
    ) => {
      const managed = new Set([...(before ?? []), ...(after ?? [])].map((x) => x.arn));
      return [...(current ?? []).filter((x) => !managed.has(x.arn)), ...(after ?? [])];
    };
    iam.replaceSpec({
      ...iam.spec,
      roles: merge(iam.spec.roles, prev?.roles, next?.roles),
      managedPolicies: merge(iam.spec.managedPolicies, prev?.managedPolicies, next?.managedPolicies),
      oidcProviders: merge(iam.spec.oidcProviders, prev?.oidcProviders, next?.oidcProviders),
    });
  }

  private applyLogGroups(prev: Scenario, next: Scenario): void {
    const { logs, ecs } = this.engines;
    for (const group of next.logGroups ?? []) {
      if (!logs.groups.has(group.name))
        logs.groups.set(group.name, { name: group.name, createdAt: ecs.now(), streams: new Map() });
    }
    for (const group of prev.logGroups ?? []) {
      if (!(next.logGroups ?? []).some((g) => g.name === group.name)) logs.groups.delete(group.name);
    }
  }
}
