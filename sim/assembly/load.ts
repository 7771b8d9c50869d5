/**
 * A cloud assembly plus an overlay, made into a Scenario: every stack's
 * resources, intrinsics resolved (intrinsics.ts) against the physical ids the
 * simulator assigns (physical-ids.ts), mapped into the scenario format. The
 * mapping knows CloudFormation resource types, never a product: any CDK app's
 * assembly loads. A resource whose type the simulator does not model is
 * returned in `unmodelled` (and kept in Scenario.unmodelled), never dropped.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { digest, nameFromArn } from './physical-ids.js';
import { IntrinsicError, StackResolver, type StackEnvironment } from './intrinsics.js';
import { readAssembly, type AssemblyStack } from './manifest.js';
import { readOverlay, type Overlay } from './overlay.js';
import type { IamSpec, ManagedPolicySpec, PolicyDocument, RoleSpec } from '../iam/model.js';
import type {
  AlarmSpec,
  ClusterSpec,
  EcrRepositorySpec,
  LambdaFunctionSpec,
  ListenerSpec,
  LoadBalancerSpec,
  NetworkSpec,
  Scenario,
  SecretSpec,
  ServiceSpec,
  TargetGroupSpec,
  TaskDefinitionSpec,
  UnmodelledResource,
  WeightedTargetGroupSpec,
} from '../scenario.js';

export { IntrinsicError } from './intrinsics.js';

export interface AssemblyLoad {
  scenario: Scenario;
  unmodelled: UnmodelledResource[];
}

type Props = Record<string, unknown>;

/** One resource of the assembly, its properties resolved. */
interface Loaded {
  stack: StackResolver;
  logicalId: string;
  type: string;
  props: Props;
  /** Metadata aws:cdk:path, when CDK wrote one. */
  path?: string;
}

/** Types the loader maps into the scenario (whole, or into the resource they attach to). */
const MODELLED = new Set([
  'AWS::EC2::VPC',
  'AWS::EC2::Subnet',
  'AWS::EC2::SecurityGroup',
  'AWS::ECS::Cluster',
  'AWS::ECS::ClusterCapacityProviderAssociations',
  'AWS::ECS::TaskDefinition',
  'AWS::ECS::Service',
  'AWS::ElasticLoadBalancingV2::TargetGroup',
  'AWS::ElasticLoadBalancingV2::LoadBalancer',
  'AWS::ElasticLoadBalancingV2::Listener',
  'AWS::ElasticLoadBalancingV2::ListenerRule',
  'AWS::ECR::Repository',
  'AWS::Logs::LogGroup',
  'AWS::SecretsManager::Secret',
  'AWS::SecretsManager::SecretTargetAttachment',
  'AWS::IAM::Role',
  'AWS::IAM::Policy',
  'AWS::IAM::ManagedPolicy',
  'AWS::IAM::OIDCProvider',
  'AWS::CloudWatch::Alarm',
  'AWS::ServiceDiscovery::PrivateDnsNamespace',
  'AWS::ServiceDiscovery::Service',
  'AWS::Lambda::Function',
  'AWS::SSM::Parameter',
]);

/** Loads the cloud assembly in `assembly` (a cdk.out directory) with `overlay` into a Scenario. */
export function loadAssembly(options: { assembly: string; overlay?: Overlay | string }): AssemblyLoad {
  const overlay = readOverlay(options.overlay);
  const stacks = readAssembly(options.assembly);
  const world = new AssemblyWorld(stacks, overlay);
  return world.build();
}

class AssemblyWorld {
  private readonly exports = new Map<string, { value: unknown; stack: string }>();
  private readonly revisions = new Map<string, number>();
  private readonly familyCounts = new Map<string, number>();
  private readonly resolvers: StackResolver[] = [];
  private readonly resources: Loaded[] = [];
  private readonly unmodelled: UnmodelledResource[] = [];
  readonly region: string;
  readonly account: string;

  constructor(
    private readonly stacks: AssemblyStack[],
    private readonly overlay: Overlay,
  ) {
    if (stacks.length === 0) throw new Error('the cloud assembly has no CloudFormation stack');
    this.region = stacks.find((s) => s.region)?.region ?? overlay.region ?? 'us-east-1';
    this.account = stacks.find((s) => s.account)?.account ?? overlay.accountId ?? '123456789012';
  }

  private environment(stack: AssemblyStack): StackEnvironment {
    const region = stack.region ?? this.region;
    const china = region.startsWith('cn-');
    return {
      region,
      account: stack.account ?? this.account,
      partition: china ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws',
      urlSuffix: china ? 'amazonaws.com.cn' : 'amazonaws.com',
      availabilityZones: this.overlay.availabilityZones ?? ['a', 'b', 'c'].map((z) => `${region}${z}`),
      parameters: this.overlay.parameters?.[stack.stackName],
    };
  }

  build(): AssemblyLoad {
    // Stacks in dependency order: each one's exports are known before a later stack imports them.
    for (const stack of this.stacks) {
      const resolver = new StackResolver(stack, this.environment(stack), {
        importValue: (name, from) => {
          const found = this.exports.get(name);
          if (!found)
            throw new IntrinsicError(
              `stack ${from}: Fn::ImportValue "${name}": no stack before it exports that name`,
            );
          return found.value;
        },
        revision: (stackName, logicalId, family) => {
          const key = `${stackName}/${logicalId}`;
          let revision = this.revisions.get(key);
          if (revision === undefined) {
            revision = (this.familyCounts.get(family) ?? 0) + 1;
            this.familyCounts.set(family, revision);
            this.revisions.set(key, revision);
          }
          return revision;
        },
      });
      this.resolvers.push(resolver);
      if (stack.template.Transform !== undefined) {
        this.unmodelled.push({
          stack: stack.stackName,
          logicalId: 'Transform',
          type: 'AWS::CloudFormation::Transform',
          reason: `template transforms (${JSON.stringify(stack.template.Transform)}) are not expanded`,
        });
      }
      for (const logicalId of resolver.logicalIds()) {
        const resource = resolver.resource(logicalId);
        const path = resource.Metadata?.['aws:cdk:path'];
        let props: Props;
        try {
          props = resolver.properties(logicalId);
        } catch (err) {
          // What the simulator models must resolve; a resource it only lists may keep what it cannot.
          if (MODELLED.has(resource.Type) || !(err instanceof IntrinsicError)) throw err;
          props = {};
          this.unmodelled.push({
            stack: stack.stackName,
            logicalId,
            type: resource.Type,
            reason: `properties not resolved: ${err.message}`,
          });
        }
        this.resources.push({
          stack: resolver,
          logicalId,
          type: resource.Type,
          props,
          path: typeof path === 'string' ? path : undefined,
        });
      }
      for (const output of resolver.outputs()) {
        if (output.exportName === undefined) continue;
        if (this.exports.has(output.exportName)) {
          throw new IntrinsicError(
            `stack ${stack.stackName}: export "${output.exportName}" is already exported by ${this.exports.get(output.exportName)?.stack}`,
          );
        }
        this.exports.set(output.exportName, { value: output.value, stack: stack.stackName });
      }
    }

    const listed = new Set(this.unmodelled.map((u) => `${u.stack}/${u.logicalId}`));
    for (const r of this.resources) {
      if (!MODELLED.has(r.type) && !listed.has(`${r.stack.stackName}/${r.logicalId}`)) {
        this.unmodelled.push({
          stack: r.stack.stackName,
          logicalId: r.logicalId,
          type: r.type,
          reason: notModelledReason(r.type),
        });
      }
    }

    const targetGroups = this.targetGroups();
    const scenario: Scenario = {
      name: this.overlay.name ?? this.stacks.map((s) => s.stackName).join('+'),
      region: this.region,
      accountId: this.account,
      seed: this.overlay.seed ?? 1,
      ...(this.overlay.timing ? { timing: this.overlay.timing } : {}),
      ...(this.overlay.historyMs !== undefined ? { historyMs: this.overlay.historyMs } : {}),
      clusters: this.clusters(),
      taskDefinitions: this.taskDefinitions(),
      targetGroups,
      loadBalancers: this.loadBalancers(targetGroups),
      services: this.services(targetGroups),
      images: this.overlay.images ?? {},
      ...(this.overlay.faults ? { faults: this.overlay.faults } : {}),
      ecr: {
        registry: this.overlay.ecr?.registry ?? '',
        ...this.overlay.ecr,
        repositories: this.repositories(),
      },
      stacks: this.stacks.map((s) => ({ name: s.stackName, template: s.template })),
      iam: this.iam(),
      network: this.network(),
      logGroups: this.of('AWS::Logs::LogGroup').map((r) => ({
        name: this.ref(r),
        arn: String(r.stack.getAtt(r.logicalId, 'Arn')),
        ...(r.props.RetentionInDays !== undefined
          ? { retentionInDays: Number(r.props.RetentionInDays) }
          : {}),
      })),
      secrets: this.secrets(),
      alarms: this.alarms(),
      serviceDiscovery: this.serviceDiscovery(),
      ...(this.of('AWS::Lambda::Function').length ? { lambdaFunctions: this.lambdaFunctions() } : {}),
      ...(this.of('AWS::SSM::Parameter').length ? { ssmParameters: this.ssmParameters() } : {}),
      unmodelled: this.unmodelled,
    };
    return { scenario, unmodelled: this.unmodelled };
  }

  private of(type: string): Loaded[] {
    return this.resources.filter((r) => r.type === type);
  }

  private ref(r: Loaded): string {
    return String(r.stack.ref(r.logicalId));
  }

  private note(r: Loaded, reason: string): void {
    this.unmodelled.push({ stack: r.stack.stackName, logicalId: r.logicalId, type: r.type, reason });
  }

  /** A subnet's stable names: "<stack>/<logicalId>" and its CDK path. */
  private subnetByStableName(name: string): string {
    const subnet = this.of('AWS::EC2::Subnet').find(
      (r) => `${r.stack.stackName}/${r.logicalId}` === name || r.path === name,
    );
    if (!subnet)
      throw new Error(
        `overlay: capacityUnavailableSubnets names "${name}", which no stack defines as a subnet`,
      );
    return this.ref(subnet);
  }

  private clusters(): ClusterSpec[] {
    const unavailable = (this.overlay.capacityUnavailableSubnets ?? []).map((n) =>
      this.subnetByStableName(n),
    );
    return this.of('AWS::ECS::Cluster').map((r) => {
      const name = this.ref(r);
      const association = this.of('AWS::ECS::ClusterCapacityProviderAssociations').find(
        (a) => nameFromArn(String(a.props.Cluster)) === name,
      );
      const providers = (association?.props.CapacityProviders ?? r.props.CapacityProviders) as
        string[] | undefined;
      const strategy = (association?.props.DefaultCapacityProviderStrategy ??
        r.props.DefaultCapacityProviderStrategy) as Props[] | undefined;
      return {
        name,
        ...(providers ? { capacityProviders: providers } : {}),
        ...(strategy?.length ? { defaultCapacityProviderStrategy: strategy.map(capacityItem) } : {}),
        ...(unavailable.length ? { capacityUnavailableSubnets: unavailable } : {}),
      };
    });
  }

  private taskDefinitions(): TaskDefinitionSpec[] {
    return this.of('AWS::ECS::TaskDefinition').map((r) => {
      const { Tags, ...rest } = r.props;
      const request = camel(rest) as TaskDefinitionSpec;
      request.family = nameFromArn(this.ref(r)).split(':')[0];
      const tags = tagList(Tags);
      return tags.length ? { ...request, tags } : request;
    });
  }

  private targetGroups(): (TargetGroupSpec & { arn: string })[] {
    return this.of('AWS::ElasticLoadBalancingV2::TargetGroup').map((r) => {
      const p = r.props;
      const attributes = (p.TargetGroupAttributes ?? []) as { Key: string; Value: unknown }[];
      const delay = attributes.find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value;
      const matcher = (p.Matcher as Props | undefined)?.HttpCode;
      if ((p.Matcher as Props | undefined)?.GrpcCode !== undefined)
        this.note(r, 'gRPC health-check matcher not modelled');
      const healthCheck = {
        ...(p.HealthCheckPath !== undefined ? { path: String(p.HealthCheckPath) } : {}),
        ...(p.HealthCheckIntervalSeconds !== undefined
          ? { intervalSeconds: Number(p.HealthCheckIntervalSeconds) }
          : {}),
        ...(p.HealthCheckTimeoutSeconds !== undefined
          ? { timeoutSeconds: Number(p.HealthCheckTimeoutSeconds) }
          : {}),
        ...(p.HealthyThresholdCount !== undefined
          ? { healthyThresholdCount: Number(p.HealthyThresholdCount) }
          : {}),
        ...(p.UnhealthyThresholdCount !== undefined
          ? { unhealthyThresholdCount: Number(p.UnhealthyThresholdCount) }
          : {}),
        ...(matcher !== undefined ? { matcher: String(matcher) } : {}),
      };
      return {
        name: String(r.stack.getAtt(r.logicalId, 'TargetGroupName')),
        arn: this.ref(r),
        port: Number(p.Port),
        ...(p.Protocol ? { protocol: p.Protocol as 'HTTP' | 'HTTPS' } : {}),
        // CloudFormation's default target type is instance.
        targetType: (p.TargetType as 'ip' | 'instance' | undefined) ?? 'instance',
        healthCheck,
        ...(delay !== undefined ? { deregistrationDelaySeconds: Number(delay) } : {}),
      };
    });
  }

  private loadBalancers(targetGroups: { name: string; arn: string }[]): LoadBalancerSpec[] {
    const tgName = (arn: unknown) => targetGroups.find((tg) => tg.arn === arn)?.name;
    const forwardTo = (action: Props): string | undefined => {
      const direct = action.TargetGroupArn;
      const weighted = ((action.ForwardConfig as Props | undefined)?.TargetGroups as Props[] | undefined)?.[0]
        ?.TargetGroupArn;
      return tgName(direct ?? weighted);
    };
    // A forward to several target groups keeps its weights (ECS's blue/green rules forward to both groups).
    const weightsOf = (action: Props): WeightedTargetGroupSpec[] | undefined => {
      const groups = ((action.ForwardConfig as Props | undefined)?.TargetGroups ?? []) as Props[];
      if (groups.length < 2) return undefined;
      return groups.map((g) => {
        const name = tgName(g.TargetGroupArn);
        if (!name)
          throw new Error(
            `a weighted forward names target group ${String(g.TargetGroupArn)}, which is in no stack`,
          );
        // ELB's default weight is 1 when a group gives none.
        return { targetGroup: name, weight: g.Weight === undefined ? 1 : Number(g.Weight) };
      });
    };
    return this.of('AWS::ElasticLoadBalancingV2::LoadBalancer').map((r) => {
      const arn = this.ref(r);
      const name = String(r.stack.getAtt(r.logicalId, 'LoadBalancerName'));
      if (r.props.Type === 'network' || r.props.Type === 'gateway')
        this.note(r, `a ${String(r.props.Type)} load balancer is served as an application load balancer`);
      const listeners: ListenerSpec[] = this.of('AWS::ElasticLoadBalancingV2::Listener')
        .filter((l) => l.props.LoadBalancerArn === arn)
        .map((l) => {
          const listenerArn = this.ref(l);
          const actions = (l.props.DefaultActions ?? []) as Props[];
          const action =
            actions.find((a) => a.Type !== 'authenticate-oidc' && a.Type !== 'authenticate-cognito') ?? {};
          const spec: ListenerSpec = {
            port: Number(l.props.Port),
            protocol: l.props.Protocol === 'HTTPS' ? 'HTTPS' : 'HTTP',
            rules: [],
            // The template's ARNs, so a service's advancedConfiguration names rules the API serves.
            arn: listenerArn,
          };
          if (action.Type === 'forward') {
            spec.defaultTargetGroup = forwardTo(action);
            const weights = weightsOf(action);
            if (weights) spec.defaultWeightedTargetGroups = weights;
          } else spec.defaultFixedResponse = fixedResponse(action, () => this.note(l, redirectNote));
          for (const rule of this.of('AWS::ElasticLoadBalancingV2::ListenerRule')) {
            if (rule.props.ListenerArn !== listenerArn) continue;
            const ruleAction = ((rule.props.Actions ?? []) as Props[]).find((a) => a.Type === 'forward');
            const targetGroup = ruleAction ? forwardTo(ruleAction) : undefined;
            if (!targetGroup) {
              this.note(rule, 'only listener rules that forward to a target group are modelled');
              continue;
            }
            const conditions = (rule.props.Conditions ?? []) as Props[];
            const values = (field: string, config: string) =>
              conditions
                .filter((c) => c.Field === field)
                .flatMap((c) => ((c[config] as Props | undefined)?.Values ?? c.Values ?? []) as string[]);
            const other = conditions.filter((c) => c.Field !== 'path-pattern' && c.Field !== 'host-header');
            if (other.length)
              this.note(rule, `conditions not modelled: ${other.map((c) => String(c.Field)).join(', ')}`);
            const pathPatterns = values('path-pattern', 'PathPatternConfig');
            const hostHeaders = values('host-header', 'HostHeaderConfig');
            const weights = weightsOf(ruleAction!);
            spec.rules!.push({
              priority: Number(rule.props.Priority),
              ...(pathPatterns.length ? { pathPatterns } : {}),
              ...(hostHeaders.length ? { hostHeaders } : {}),
              targetGroup,
              ...(weights ? { weightedTargetGroups: weights } : {}),
              arn: this.ref(rule),
            });
          }
          spec.rules!.sort((a, b) => a.priority - b.priority);
          return spec;
        });
      return { name, arn, httpPort: this.overlay.albHttpPorts?.[name] ?? 0, listeners };
    });
  }

  private services(targetGroups: { name: string; arn: string }[]): ServiceSpec[] {
    return this.of('AWS::ECS::Service').map((r) => {
      const p = r.props;
      const deployment = (p.DeploymentConfiguration ?? {}) as Props;
      const breaker = deployment.DeploymentCircuitBreaker as Props | undefined;
      const awsvpc = (p.NetworkConfiguration as Props | undefined)?.AwsvpcConfiguration as Props | undefined;
      const td = String(p.TaskDefinition);
      if (deployment.Alarms && (deployment.Alarms as Props).Enable)
        this.note(r, 'deployment alarms (DeploymentConfiguration.Alarms) not modelled');
      if (p.DeploymentController && (p.DeploymentController as Props).Type !== 'ECS')
        this.note(r, `deployment controller ${String((p.DeploymentController as Props).Type)} not modelled`);
      return {
        cluster: p.Cluster === undefined ? 'default' : nameFromArn(String(p.Cluster)),
        name: String(r.stack.getAtt(r.logicalId, 'Name')),
        // A task definition ARN becomes family:revision; a bare family stays itself.
        taskDefinition: td.startsWith('arn:') ? td.slice(td.indexOf('task-definition/') + 16) : td,
        desiredCount: p.DesiredCount === undefined ? 1 : Number(p.DesiredCount),
        ...(p.LaunchType ? { launchType: p.LaunchType as 'FARGATE' | 'EC2' } : {}),
        ...(p.CapacityProviderStrategy
          ? { capacityProviderStrategy: (p.CapacityProviderStrategy as Props[]).map(capacityItem) }
          : {}),
        loadBalancers: ((p.LoadBalancers ?? []) as Props[]).map((lb) => {
          const name = targetGroups.find((tg) => tg.arn === lb.TargetGroupArn)?.name;
          if (!name)
            throw new Error(
              `service ${r.logicalId}: target group ${String(lb.TargetGroupArn)} is in no stack`,
            );
          const advanced = lb.AdvancedConfiguration as Props | undefined;
          const alternate =
            advanced && targetGroups.find((tg) => tg.arn === advanced.AlternateTargetGroupArn)?.name;
          if (advanced && !alternate)
            throw new Error(
              `service ${r.logicalId}: alternate target group ${String(advanced.AlternateTargetGroupArn)} is in no stack`,
            );
          return {
            targetGroup: name,
            containerName: String(lb.ContainerName),
            containerPort: Number(lb.ContainerPort),
            ...(advanced
              ? {
                  advancedConfiguration: {
                    alternateTargetGroup: alternate!,
                    ...(advanced.ProductionListenerRule !== undefined
                      ? { productionListenerRule: String(advanced.ProductionListenerRule) }
                      : {}),
                    ...(advanced.TestListenerRule !== undefined
                      ? { testListenerRule: String(advanced.TestListenerRule) }
                      : {}),
                    ...(advanced.RoleArn !== undefined ? { roleArn: String(advanced.RoleArn) } : {}),
                  },
                }
              : {}),
          };
        }),
        deploymentConfiguration: {
          ...(deployment.MinimumHealthyPercent !== undefined
            ? { minimumHealthyPercent: Number(deployment.MinimumHealthyPercent) }
            : {}),
          ...(deployment.MaximumPercent !== undefined
            ? { maximumPercent: Number(deployment.MaximumPercent) }
            : {}),
          ...(breaker
            ? {
                deploymentCircuitBreaker: {
                  enable: breaker.Enable === true,
                  rollback: breaker.Rollback === true,
                },
              }
            : {}),
          ...strategyFields(deployment),
        },
        ...(awsvpc
          ? {
              networkConfiguration: {
                awsvpcConfiguration: {
                  subnets: (awsvpc.Subnets ?? []) as string[],
                  ...(awsvpc.SecurityGroups ? { securityGroups: awsvpc.SecurityGroups as string[] } : {}),
                  ...(awsvpc.AssignPublicIp
                    ? { assignPublicIp: awsvpc.AssignPublicIp as 'ENABLED' | 'DISABLED' }
                    : {}),
                },
              },
            }
          : {}),
        ...(p.HealthCheckGracePeriodSeconds !== undefined
          ? { healthCheckGracePeriodSeconds: Number(p.HealthCheckGracePeriodSeconds) }
          : {}),
        ...(p.Tags ? { tags: tagList(p.Tags) } : {}),
        ...(p.PropagateTags ? { propagateTags: p.PropagateTags as ServiceSpec['propagateTags'] } : {}),
        ...(p.EnableECSManagedTags !== undefined
          ? { enableECSManagedTags: p.EnableECSManagedTags === true }
          : {}),
        ...(p.ServiceRegistries
          ? { serviceRegistries: camel(p.ServiceRegistries) as ServiceSpec['serviceRegistries'] }
          : {}),
      };
    });
  }

  /**
   * AWS::Lambda::Function (Node.js) as the simulator runs them: inline code (Code.ZipFile),
   * or the asset directory CDK staged in the assembly (the resource's aws:asset:path
   * metadata, else the asset manifest entry of its S3 key). Other runtimes and image
   * functions are listed, not loaded.
   */
  private lambdaFunctions(): LambdaFunctionSpec[] {
    const functions: LambdaFunctionSpec[] = [];
    for (const r of this.of('AWS::Lambda::Function')) {
      const p = r.props;
      const runtime = p.Runtime === undefined ? undefined : String(p.Runtime);
      if (!runtime?.startsWith('nodejs') || p.PackageType === 'Image') {
        this.note(r, `only Node.js zip functions run (${runtime ?? String(p.PackageType ?? 'no runtime')})`);
        continue;
      }
      const code = (p.Code ?? {}) as Props;
      let spec: LambdaFunctionSpec['code'];
      if (code.ZipFile !== undefined) spec = { zipFile: String(code.ZipFile) };
      else {
        const dir = this.assetDirectory(r, code);
        if (!dir) {
          this.note(r, 'its code is neither inline nor an asset directory of this assembly');
          continue;
        }
        spec = { path: dir };
      }
      const variables = ((p.Environment as Props | undefined)?.Variables ?? {}) as Props;
      functions.push({
        name: this.ref(r),
        arn: String(r.stack.getAtt(r.logicalId, 'Arn')),
        runtime,
        handler: String(p.Handler ?? 'index.handler'),
        code: spec,
        ...(p.Role !== undefined ? { role: String(p.Role) } : {}),
        ...(Object.keys(variables).length
          ? { environment: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)])) }
          : {}),
        ...(p.Timeout !== undefined ? { timeoutSeconds: Number(p.Timeout) } : {}),
      });
    }
    return functions;
  }

  /** The directory of a function's asset in the assembly, when it is one (a zip or an image is not). */
  private assetDirectory(r: Loaded, code: Props): string | undefined {
    const stack = this.stacks.find((s) => s.stackName === r.stack.stackName);
    if (!stack) return undefined;
    const metadata = stack.template.Resources?.[r.logicalId]?.Metadata as Props | undefined;
    const candidates: string[] = [];
    if (typeof metadata?.['aws:asset:path'] === 'string') candidates.push(metadata['aws:asset:path']);
    // Without asset metadata: the asset manifests' file assets whose object key is the function's S3Key.
    if (typeof code.S3Key === 'string') {
      for (const file of readdirSync(stack.directory).filter((f) => f.endsWith('.assets.json'))) {
        const manifest = JSON.parse(readFileSync(join(stack.directory, file), 'utf8')) as {
          files?: Record<
            string,
            { source?: { path?: string }; destinations?: Record<string, { objectKey?: string }> }
          >;
        };
        for (const asset of Object.values(manifest.files ?? {})) {
          const keys = Object.values(asset.destinations ?? {}).map((d) => d.objectKey);
          if (asset.source?.path && keys.includes(code.S3Key)) candidates.push(asset.source.path);
        }
      }
    }
    for (const candidate of candidates) {
      const dir = isAbsolute(candidate) ? candidate : resolve(stack.directory, candidate);
      if (existsSync(dir) && !dir.endsWith('.zip') && !dir.endsWith('.jar')) return dir;
    }
    return undefined;
  }

  /** AWS::SSM::Parameter as Parameter Store holds them at load (sim/services/ssm.ts): version 1 of each. */
  private ssmParameters(): {
    name: string;
    type?: 'String' | 'StringList';
    value: string;
    description?: string;
    tier?: 'Standard' | 'Advanced';
  }[] {
    return this.of('AWS::SSM::Parameter').map((r) => {
      const p = r.props;
      // Intelligent-Tiering picks Standard for a value that fits it (every CloudFormation-made value does: 4 KB).
      const tier = p.Tier === 'Advanced' ? 'Advanced' : p.Tier === undefined ? undefined : 'Standard';
      return {
        name: this.ref(r),
        ...(p.Type === 'StringList' ? { type: 'StringList' as const } : { type: 'String' as const }),
        value: String(p.Value),
        ...(p.Description !== undefined ? { description: String(p.Description) } : {}),
        ...(tier ? { tier } : {}),
      };
    });
  }

  private repositories(): EcrRepositorySpec[] {
    return this.of('AWS::ECR::Repository').map((r) => {
      const p = r.props;
      const filters = (p.ImageTagMutabilityExclusionFilters ?? []) as Props[];
      const lifecycle = (p.LifecyclePolicy as Props | undefined)?.LifecyclePolicyText;
      return {
        name: this.ref(r),
        ...(p.ImageTagMutability
          ? { imageTagMutability: p.ImageTagMutability as EcrRepositorySpec['imageTagMutability'] }
          : {}),
        ...(filters.length
          ? {
              imageTagMutabilityExclusionFilters: filters.map((f) => ({
                filterType: 'WILDCARD' as const,
                filter: String(f.ImageTagMutabilityExclusionFilterValue),
              })),
            }
          : {}),
        ...((p.ImageScanningConfiguration as Props | undefined)?.ScanOnPush !== undefined
          ? { scanOnPush: (p.ImageScanningConfiguration as Props).ScanOnPush === true }
          : {}),
        ...(lifecycle !== undefined ? { lifecyclePolicyText: String(lifecycle) } : {}),
      };
    });
  }

  private iam(): IamSpec {
    const policies = this.of('AWS::IAM::Policy');
    const managed = this.of('AWS::IAM::ManagedPolicy');
    const managedPolicies: ManagedPolicySpec[] = managed.map((r) => ({
      name: nameFromArn(this.ref(r)),
      arn: this.ref(r),
      document: r.props.PolicyDocument as PolicyDocument,
    }));
    const roles: RoleSpec[] = this.of('AWS::IAM::Role').map((r) => {
      const name = this.ref(r);
      const inline = ((r.props.Policies ?? []) as Props[]).map((p) => ({
        name: String(p.PolicyName),
        document: p.PolicyDocument as PolicyDocument,
      }));
      // AWS::IAM::Policy and ManagedPolicy resources name the roles they attach to (possibly from another stack).
      const attached = policies
        .filter((p) => ((p.props.Roles ?? []) as string[]).some((role) => nameFromArn(role) === name))
        .map((p) => ({
          name: String(p.props.PolicyName),
          document: p.props.PolicyDocument as PolicyDocument,
        }));
      const managedArns = [
        ...((r.props.ManagedPolicyArns ?? []) as string[]),
        ...managed
          .filter((m) => ((m.props.Roles ?? []) as string[]).some((role) => nameFromArn(role) === name))
          .map((m) => this.ref(m)),
      ];
      return {
        name,
        arn: String(r.stack.getAtt(r.logicalId, 'Arn')),
        trust: r.props.AssumeRolePolicyDocument as PolicyDocument,
        policies: [...inline, ...attached],
        ...(managedArns.length ? { managedPolicyArns: managedArns } : {}),
        ...(r.props.MaxSessionDuration !== undefined
          ? { maxSessionDurationSeconds: Number(r.props.MaxSessionDuration) }
          : {}),
      };
    });
    return {
      roles,
      managedPolicies,
      oidcProviders: this.of('AWS::IAM::OIDCProvider').map((r) => ({
        arn: this.ref(r),
        url: String(r.props.Url),
        clientIds: (r.props.ClientIdList ?? []) as string[],
      })),
      ...(this.overlay.iam?.mode ? { mode: this.overlay.iam.mode } : {}),
    };
  }

  private network(): NetworkSpec {
    return {
      vpcs: this.of('AWS::EC2::VPC').map((r) => ({
        id: this.ref(r),
        ...(r.props.CidrBlock ? { cidrBlock: String(r.props.CidrBlock) } : {}),
        name: r.path ?? `${r.stack.stackName}/${r.logicalId}`,
      })),
      subnets: this.of('AWS::EC2::Subnet').map((r) => ({
        id: this.ref(r),
        vpcId: String(r.props.VpcId),
        ...(r.props.AvailabilityZone ? { availabilityZone: String(r.props.AvailabilityZone) } : {}),
        ...(r.props.CidrBlock ? { cidrBlock: String(r.props.CidrBlock) } : {}),
        name: r.path ?? `${r.stack.stackName}/${r.logicalId}`,
        mapPublicIpOnLaunch: r.props.MapPublicIpOnLaunch === true,
      })),
      securityGroups: this.of('AWS::EC2::SecurityGroup').map((r) => ({
        id: this.ref(r),
        groupName: r.props.GroupName ? String(r.props.GroupName) : `${r.stack.stackName}-${r.logicalId}`,
        ...(r.props.GroupDescription ? { description: String(r.props.GroupDescription) } : {}),
        ...(r.props.VpcId ? { vpcId: String(r.props.VpcId) } : {}),
      })),
    };
  }

  private secrets(): SecretSpec[] {
    const seed = String(this.overlay.seed ?? 1);
    return this.of('AWS::SecretsManager::Secret').map((r) => {
      const arn = this.ref(r);
      const name = arn.slice(arn.indexOf(':secret:') + 8, -7);
      const p = r.props;
      let value: string;
      if (p.SecretString !== undefined) value = String(p.SecretString);
      else {
        const generate = (p.GenerateSecretString ?? {}) as Props;
        const password = generatedPassword(generate, seed, name);
        if (generate.SecretStringTemplate && generate.GenerateStringKey) {
          const template = JSON.parse(String(generate.SecretStringTemplate)) as Props;
          value = JSON.stringify({ ...template, [String(generate.GenerateStringKey)]: password });
        } else value = password;
      }
      // A target attachment adds the database's connection details to the secret's JSON.
      const attachment = this.of('AWS::SecretsManager::SecretTargetAttachment').find(
        (a) => a.props.SecretId === arn,
      );
      if (attachment) value = this.withTarget(value, attachment);
      return {
        name,
        arn,
        ...(p.Description ? { description: String(p.Description) } : {}),
        value,
      };
    });
  }

  private withTarget(value: string, attachment: Loaded): string {
    const target = this.resources.find(
      (r) =>
        (r.type === 'AWS::RDS::DBInstance' || r.type === 'AWS::RDS::DBCluster') &&
        this.ref(r) === attachment.props.TargetId,
    );
    if (!target) {
      this.note(attachment, 'the attachment target is not in the assembly: the secret keeps its own JSON');
      return value;
    }
    let json: Props;
    try {
      json = JSON.parse(value) as Props;
    } catch {
      return value;
    }
    return JSON.stringify({
      ...json,
      engine: target.props.Engine,
      host: target.stack.getAtt(target.logicalId, 'Endpoint.Address'),
      port: Number(target.stack.getAtt(target.logicalId, 'Endpoint.Port')),
      dbInstanceIdentifier: this.ref(target),
      ...(target.props.DBName ? { dbname: target.props.DBName } : {}),
    });
  }

  private alarms(): AlarmSpec[] {
    return this.of('AWS::CloudWatch::Alarm').map((r) => {
      const p = r.props;
      const num = (v: unknown) => (v === undefined ? undefined : Number(v));
      const spec: AlarmSpec = {
        name: this.ref(r),
        arn: String(r.stack.getAtt(r.logicalId, 'Arn')),
        description: p.AlarmDescription as string | undefined,
        namespace: p.Namespace as string | undefined,
        metricName: p.MetricName as string | undefined,
        dimensions: ((p.Dimensions ?? []) as Props[]).map((d) => ({
          name: String(d.Name),
          value: String(d.Value),
        })),
        statistic: (p.Statistic ?? p.ExtendedStatistic) as string | undefined,
        period: num(p.Period),
        evaluationPeriods: Number(p.EvaluationPeriods),
        datapointsToAlarm: num(p.DatapointsToAlarm),
        threshold: num(p.Threshold),
        comparisonOperator: String(p.ComparisonOperator),
        treatMissingData: p.TreatMissingData as string | undefined,
        alarmActions: p.AlarmActions as string[] | undefined,
        okActions: p.OKActions as string[] | undefined,
        metrics: p.Metrics ? (camel(p.Metrics) as unknown[]) : undefined,
      };
      return JSON.parse(JSON.stringify(spec)) as AlarmSpec;
    });
  }

  private serviceDiscovery(): Scenario['serviceDiscovery'] {
    return {
      namespaces: this.of('AWS::ServiceDiscovery::PrivateDnsNamespace').map((r) => ({
        id: this.ref(r),
        arn: String(r.stack.getAtt(r.logicalId, 'Arn')),
        name: String(r.props.Name),
        ...(r.props.Vpc ? { vpc: String(r.props.Vpc) } : {}),
      })),
      services: this.of('AWS::ServiceDiscovery::Service').map((r) => {
        const dns = (r.props.DnsConfig ?? {}) as Props;
        return {
          id: this.ref(r),
          arn: String(r.stack.getAtt(r.logicalId, 'Arn')),
          name: String(r.props.Name),
          ...((r.props.NamespaceId ?? dns.NamespaceId)
            ? { namespaceId: String(r.props.NamespaceId ?? dns.NamespaceId) }
            : {}),
          ...(dns.RoutingPolicy ? { routingPolicy: String(dns.RoutingPolicy) } : {}),
          dnsRecords: ((dns.DnsRecords ?? []) as Props[]).map((d) => ({
            type: String(d.Type),
            ttlSeconds: Number(d.TTL),
          })),
        };
      }),
    };
  }
}

const redirectNote =
  'a redirect default action is served as a fixed response with its status code (no Location header)';

function fixedResponse(action: Props, redirected: () => void): ListenerSpec['defaultFixedResponse'] {
  if (action.Type === 'redirect') {
    redirected();
    const code = String((action.RedirectConfig as Props | undefined)?.StatusCode ?? 'HTTP_301');
    return { statusCode: Number(code.replace('HTTP_', '')) };
  }
  const config = (action.FixedResponseConfig ?? {}) as Props;
  return {
    statusCode: Number(config.StatusCode ?? 404),
    ...(config.MessageBody !== undefined ? { body: String(config.MessageBody) } : {}),
    ...(config.ContentType !== undefined ? { contentType: String(config.ContentType) } : {}),
  };
}

/** DeploymentConfiguration's ECS-native strategy fields (BLUE_GREEN, LINEAR, CANARY) as the API's. */
function strategyFields(d: Props): Partial<NonNullable<ServiceSpec['deploymentConfiguration']>> {
  const num = (v: unknown) => (v === undefined ? undefined : Number(v));
  const linear = d.LinearConfiguration as Props | undefined;
  const canary = d.CanaryConfiguration as Props | undefined;
  const hooks = (d.LifecycleHooks ?? []) as Props[];
  const out: Partial<NonNullable<ServiceSpec['deploymentConfiguration']>> = {
    ...(d.Strategy !== undefined
      ? { strategy: d.Strategy as 'ROLLING' | 'BLUE_GREEN' | 'LINEAR' | 'CANARY' }
      : {}),
    ...(d.BakeTimeInMinutes !== undefined ? { bakeTimeInMinutes: Number(d.BakeTimeInMinutes) } : {}),
    ...(linear
      ? {
          linearConfiguration: {
            stepPercent: num(linear.StepPercent),
            stepBakeTimeInMinutes: num(linear.StepBakeTimeInMinutes),
          },
        }
      : {}),
    ...(canary
      ? {
          canaryConfiguration: {
            canaryPercent: num(canary.CanaryPercent),
            canaryBakeTimeInMinutes: num(canary.CanaryBakeTimeInMinutes),
          },
        }
      : {}),
    ...(hooks.length
      ? {
          lifecycleHooks: hooks.map((h) => ({
            ...(h.HookTargetArn !== undefined ? { hookTargetArn: String(h.HookTargetArn) } : {}),
            ...(h.RoleArn !== undefined ? { roleArn: String(h.RoleArn) } : {}),
            lifecycleStages: (h.LifecycleStages ?? []) as string[],
            // CloudFormation takes the details as an object or its JSON text; the API carries the object.
            ...(h.HookDetails !== undefined
              ? {
                  hookDetails:
                    typeof h.HookDetails === 'string'
                      ? (JSON.parse(h.HookDetails) as unknown)
                      : h.HookDetails,
                }
              : {}),
          })),
        }
      : {}),
  };
  return JSON.parse(JSON.stringify(out)) as typeof out;
}

function capacityItem(item: Props): { capacityProvider: string; weight?: number; base?: number } {
  return {
    capacityProvider: String(item.CapacityProvider),
    ...(item.Weight !== undefined ? { weight: Number(item.Weight) } : {}),
    ...(item.Base !== undefined ? { base: Number(item.Base) } : {}),
  };
}

function tagList(tags: unknown): { key: string; value: string }[] {
  return ((tags ?? []) as { Key: string; Value: unknown }[]).map((t) => ({
    key: t.Key,
    value: String(t.Value),
  }));
}

function notModelledReason(type: string): string {
  if (type === 'AWS::CDK::Metadata') return 'CDK metadata';
  if (type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource')
    return 'a custom resource (Lambda-backed helper): its effect is not simulated';
  if (type.startsWith('AWS::Lambda::'))
    return 'only Lambda functions are simulated (run as hooks), not their permissions, versions or URLs';
  return 'type not modelled: ids resolve, behaviour is not simulated';
}

/** Keys whose values are maps with user-chosen keys (kept as written). */
const VERBATIM = new Set(['Options', 'DockerLabels', 'DriverOpts', 'Labels']);
/** Where the API's field name is not the CloudFormation name with a lower-case first letter. */
const RENAMED: Record<string, string> = {
  EFSVolumeConfiguration: 'efsVolumeConfiguration',
  FSxWindowsFileServerVolumeConfiguration: 'fsxWindowsFileServerVolumeConfiguration',
  ProxyConfigurationProperties: 'properties',
};

/** CloudFormation's PascalCase properties as the ECS API's camelCase request fields. */
export function camel(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camel);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Props).map(([key, v]) => [
      RENAMED[key] ?? key.charAt(0).toLowerCase() + key.slice(1),
      VERBATIM.has(key) ? v : camel(v),
    ]),
  );
}

/** A GenerateSecretString value, derived from the seed and the secret's name: the same on every load. */
function generatedPassword(options: Props, seed: string, name: string): string {
  let alphabet = '';
  if (options.ExcludeLowercase !== true) alphabet += 'abcdefghijklmnopqrstuvwxyz';
  if (options.ExcludeUppercase !== true) alphabet += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  if (options.ExcludeNumbers !== true) alphabet += '0123456789';
  if (options.ExcludePunctuation !== true) alphabet += '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
  if (options.IncludeSpace === true) alphabet += ' ';
  const excluded = String(options.ExcludeCharacters ?? '');
  alphabet = [...alphabet].filter((c) => !excluded.includes(c)).join('') || 'x';
  const length = Number(options.PasswordLength ?? 32);
  let out = '';
  for (let block = 0; out.length < length; block++) {
    const bytes = Buffer.from(digest('secret', seed, name, String(block)), 'hex');
    for (const b of bytes) if (out.length < length) out += alphabet[b % alphabet.length];
  }
  return out;
}
