/**
 * The real rollback.yml, run by the local runner against the simulator: every
 * `to` (previous, a revision number, a JSON map, tag:<tag>) on a subset of the
 * services, and the refusals, judged from the simulator's state and call log.
 */
import { describe, expect, it } from '@jest/globals';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type RegisterTaskDefinitionCommandInput,
  type Service,
} from '@aws-sdk/client-ecs';
import {
  CLUSTER,
  ECR,
  SECRET,
  primaryTaskDefinitions,
  runStagingWorkflow,
  useFreshStagingWorld,
  type WorkflowRun,
} from './staging-world.js';

const td = (family: string, revision: number) =>
  `arn:aws:ecs:us-east-1:123456789012:task-definition/${family}:${revision}`;

const world = useFreshStagingWorld();

function rollback(
  inputs: { services: string; to?: string },
  vars: Record<string, string> = {},
): Promise<WorkflowRun> {
  return runStagingWorkflow(world, 'rollback.yml', {
    inputs: inputs.to === undefined ? { services: inputs.services } : { ...inputs, to: inputs.to },
    vars,
  });
}

async function describe1(service: string): Promise<Service> {
  const { services = [] } = await world.ecs.send(
    new DescribeServicesCommand({ cluster: CLUSTER, services: [service] }),
  );
  return services[0]!;
}

/** Each service's PRIMARY task definition, from the simulator. */
const primaries = () => primaryTaskDefinitions(world);

/** Registers the next revision of `family` with its one container on `tag`. */
async function registerRevision(family: string, tag: string): Promise<string> {
  const { taskDefinition: source } = await world.ecs.send(
    new DescribeTaskDefinitionCommand({ taskDefinition: family }),
  );
  const container = source!.containerDefinitions![0]!;
  const input: RegisterTaskDefinitionCommandInput = {
    family,
    networkMode: source!.networkMode,
    requiresCompatibilities: source!.requiresCompatibilities,
    cpu: source!.cpu,
    memory: source!.memory,
    executionRoleArn: source!.executionRoleArn,
    containerDefinitions: [{ ...container, image: container.image!.replace(/:[^:]+$/, `:${tag}`) }],
  };
  const { taskDefinition } = await world.ecs.send(new RegisterTaskDefinitionCommand(input));
  return taskDefinition!.taskDefinitionArn!;
}

/** Waits (real time, the simulator runs 30× faster) until `done` holds for the service. */
async function waitFor(service: string, done: (s: Service) => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (done(await describe1(service))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${service} never reached: ${what}`);
}

const completedOn = (arn: string) => (s: Service) =>
  s.deployments?.length === 1 &&
  s.deployments[0]!.taskDefinition === arn &&
  s.deployments[0]!.rolloutState === 'COMPLETED';

function mutatingCalls(since: number) {
  return world.sim
    .calls(since)
    .filter((c) => c.service === 'ecs' && c.mutating)
    .map((c) => `${c.operation} ${String(c.params.service ?? c.params.family ?? '')}`);
}

function updates(since: number): { service: string; taskDefinition: string }[] {
  return world.sim
    .calls(since)
    .filter((c) => c.service === 'ecs' && c.operation === 'UpdateService')
    .map((c) => ({ service: String(c.params.service), taskDefinition: String(c.params.taskDefinition) }));
}

describe('rollback.yml through the local runner', () => {
  it('after a circuit-breaker rollback, to: previous returns the service to the last successful revision, not the failed one', async () => {
    const good = await registerRevision('alva-api', 'good-r2');
    await world.ecs.send(
      new UpdateServiceCommand({ cluster: CLUSTER, service: 'alva-api', taskDefinition: good }),
    );
    await waitFor('alva-api', completedOn(good), 'alva-api:2 COMPLETED');
    const broken = await registerRevision('alva-api', 'broken-r3');
    await world.ecs.send(
      new UpdateServiceCommand({ cluster: CLUSTER, service: 'alva-api', taskDefinition: broken }),
    );
    // The circuit breaker fails alva-api:3 and rolls the service back to alva-api:2.
    await waitFor('alva-api', completedOn(good), 'the circuit breaker rolled back to alva-api:2');
    expect(
      world.sim.events().some((e) => e.kind === 'deployment.failed' && e.detail.service === 'alva-api'),
    ).toBe(true);

    const mark = world.sim.calls().length;
    const { run, log } = await rollback({ services: 'alva-api' }); // to: previous, the default
    expect(run.conclusion).toBe('success');
    expect(updates(mark)).toEqual([{ service: 'alva-api', taskDefinition: td('alva-api', 1) }]);
    expect((await primaries())['alva-api']).toBe(td('alva-api', 1));
    expect(log).not.toContain(SECRET);
  });

  it('to: 3 puts two of four services on revision 3 of their own family and leaves the others alone', async () => {
    for (const family of ['alva-web', 'alva-api', 'alva-auth']) {
      await registerRevision(family, 'r2');
      await registerRevision(family, 'r3');
    }
    const before = await primaries();
    const mark = world.sim.calls().length;
    const { run } = await rollback({ services: 'alva-web, alva-api', to: '3' });
    expect(run.conclusion).toBe('success');
    const after = await primaries();
    expect(after).toEqual({
      ...before,
      'alva-web': td('alva-web', 3),
      'alva-api': td('alva-api', 3),
    });
    expect(
      updates(mark)
        .map((u) => u.service)
        .sort(),
    ).toEqual(['alva-api', 'alva-web']);
  });

  it('a JSON map over several lines, with quotes, reaches deploy-services intact', async () => {
    await registerRevision('alva-web', 'r2');
    const mark = world.sim.calls().length;
    const { run } = await rollback({ services: 'alva-web', to: '{\n  "alva-web": "alva-web:2"\n}' });
    expect(run.conclusion).toBe('success');
    expect(updates(mark)).toEqual([{ service: 'alva-web', taskDefinition: td('alva-web', 2) }]);
  });

  it("to: tag:abc for one service deploys that service's image of the tag, and nothing else", async () => {
    const before = await primaries();
    const mark = world.sim.calls().length;
    const { run } = await rollback({ services: 'alva-auth', to: 'tag:abc' }, { ECR_REGISTRY: ECR });
    expect(run.conclusion).toBe('success');
    const after = await primaries();
    expect({ ...after, 'alva-auth': before['alva-auth'] }).toEqual(before);
    const { taskDefinition } = await world.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: after['alva-auth'] }),
    );
    expect(taskDefinition!.containerDefinitions!.map((c) => [c.name, c.image])).toEqual([
      ['auth', `${ECR}/alva-auth:abc`],
    ]);
    expect(updates(mark).map((u) => u.service)).toEqual(['alva-auth']);
  });

  it.each([
    ['a path', 'tag:../../x'],
    ['a space and a shell character', 'tag:a b;c'],
    ['a leading dot', 'tag:.abc'],
    ['nothing', 'tag:'],
    ['129 characters', `tag:${'a'.repeat(129)}`],
  ])('a tag that is not a Docker tag (%s) is refused before any AWS call', async (_label, to) => {
    const mark = world.sim.calls().length;
    const { run, log } = await rollback({ services: 'alva-web', to }, { ECR_REGISTRY: ECR });
    expect(run.conclusion).toBe('failure');
    expect(world.sim.calls(mark)).toEqual([]);
    expect(log).toMatch(/Input "to": .* is not an image tag/);
  });

  it('a revision of another family is refused, naming the service and the family it runs, with no change', async () => {
    const before = await primaries();
    const mark = world.sim.calls().length;
    const { run, log } = await rollback({ services: 'alva-web', to: '{"alva-web": "alva-api:1"}' });
    expect(run.conclusion).toBe('failure');
    expect(mutatingCalls(mark)).toEqual([]);
    expect(await primaries()).toEqual(before);
    expect(log).toMatch(/service "alva-web" runs family "alva-web"/);
  });
});
