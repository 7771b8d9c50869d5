/**
 * Elastic Load Balancing v2 API (Query protocol, Version 2015-12-01, XML replies).
 * Shapes follow the API reference,
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_Operations.html
 * (each operation's page is API_<Operation>.html). Error codes are the
 * reference's (TargetGroupNotFound, LoadBalancerNotFound, ListenerNotFound,
 * RuleNotFound, ValidationError); the SDK appends "Exception" to its classes.
 */
import type {
  ElbEngine,
  ListenerAction,
  ListenerRecord,
  LoadBalancerRecord,
  TargetGroupRecord,
} from '../elb-engine.js';
import { AwsError, type SimService } from '../service.js';

type Params = Record<string, unknown>;

const list = (value: unknown): string[] => (Array.isArray(value) ? (value as string[]) : []);

function page<T>(items: T[], marker: unknown, pageSize: unknown): { items: T[]; NextMarker?: string } {
  const size = pageSize === undefined ? 400 : Number(pageSize);
  if (!Number.isInteger(size) || size < 1 || size > 400)
    throw new AwsError('ValidationError', 'PageSize must be between 1 and 400');
  const start =
    typeof marker === 'string' && marker ? Number(Buffer.from(marker, 'base64').toString('utf8')) : 0;
  const next = start + size < items.length ? Buffer.from(String(start + size)).toString('base64') : undefined;
  return { items: items.slice(start, start + size), NextMarker: next };
}

export class Elbv2Service implements SimService {
  readonly name = 'elbv2';
  readonly queryVersion = '2015-12-01';
  readonly xmlNamespace = 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/';
  readonly mutating = new Set<string>([]);

  constructor(
    private readonly elb: ElbEngine,
    private readonly region: string,
  ) {}

  handle(operation: string, params: Params): unknown {
    switch (operation) {
      case 'DescribeLoadBalancers':
        return this.describeLoadBalancers(params);
      case 'DescribeTargetGroups':
        return this.describeTargetGroups(params);
      case 'DescribeListeners':
        return this.describeListeners(params);
      case 'DescribeRules':
        return this.describeRules(params);
      case 'DescribeTargetHealth':
        return this.describeTargetHealth(params);
      case 'DescribeTargetGroupAttributes':
        return this.describeTargetGroupAttributes(params);
      default:
        throw new AwsError('InvalidAction', `The action ${operation} is not valid for this web service.`);
    }
  }

  private targetGroup(arn: unknown): TargetGroupRecord {
    const tg = typeof arn === 'string' ? this.elb.targetGroups.get(arn) : undefined;
    if (!tg) throw new AwsError('TargetGroupNotFound', `Target groups '${String(arn)}' not found`);
    return tg;
  }

  private loadBalancer(arn: unknown): LoadBalancerRecord {
    const lb = typeof arn === 'string' ? this.elb.loadBalancers.get(arn) : undefined;
    if (!lb) throw new AwsError('LoadBalancerNotFound', `Load balancer '${String(arn)}' not found`);
    return lb;
  }

  private allListeners(): ListenerRecord[] {
    return [...this.elb.loadBalancers.values()].flatMap((lb) => lb.listeners);
  }

  private actionShape(action: ListenerAction): Params {
    if (action.type === 'forward') {
      // One target group: TargetGroupArn and a ForwardConfig of it; several (weighted): ForwardConfig only.
      const single = action.targetGroups.length === 1 ? action.targetGroups[0]!.targetGroupArn : undefined;
      return {
        Type: 'forward',
        TargetGroupArn: single,
        ForwardConfig: {
          TargetGroups: action.targetGroups.map((t) => ({
            TargetGroupArn: t.targetGroupArn,
            Weight: t.weight,
          })),
          TargetGroupStickinessConfig: { Enabled: false },
        },
      };
    }
    return {
      Type: 'fixed-response',
      FixedResponseConfig: {
        StatusCode: String(action.statusCode),
        ContentType: action.contentType,
        MessageBody: action.body,
      },
    };
  }

  /** https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeLoadBalancers.html */
  private describeLoadBalancers(params: Params): Params {
    const arns = list(params.LoadBalancerArns);
    const names = list(params.Names);
    let lbs = [...this.elb.loadBalancers.values()];
    if (arns.length) lbs = arns.map((arn) => this.loadBalancer(arn));
    if (names.length) {
      lbs = names.map((name) => {
        const lb = [...this.elb.loadBalancers.values()].find((x) => x.name === name);
        if (!lb) throw new AwsError('LoadBalancerNotFound', `Load balancers '[${name}]' not found`);
        return lb;
      });
    }
    const { items, NextMarker } = page(lbs, params.Marker, params.PageSize);
    return {
      LoadBalancers: items.map((lb) => ({
        LoadBalancerArn: lb.arn,
        DNSName: lb.dnsName,
        CanonicalHostedZoneId: 'Z35SXDOTRQ7X7K',
        CreatedTime: lb.createdAt,
        LoadBalancerName: lb.name,
        Scheme: 'internet-facing',
        VpcId: 'vpc-0a1b2c3d4e5f60718',
        State: { Code: 'active' },
        Type: 'application',
        AvailabilityZones: [
          { ZoneName: `${this.region}a`, SubnetId: 'subnet-0a1b2c3d4e5f60001' },
          { ZoneName: `${this.region}b`, SubnetId: 'subnet-0a1b2c3d4e5f60002' },
        ],
        SecurityGroups: ['sg-0a1b2c3d4e5f60718'],
        IpAddressType: 'ipv4',
      })),
      NextMarker,
    };
  }

  /** https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTargetGroups.html */
  private describeTargetGroups(params: Params): Params {
    const arns = list(params.TargetGroupArns);
    const names = list(params.Names);
    let tgs = [...this.elb.targetGroups.values()];
    if (params.LoadBalancerArn) {
      const lb = this.loadBalancer(params.LoadBalancerArn);
      tgs = tgs.filter((tg) => tg.loadBalancerArns.includes(lb.arn));
    }
    if (arns.length) {
      const missing = arns.filter((arn) => !this.elb.targetGroups.has(arn));
      if (missing.length)
        throw new AwsError('TargetGroupNotFound', `Target groups '[${missing.join(', ')}]' not found`);
      tgs = arns.map((arn) => this.targetGroup(arn));
    }
    if (names.length) {
      const missing = names.filter((n) => !this.elb.targetGroupByName(n));
      if (missing.length) throw new AwsError('TargetGroupNotFound', `One or more target groups not found`);
      tgs = names.map((n) => this.elb.targetGroupByName(n)!);
    }
    const { items, NextMarker } = page(tgs, params.Marker, params.PageSize);
    return {
      TargetGroups: items.map((tg) => ({
        TargetGroupArn: tg.arn,
        TargetGroupName: tg.name,
        Protocol: tg.protocol,
        Port: tg.port,
        VpcId: 'vpc-0a1b2c3d4e5f60718',
        HealthCheckProtocol: tg.protocol,
        HealthCheckPort: 'traffic-port',
        HealthCheckEnabled: true,
        HealthCheckIntervalSeconds: tg.healthCheck.intervalSeconds,
        HealthCheckTimeoutSeconds: tg.healthCheck.timeoutSeconds,
        HealthyThresholdCount: tg.healthCheck.healthyThresholdCount,
        UnhealthyThresholdCount: tg.healthCheck.unhealthyThresholdCount,
        HealthCheckPath: tg.healthCheck.path,
        Matcher: { HttpCode: tg.healthCheck.matcher },
        LoadBalancerArns: tg.loadBalancerArns,
        TargetType: tg.targetType,
        ProtocolVersion: 'HTTP1',
        IpAddressType: 'ipv4',
      })),
      NextMarker,
    };
  }

  /** https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeListeners.html */
  private describeListeners(params: Params): Params {
    const arns = list(params.ListenerArns);
    let listeners: ListenerRecord[];
    if (params.LoadBalancerArn) {
      listeners = this.loadBalancer(params.LoadBalancerArn).listeners;
    } else if (arns.length) {
      const all = this.allListeners();
      listeners = arns.map((arn) => {
        const found = all.find((l) => l.arn === arn);
        if (!found) throw new AwsError('ListenerNotFound', 'One or more listeners not found');
        return found;
      });
    } else {
      throw new AwsError('ValidationError', 'You must specify either listener ARNs or a load balancer ARN');
    }
    const { items, NextMarker } = page(listeners, params.Marker, params.PageSize);
    return {
      Listeners: items.map((l) => ({
        ListenerArn: l.arn,
        LoadBalancerArn: l.loadBalancerArn,
        Port: l.port,
        Protocol: l.protocol,
        DefaultActions: [this.actionShape(l.defaultAction)],
      })),
      NextMarker,
    };
  }

  /** https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeRules.html */
  private describeRules(params: Params): Params {
    const ruleArns = list(params.RuleArns);
    const all = this.allListeners();
    const rulesOf = (l: ListenerRecord): Params[] => [
      ...l.rules.map((r) => ({
        RuleArn: r.arn,
        Priority: String(r.priority),
        Conditions: [
          ...(r.pathPatterns.length
            ? [
                {
                  Field: 'path-pattern',
                  Values: r.pathPatterns,
                  PathPatternConfig: { Values: r.pathPatterns },
                },
              ]
            : []),
          ...(r.hostHeaders.length
            ? [{ Field: 'host-header', Values: r.hostHeaders, HostHeaderConfig: { Values: r.hostHeaders } }]
            : []),
        ],
        Actions: [{ ...this.actionShape(r.action), Order: 1 }],
        IsDefault: false,
      })),
      {
        RuleArn: l.defaultRuleArn,
        Priority: 'default',
        Conditions: [],
        Actions: [this.actionShape(l.defaultAction)],
        IsDefault: true,
      },
    ];
    let rules: Params[];
    if (params.ListenerArn) {
      const listener = all.find((l) => l.arn === params.ListenerArn);
      if (!listener) throw new AwsError('ListenerNotFound', 'One or more listeners not found');
      rules = rulesOf(listener);
    } else if (ruleArns.length) {
      const every = all.flatMap(rulesOf);
      rules = ruleArns.map((arn) => {
        const found = every.find((r) => r.RuleArn === arn);
        if (!found) throw new AwsError('RuleNotFound', 'One or more rules not found');
        return found;
      });
    } else {
      throw new AwsError('ValidationError', 'You must specify either listener or rule ARNs');
    }
    const { items, NextMarker } = page(rules, params.Marker, params.PageSize);
    return { Rules: items, NextMarker };
  }

  /** https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTargetHealth.html */
  private describeTargetHealth(params: Params): Params {
    const tg = this.targetGroup(params.TargetGroupArn);
    const requested = Array.isArray(params.Targets) ? (params.Targets as Params[]) : [];
    const zone = `${this.region}a`;
    const describe = (id: string, port: number) => {
      const target = tg.targets.get(`${id}:${port}`);
      if (!target) {
        return {
          Target: { Id: id, Port: port },
          HealthCheckPort: String(port),
          TargetHealth: {
            State: 'unused',
            Reason: 'Target.NotRegistered',
            Description: 'Target is not registered to the target group',
          },
        };
      }
      return {
        Target: { Id: target.id, Port: target.port, AvailabilityZone: zone },
        HealthCheckPort: String(target.port),
        TargetHealth: { State: target.state, Reason: target.reason, Description: target.description },
      };
    };
    const descriptions = requested.length
      ? requested.map((t) => describe(String(t.Id), Number(t.Port ?? tg.port)))
      : [...tg.targets.values()].map((t) => describe(t.id, t.port));
    return { TargetHealthDescriptions: descriptions };
  }

  /** https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTargetGroupAttributes.html */
  private describeTargetGroupAttributes(params: Params): Params {
    const tg = this.targetGroup(params.TargetGroupArn);
    return {
      Attributes: [
        { Key: 'deregistration_delay.timeout_seconds', Value: String(tg.deregistrationDelaySeconds) },
        { Key: 'stickiness.enabled', Value: 'false' },
        { Key: 'stickiness.type', Value: 'lb_cookie' },
        { Key: 'load_balancing.algorithm.type', Value: 'round_robin' },
        { Key: 'slow_start.duration_seconds', Value: '0' },
        { Key: 'target_group_health.dns_failover.minimum_healthy_targets.count', Value: '1' },
      ],
    };
  }
}
