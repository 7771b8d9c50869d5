/**
 * RunTask: where ECS places a one-off task (launch type, capacity provider,
 * subnet), the failures it answers instead, and the idempotency of its
 * clientToken.
 */
import type { EcsEngine } from '../../ecs/engine.js';
import type { ClusterRecord, ServiceRecord, Tag } from '../../ecs/records.js';
import { AwsError } from '../../service.js';
import { clusterOf, invalid, taskDefinitionOf, type Params } from './request.js';
import { taskShape } from './shapes.js';

/** RunTask client tokens are remembered for 24 hours (ECS_Idempotency.html). */
const CLIENT_TOKEN_TTL_MS = 24 * 3600_000;

/** JSON with object keys sorted: two requests with the same parameters give the same text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html
 * Placement as ECS decides it: without launchType or a strategy, the
 * cluster's default capacity provider strategy; with none, the EC2 launch
 * type, which fails in failures[] since the simulator has no container
 * instances ("No Container Instances were found in your cluster."). Fargate
 * in a subnet the scenario marks capacity-unavailable fails in failures[]
 * too; a capacity provider not associated with the cluster is an
 * InvalidParameterException.
 */
export function runTask(engine: EcsEngine, params: Params): Params {
  const cluster = clusterOf(engine, params);
  const { clientToken, ...request } = params;
  if (clientToken === undefined) return startTasks(engine, cluster, params);
  // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/ECS_Idempotency.html: a retry with the
  // same token and parameters gets the original reply and starts nothing; other parameters conflict.
  if (typeof clientToken !== 'string' || !/^[\x21-\x7e]{1,64}$/.test(clientToken)) {
    throw invalid('clientToken must be 1 to 64 ASCII characters from 33 to 126.');
  }
  const key = canonicalJson(request);
  const now = engine.now();
  const seen = cluster.runTaskTokens.get(clientToken);
  if (seen && now - seen.at < CLIENT_TOKEN_TTL_MS) {
    if (seen.request === key) return seen.reply;
    throw new AwsError(
      'ConflictException',
      'The RunTask request could not be processed due to conflicts. The provided clientToken is already in use with a different RunTask request.',
      400,
      { resourceIds: ((seen.reply.tasks ?? []) as Params[]).map((t) => t.taskArn) },
    );
  }
  const reply = startTasks(engine, cluster, params);
  cluster.runTaskTokens.set(clientToken, { request: key, reply, at: now });
  return reply;
}

function startTasks(engine: EcsEngine, cluster: ClusterRecord, params: Params): Params {
  const td = taskDefinitionOf(engine, params.taskDefinition);
  if (td.status !== 'ACTIVE') throw new AwsError('ClientException', 'TaskDefinition is inactive');
  const count = Number(params.count ?? 1);
  if (!Number.isInteger(count) || count < 1 || count > 10) throw invalid('count must be between 1 and 10.');
  if (params.launchType && params.capacityProviderStrategy) {
    throw invalid(
      'Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.',
    );
  }
  let strategy = params.capacityProviderStrategy as { capacityProvider: string }[] | undefined;
  let launchType = params.launchType as string | undefined;
  if (!launchType && !strategy?.length) {
    strategy = cluster.spec.defaultCapacityProviderStrategy;
    if (!strategy?.length) launchType = 'EC2';
  }
  let capacityProviderName: string | undefined;
  if (!launchType && strategy?.length) {
    const associated = cluster.spec.capacityProviders ?? [];
    for (const item of strategy) {
      if (!associated.includes(item.capacityProvider)) {
        throw invalid(
          'The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.',
        );
      }
    }
    capacityProviderName = strategy[0].capacityProvider;
    launchType = capacityProviderName.startsWith('FARGATE') ? 'FARGATE' : 'EC2';
  }
  const network = params.networkConfiguration as ServiceRecord['networkConfiguration'];
  const subnets = network?.awsvpcConfiguration?.subnets ?? [];
  if (td.body.networkMode === 'awsvpc' && subnets.length === 0) {
    throw invalid("Network Configuration must be provided when networkMode 'awsvpc' is specified.");
  }
  const failures: Params[] = [];
  const tasks: Params[] = [];
  if (launchType === 'EC2') {
    for (let i = 0; i < count; i++)
      failures.push({ reason: 'No Container Instances were found in your cluster.' });
    return { tasks, failures };
  }
  const unavailable = new Set(cluster.spec.capacityUnavailableSubnets ?? []);
  const usable = subnets.filter((s) => !unavailable.has(s));
  if (subnets.length > 0 && usable.length === 0) {
    for (let i = 0; i < count; i++) {
      failures.push({
        arn: subnets[0],
        reason:
          'Capacity is unavailable at this time. Please try again later or in a different availability zone',
      });
    }
    return { tasks, failures };
  }
  for (let i = 0; i < count; i++) {
    const task = engine.launchTask(cluster, td, {
      launchType,
      capacityProviderName,
      subnet: usable[i % Math.max(usable.length, 1)],
      startedBy: params.startedBy as string | undefined,
      group: params.group as string | undefined,
      overrides: {
        containerOverrides: [],
        inferenceAcceleratorOverrides: [],
        ...(params.overrides as Params | undefined),
      },
      tags: params.tags as Tag[] | undefined,
    });
    tasks.push(taskShape(engine, task, false));
  }
  return { tasks, failures };
}
