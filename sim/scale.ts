/**
 * A scenario with many services of the same shapes as a base scenario's (for
 * staging: web, api, auth, admin), for scale tests and `npm run bench:scale`.
 *
 * Service i (svc-001, svc-002, …) copies base service (i - 1) mod B: its task
 * definition (cpu, memory, roles, port, awslogs, tags), its target group's
 * health check and deregistration delay, desired count, deployment
 * configuration, network configuration and grace period. Everything it owns
 * is named after it: task-definition family, container, image repository,
 * target group, log stream prefix. All of them sit behind the base's first
 * load balancer and listener: svc-001 is the listener's default, every other
 * service a path rule `/svc-00i/*` (an ALB listener holds 100 rules by
 * default, so 101 services fit one listener as in AWS).
 *
 * The base's other load balancers and listeners are left out (their target
 * groups were the base services'). Its other records (clusters, image
 * behaviours, timing, seed, task definitions no service uses, IAM, ECR,
 * stacks, faults) are kept as they are; ECR gets a repository per service.
 * The base's IAM policies name its own resources (staging's: alva-*), not the
 * generated ones: load a scaled world without `iam`, or with its mode permissive.
 */
import type { Scenario, ServiceSpec, TargetGroupSpec, TaskDefinitionSpec } from './scenario.js';

/** "svc-001" … : zero-padded to at least three digits, so names sort in order. */
export function scaleServiceName(index: number, count: number): string {
  return `svc-${String(index).padStart(Math.max(3, String(count).length), '0')}`;
}

interface Shape {
  service: ServiceSpec;
  taskDefinition: TaskDefinitionSpec;
  /** The service's first load-balancer attachment, if any, and its target group. */
  attachment?: { containerName: string; containerPort: number; targetGroup: TargetGroupSpec };
}

function familyOf(taskDefinition: string): string {
  return taskDefinition.split(':')[0]!;
}

function shapesOf(base: Scenario): Shape[] {
  const services = base.services ?? [];
  if (services.length === 0) throw new Error('scaleScenario: the base scenario has no services to copy');
  return services.map((service) => {
    const family = familyOf(service.taskDefinition);
    const taskDefinition = base.taskDefinitions.filter((td) => td.family === family).at(-1);
    if (!taskDefinition)
      throw new Error(`scaleScenario: service ${service.name}: no task definition family ${family}`);
    const lb = service.loadBalancers?.[0];
    if (!lb) return { service, taskDefinition };
    const targetGroup = (base.targetGroups ?? []).find((tg) => tg.name === lb.targetGroup);
    if (!targetGroup)
      throw new Error(`scaleScenario: service ${service.name}: no target group ${lb.targetGroup}`);
    return {
      service,
      taskDefinition,
      attachment: { containerName: lb.containerName, containerPort: lb.containerPort, targetGroup },
    };
  });
}

/** `registry/repository:tag` with the repository renamed (digest references keep their digest). */
function renameRepository(image: string, name: string): string {
  const match = /^(?:(.*)\/)?[^/:@]+((?::[^/@]*)?(?:@.*)?)$/.exec(image);
  if (!match) return image;
  const [, registry, reference = ''] = match;
  return `${registry ? `${registry}/` : ''}${name}${reference}`;
}

function scaledTaskDefinition(shape: Shape, name: string): TaskDefinitionSpec {
  const td = structuredClone(shape.taskDefinition);
  // The container the load balancer reaches (or the first) takes the service's name; images are keyed by container.
  const main = shape.attachment?.containerName ?? td.containerDefinitions[0]?.name;
  td.family = name;
  td.containerDefinitions = td.containerDefinitions.map((container) => {
    if (container.name !== main) return container;
    const copy: Record<string, unknown> = { ...container, name };
    if (typeof container.image === 'string') copy.image = renameRepository(container.image, name);
    const logging = container.logConfiguration as { options?: Record<string, string> } | undefined;
    if (logging?.options) {
      const options = { ...logging.options };
      if (options['awslogs-group'])
        options['awslogs-group'] = options['awslogs-group'].replace(/[^/]*$/, name);
      if (options['awslogs-stream-prefix']) options['awslogs-stream-prefix'] = name;
      copy.logConfiguration = { ...logging, options };
    }
    return copy;
  });
  return td;
}

/**
 * `count` services cycling through `base`'s service shapes, named svc-001….
 * Deterministic: the same base and count give the same scenario.
 */
export function scaleScenario(base: Scenario, count: number): Scenario {
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`scaleScenario: count must be a positive integer, got ${count}`);
  const shapes = shapesOf(base);
  const usedFamilies = new Set(shapes.map((s) => s.taskDefinition.family));
  const usedTargetGroups = new Set(
    shapes.flatMap((s) => (s.attachment ? [s.attachment.targetGroup.name] : [])),
  );

  const taskDefinitions: TaskDefinitionSpec[] = [];
  const targetGroups: TargetGroupSpec[] = [];
  const services: ServiceSpec[] = [];
  for (let i = 1; i <= count; i++) {
    const shape = shapes[(i - 1) % shapes.length]!;
    const name = scaleServiceName(i, count);
    taskDefinitions.push(scaledTaskDefinition(shape, name));
    const service: ServiceSpec = { ...structuredClone(shape.service), name, taskDefinition: name };
    if (shape.attachment) {
      const { targetGroup, containerPort } = shape.attachment;
      targetGroups.push({
        ...structuredClone(targetGroup),
        name,
        // A target group of its own: not the base's ARN (a loaded assembly gives one).
        arn: undefined,
        ...(targetGroup.healthCheck && {
          healthCheck: { ...targetGroup.healthCheck, path: `/${name}/health` },
        }),
      });
      service.loadBalancers = [{ targetGroup: name, containerName: name, containerPort }];
    }
    services.push(service);
  }

  const attached = services.filter((s) => s.loadBalancers?.length).map((s) => s.name);
  const [firstLb] = base.loadBalancers ?? [];
  const firstListener = firstLb?.listeners[0];
  const loadBalancers =
    firstLb && firstListener && attached.length > 0
      ? [
          {
            ...structuredClone(firstLb),
            listeners: [
              {
                port: firstListener.port,
                ...(firstListener.protocol && { protocol: firstListener.protocol }),
                defaultTargetGroup: attached[0]!,
                rules: attached.slice(1).map((name, i) => ({
                  priority: i + 1,
                  pathPatterns: [`/${name}/*`],
                  targetGroup: name,
                })),
              },
            ],
          },
        ]
      : [];

  const scenario = structuredClone(base);
  scenario.name = `${base.name ?? 'scenario'}-x${count}`;
  scenario.taskDefinitions = [
    ...scenario.taskDefinitions.filter((td) => !usedFamilies.has(td.family)),
    ...taskDefinitions,
  ];
  scenario.targetGroups = [
    ...(scenario.targetGroups ?? []).filter((tg) => !usedTargetGroups.has(tg.name)),
    ...targetGroups,
  ];
  scenario.loadBalancers = loadBalancers;
  scenario.services = services;
  if (scenario.ecr)
    scenario.ecr.repositories = [...scenario.ecr.repositories, ...services.map((s) => s.name)];
  return scenario;
}
