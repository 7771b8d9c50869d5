/**
 * Request throttling as AWS applies it: per account and Region, token buckets
 * shared by groups of actions, each with a maximum capacity (the burst) and a
 * refill rate (the sustained rate). A call takes one token from each of its
 * buckets; with a bucket empty it is refused, "Rate exceeded", and the SDK
 * retries it after its back-off. A CallGate (sim/service.ts), on by default;
 * a scenario's `throttling` turns it off or changes rates.
 *
 * Buckets refill in simulated time. Clients of the simulator scale their waits
 * (poll intervals, waiter delays) by its speed, so their calls per simulated
 * second are their calls per second against AWS; measured in real time, a
 * client polling once a second at speed 20 would look 20 times as fast as it
 * is. What is not scaled, the SDK's retry back-off and each call's latency,
 * lasts `speed` times longer in simulated time, so a throttled client recovers
 * sooner than on AWS: the rates are AWS's, the recovery is lenient (sim/README.md).
 *
 * Sources (default quotas of every account; AWS Support may raise them):
 * - ECS: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html
 *   ("Request Token Bucket Sizes and Refill Rates"). StopServiceDeployment is in
 *   none of its categories and is not throttled here.
 * - ELBv2: https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-api-throttling.html:
 *   a bucket per category, and an account-level bucket (40, 10 per second)
 *   shared by every ELB API action, so each call takes a token from both.
 * - CloudWatch Logs: per-action TPS quotas, "CloudWatch Logs Limits" in the
 *   user guide's source (github.com/awsdocs/amazon-cloudwatch-logs-user-guide,
 *   doc_source/cloudwatch_limits_cwl.md; the current page is
 *   https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html).
 *   A TPS quota has no documented burst: the bucket holds one second's worth.
 * - ECR: GetAuthorizationToken, 200 tokens refilled at 20 per second, as
 *   https://docs.aws.amazon.com/AmazonECR/latest/userguide/common-errors.html describes it.
 * - SSM Parameter Store: 40 TPS (default throughput) shared by GetParameter,
 *   GetParameters and GetParametersByPath (https://docs.aws.amazon.com/general/latest/gr/ssm.html).
 *
 * The error: ECS, Logs and ECR (JSON protocol) answer HTTP 400
 * `ThrottlingException` "Rate exceeded", as the ECS page shows; ELBv2 (Query
 * protocol) answers HTTP 400 `Throttling` "Rate exceeded", the Query services'
 * code (the ELB page names the exception ThrottlingException; the SDK retries both).
 */
import { AwsError, type CallGate, type GatedCall } from './service.js';

export interface BucketRate {
  /** Bucket maximum capacity: the burst, in calls. */
  capacity: number;
  /** Tokens added per (simulated) second: the sustained rate. */
  refillPerSecond: number;
}

/** The scenario's `throttling`: absent, AWS's documented rates apply. */
export interface ThrottlingSpec {
  /** Default true. false: no call is ever throttled. */
  enabled?: boolean;
  /**
   * Rates instead of the documented ones. Keyed by a bucket id
   * ("ecs:service-read", "elbv2:account"; GET /_sim/throttling lists them) to
   * change that bucket, or by an action ("ecs:DescribeServices") to give that
   * action a bucket of its own instead of its category's. false: that bucket
   * or action is never throttled.
   */
  overrides?: Record<string, BucketRate | false>;
}

export interface BucketDefinition extends BucketRate {
  /** "<service>:<category>", e.g. "ecs:service-read". */
  id: string;
  /** The category as the source names it. */
  title: string;
  service: string;
  /** The actions that share it; empty for an account-level bucket every action of the service takes from. */
  operations: string[];
  source: string;
}

const ECS_SOURCE = 'https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html';
const ELB_SOURCE =
  'https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-api-throttling.html';
const LOGS_SOURCE = 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html';
const ECR_SOURCE = 'https://docs.aws.amazon.com/AmazonECR/latest/userguide/common-errors.html';
const SSM_SOURCE = 'https://docs.aws.amazon.com/general/latest/gr/ssm.html';

function ecs(id: string, title: string, capacity: number, refillPerSecond: number, operations: string[]) {
  return {
    id: `ecs:${id}`,
    title,
    service: 'ecs',
    operations,
    capacity,
    refillPerSecond,
    source: ECS_SOURCE,
  };
}

/** Every documented bucket, in the sources' order. */
export const AWS_BUCKETS: readonly BucketDefinition[] = [
  ecs('cluster-modify', 'Cluster modify actions', 20, 1, [
    'CreateCluster',
    'DeleteCluster',
    'PutClusterCapacityProviders',
    'UpdateCluster',
    'UpdateClusterSettings',
  ]),
  ecs('cluster-read', 'Cluster read actions', 50, 20, ['DescribeClusters', 'ListClusters']),
  ecs('task-definition-modify', 'Task definition modify actions', 20, 1, [
    'DeregisterTaskDefinition',
    'RegisterTaskDefinition',
  ]),
  ecs('task-definition-read', 'Task definition read actions', 50, 20, [
    'DescribeTaskDefinition',
    'ListTaskDefinitions',
    'ListTaskDefinitionFamilies',
  ]),
  ecs('task-definition-delete', 'Task definition deletion actions', 5, 1, ['DeleteTaskDefinitions']),
  ecs('capacity-provider-modify', 'Capacity provider modify actions', 10, 1, [
    'CreateCapacityProvider',
    'DeleteCapacityProvider',
    'UpdateCapacityProvider',
  ]),
  ecs('capacity-provider-read', 'Capacity provider read actions', 50, 20, ['DescribeCapacityProviders']),
  ecs('tag-modify', 'Tag modify actions', 20, 10, ['TagResource', 'UntagResource']),
  ecs('tag-read', 'Tag read actions', 50, 20, ['ListTagsForResource']),
  ecs('setting-modify', 'Setting modify actions', 10, 1, [
    'DeleteAccountSetting',
    'PutAccountSetting',
    'PutAccountSettingDefault',
  ]),
  ecs('setting-read', 'Setting read actions', 50, 20, ['ListAccountSettings']),
  ecs('cluster-resource-modify', 'Cluster resource modify actions', 100, 40, [
    'DeleteAttributes',
    'DeregisterContainerInstance',
    'ExecuteCommand',
    'PutAttributes',
    'RunTask',
    'StartTask',
    'StopTask',
    'UpdateContainerAgent',
    'UpdateContainerInstancesStates',
  ]),
  ecs('cluster-resource-read', 'Cluster resource read actions', 100, 20, [
    'DescribeContainerInstances',
    'DescribeTasks',
    'ListAttributes',
    'ListContainerInstances',
    'ListTasks',
  ]),
  ecs('agent-modify', 'Agent modify actions', 200, 120, [
    'RegisterContainerInstance',
    'SubmitAttachmentStateChanges',
    'SubmitContainerStateChange',
    'SubmitTaskStateChange',
  ]),
  ecs('service-modify', 'Service modify actions', 50, 5, ['CreateService', 'DeleteService', 'UpdateService']),
  ecs('service-read', 'Service read actions', 100, 20, ['DescribeServices', 'ListServices']),
  ecs('service-deployment', 'Service deployment actions', 50, 20, [
    'DescribeServiceDeployments',
    'ListServiceDeployments',
  ]),
  ecs('service-revision', 'Service revision actions', 50, 20, ['DescribeServiceRevisions']),
  ecs('task-protection', 'Task protection actions', 200, 80, ['UpdateTaskProtection', 'GetTaskProtection']),
  ecs('cluster-service-resource-read', 'Cluster service resource read actions', 10, 1, [
    'ListServicesByNamespace',
  ]),
  {
    id: 'elbv2:account',
    title: 'Account-level throttling limit shared across all Elastic Load Balancing API actions',
    service: 'elbv2',
    operations: [],
    capacity: 40,
    refillPerSecond: 10,
    source: ELB_SOURCE,
  },
  {
    id: 'elbv2:resource-intensive',
    title: 'Resource-intensive actions',
    service: 'elbv2',
    operations: ['CreateLoadBalancer', 'SetSubnets'],
    capacity: 10,
    refillPerSecond: 0.2,
    source: ELB_SOURCE,
  },
  {
    id: 'elbv2:registration',
    title: 'Registration actions',
    service: 'elbv2',
    operations: ['RegisterTargets', 'DeregisterTargets'],
    capacity: 20,
    refillPerSecond: 4,
    source: ELB_SOURCE,
  },
  {
    id: 'elbv2:non-mutating',
    title: 'Non-mutating actions',
    service: 'elbv2',
    operations: [
      'DescribeAccountLimits',
      'DescribeCapacityReservation',
      'DescribeListenerAttributes',
      'DescribeListenerCertificates',
      'DescribeListeners',
      'DescribeLoadBalancerAttributes',
      'DescribeLoadBalancers',
      'DescribeRules',
      'DescribeSSLPolicies',
      'DescribeTags',
      'DescribeTargetGroupAttributes',
      'DescribeTargetGroups',
      'DescribeTargetHealth',
    ],
    capacity: 40,
    refillPerSecond: 10,
    source: ELB_SOURCE,
  },
  {
    id: 'elbv2:mutating',
    title: 'Mutating actions',
    service: 'elbv2',
    operations: [
      'AddListenerCertificates',
      'AddTags',
      'CreateListener',
      'CreateRule',
      'CreateTargetGroup',
      'DeleteListener',
      'DeleteLoadBalancer',
      'DeleteRule',
      'DeleteTargetGroup',
      'ModifyCapacityReservation',
      'ModifyIpPools',
      'ModifyListener',
      'ModifyListenerAttributes',
      'ModifyLoadBalancerAttributes',
      'ModifyRule',
      'ModifyTargetGroup',
      'ModifyTargetGroupAttributes',
      'RemoveListenerCertificates',
      'RemoveTags',
      'SetIpAddressType',
      'SetRulePriorities',
      'SetSecurityGroups',
    ],
    capacity: 20,
    refillPerSecond: 3,
    source: ELB_SOURCE,
  },
  ...(
    [
      ['DescribeLogStreams', 5],
      ['FilterLogEvents', 5],
      ['GetLogEvents', 10],
    ] as const
  ).map(([operation, tps]) => ({
    id: `logs:${operation}`,
    title: `${operation}: ${tps} transactions per second per account per Region`,
    service: 'logs',
    operations: [operation],
    capacity: tps,
    refillPerSecond: tps,
    source: LOGS_SOURCE,
  })),
  {
    id: 'ecr:GetAuthorizationToken',
    title: 'GetAuthorizationToken: 200 credits, replenished at 20 per second',
    service: 'ecr',
    operations: ['GetAuthorizationToken'],
    capacity: 200,
    refillPerSecond: 20,
    source: ECR_SOURCE,
  },
  {
    // Parameter Store's default throughput: 40 TPS shared by the three reads (PutParameter's own is not documented there).
    id: 'ssm:parameter-read',
    title:
      'Max throughput (transactions per second), default throughput: GetParameter, GetParameters, GetParametersByPath',
    service: 'ssm',
    operations: ['GetParameter', 'GetParameters', 'GetParametersByPath'],
    capacity: 40,
    refillPerSecond: 40,
    source: SSM_SOURCE,
  },
];

/** Services whose wire protocol is Query: their throttling code is `Throttling`. */
const QUERY_SERVICES = new Set(['elbv2']);

/** A token bucket on a clock of (simulated) epoch milliseconds. */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;
  allowed = 0;
  throttled = 0;

  constructor(
    readonly rate: BucketRate,
    now: number,
  ) {
    if (!(rate.capacity >= 1) || !(rate.refillPerSecond >= 0))
      throw new Error(`a bucket needs capacity >= 1 and refillPerSecond >= 0, got ${JSON.stringify(rate)}`);
    this.tokens = rate.capacity;
    this.refilledAt = now;
  }

  /** Tokens in the bucket at `now` (whole and fractional). */
  level(now: number): number {
    if (now > this.refilledAt) {
      this.tokens = Math.min(
        this.rate.capacity,
        this.tokens + ((now - this.refilledAt) / 1000) * this.rate.refillPerSecond,
      );
      this.refilledAt = now;
    }
    return this.tokens;
  }

  take(): void {
    this.tokens -= 1;
    this.allowed += 1;
  }
}

interface Bucket {
  readonly id: string;
  readonly definition?: BucketDefinition;
  readonly bucket: TokenBucket;
}

/** What GET /_sim/throttling answers. */
export interface ThrottlingSummary {
  enabled: boolean;
  /** Refused calls, by "<service>:<operation>". */
  throttledByOperation: Record<string, number>;
  throttled: number;
  buckets: {
    id: string;
    title?: string;
    capacity: number;
    refillPerSecond: number;
    tokens: number;
    allowed: number;
    throttled: number;
    source?: string;
  }[];
}

/**
 * The rate-limit gate of one loaded account. `now` is simulated epoch ms
 * (the world's clock).
 */
export class ThrottleGate implements CallGate {
  readonly enabled: boolean;
  private readonly buckets = new Map<string, Bucket>();
  /** "<service>:<operation>" → the buckets it takes from (resolved on first call). */
  private readonly routes = new Map<string, Bucket[]>();
  private readonly throttledByOperation: Record<string, number> = {};
  private readonly overrides: Record<string, BucketRate | false>;

  constructor(
    spec: ThrottlingSpec | undefined,
    private readonly now: () => number,
    private readonly definitions: readonly BucketDefinition[] = AWS_BUCKETS,
  ) {
    this.enabled = spec?.enabled ?? true;
    this.overrides = spec?.overrides ?? {};
    for (const [key, value] of Object.entries(this.overrides)) {
      const known = definitions.some((d) => d.id === key);
      if (!known && !/^[a-z0-9-]+:[A-Z][A-Za-z0-9]*$/.test(key))
        throw new Error(
          `throttling override ${key}: not a bucket id (${definitions.map((d) => d.id).join(', ')}) nor "<service>:<Action>"`,
        );
      if (value !== false) new TokenBucket(value, 0); // validates the rate at load
    }
  }

  check(call: GatedCall): Record<string, unknown> | void {
    if (!this.enabled) return;
    const buckets = this.route(call.service, call.operation);
    if (buckets.length === 0) return;
    const now = this.now();
    const empty = buckets.find((b) => b.bucket.level(now) < 1);
    if (empty) {
      empty.bucket.throttled += 1;
      const key = `${call.service}:${call.operation}`;
      this.throttledByOperation[key] = (this.throttledByOperation[key] ?? 0) + 1;
      throw new ThrottledError(
        QUERY_SERVICES.has(call.service) ? 'Throttling' : 'ThrottlingException',
        empty.id,
      );
    }
    for (const b of buckets) b.bucket.take();
  }

  summary(): ThrottlingSummary {
    const now = this.now();
    const throttledByOperation = { ...this.throttledByOperation };
    return {
      enabled: this.enabled,
      throttled: Object.values(throttledByOperation).reduce((a, b) => a + b, 0),
      throttledByOperation,
      buckets: [...this.buckets.values()].map(({ id, definition, bucket }) => ({
        id,
        ...(definition && { title: definition.title }),
        capacity: bucket.rate.capacity,
        refillPerSecond: bucket.rate.refillPerSecond,
        tokens: Math.round(bucket.level(now) * 100) / 100,
        allowed: bucket.allowed,
        throttled: bucket.throttled,
        ...(definition && { source: definition.source }),
      })),
    };
  }

  /** The buckets a call takes from: its action's (or its category's), and its service's account-level one. */
  private route(service: string, operation: string): Bucket[] {
    const key = `${service}:${operation}`;
    let route = this.routes.get(key);
    if (route) return route;
    route = [];
    const own = this.overrides[key];
    if (own !== false) {
      // The account-level bucket first: when both are empty, it is the one a caller hits.
      for (const account of this.definitions.filter(
        (d) => d.service === service && d.operations.length === 0,
      )) {
        const rate = this.overrides[account.id];
        if (rate !== false) route.push(this.bucket(account.id, rate ?? account, account));
      }
      const category = this.definitions.find(
        (d) => d.service === service && d.operations.includes(operation),
      );
      if (own) route.push(this.bucket(key, own));
      else if (category) {
        const rate = this.overrides[category.id];
        if (rate !== false) route.push(this.bucket(category.id, rate ?? category, category));
      }
    }
    this.routes.set(key, route);
    return route;
  }

  private bucket(id: string, rate: BucketRate, definition?: BucketDefinition): Bucket {
    let bucket = this.buckets.get(id);
    if (!bucket) {
      bucket = {
        id,
        ...(definition && { definition }),
        bucket: new TokenBucket(
          { capacity: rate.capacity, refillPerSecond: rate.refillPerSecond },
          this.now(),
        ),
      };
      this.buckets.set(id, bucket);
    }
    return bucket;
  }
}

/** A throttled call: AWS's error, and what the call log records of it (`gate.throttled`: the empty bucket). */
export class ThrottledError extends AwsError {
  readonly gate: Record<string, unknown>;
  constructor(code: 'Throttling' | 'ThrottlingException', bucket: string) {
    super(code, 'Rate exceeded', 400);
    this.gate = { throttled: bucket };
  }
}
