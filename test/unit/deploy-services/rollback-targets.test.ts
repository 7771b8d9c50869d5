/**
 * prepare, rollback-to mode: a service only ever returns to a revision of the
 * family it runs, and `previous` is the last one that succeeded. Judged from
 * the calls made: a refusal comes before any call that changes anything.
 */
import { describe, expect, it } from '@jest/globals';
import {
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ListServiceDeploymentsCommand,
  ListTaskDefinitionsCommand,
  type Service,
} from '@aws-sdk/client-ecs';
import { InputError } from '../../../lib/errors.js';
import { planRollbackTo } from '../../../lib/ecs/deploy.js';
import { mockedEcs } from './blue-green-service.js';

const ACCOUNT = '123456789012';
const arn = (family: string, revision: number, region = 'us-east-1', account = ACCOUNT) =>
  `arn:aws:ecs:${region}:${account}:task-definition/${family}:${revision}`;

function setup(services: Record<string, Service> = {}) {
  const { ecs, clients, mutating } = mockedEcs();
  const all: Record<string, Service> = {
    'alva-web': { serviceName: 'alva-web', status: 'ACTIVE', taskDefinition: arn('alva-web', 3) },
    'alva-api': { serviceName: 'alva-api', status: 'ACTIVE', taskDefinition: arn('alva-api', 5) },
    ...services,
  };
  ecs.on(DescribeServicesCommand).callsFake((input: { services: string[] }) => ({
    services: input.services.map((s) => all[s]),
  }));
  ecs.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition: string }) => {
    const name = input.taskDefinition.slice(input.taskDefinition.lastIndexOf('/') + 1);
    const [family, revision] = name.split(':');
    return {
      taskDefinition: {
        taskDefinitionArn: input.taskDefinition.startsWith('arn:')
          ? input.taskDefinition
          : arn(family!, Number(revision)),
        family,
        revision: Number(revision),
        status: 'ACTIVE',
      },
      tags: [],
    };
  });
  return { ecs, clients, mutating };
}

async function refusal(promise: Promise<unknown>): Promise<InputError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

describe("planRollbackTo: only the service's own family", () => {
  it('refuses a revision of another family ("family:revision"), naming the service, the family it runs and the fix', async () => {
    const { ecs, clients, mutating } = setup();
    const error = await refusal(planRollbackTo(clients, 'alva', ['alva-web'], { 'alva-web': 'alva-api:5' }));
    expect(error.message).toMatch(/Input "rollback-to"/);
    expect(error.message).toMatch(/alva-api:5 is a revision of family "alva-api"/);
    expect(error.message).toMatch(/service "alva-web" runs family "alva-web" \(alva-web:3\)/);
    expect(error.message).toMatch(/Fix: give a revision of alva-web/);
    expect(mutating()).toBe(0);
    ecs.restore();
  });

  it('refuses a task-definition ARN of another family', async () => {
    const { ecs, clients, mutating } = setup();
    const error = await refusal(
      planRollbackTo(clients, 'alva', ['alva-web', 'alva-api'], { 'alva-web': arn('alva-api', 4) }),
    );
    expect(error.message).toMatch(/service "alva-web" runs family "alva-web"/);
    expect(mutating()).toBe(0);
    ecs.restore();
  });

  it('refuses a revision of the same family name in another account or region', async () => {
    const { ecs, clients, mutating } = setup();
    const error = await refusal(
      planRollbackTo(clients, 'alva', ['alva-web'], { 'alva-web': arn('alva-web', 2, 'eu-west-1') }),
    );
    expect(error.message).toMatch(/is in aws:eu-west-1:123456789012.*are in aws:us-east-1:123456789012/);
    expect(mutating()).toBe(0);
    ecs.restore();
  });

  it('refuses what ECS says is another family, even when the reference looked right', async () => {
    const { ecs, clients, mutating } = setup();
    ecs.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: { taskDefinitionArn: arn('alva-api', 2), family: 'alva-api', status: 'ACTIVE' },
    });
    const error = await refusal(planRollbackTo(clients, 'alva', ['alva-web'], { 'alva-web': 2 }));
    expect(error.message).toMatch(
      /is a revision of family "alva-api", but service "alva-web" runs family "alva-web"/,
    );
    expect(mutating()).toBe(0);
    ecs.restore();
  });

  it("a revision number means that revision of each service's own family", async () => {
    const { ecs, clients } = setup();
    const plan = await planRollbackTo(clients, 'alva', ['alva-web', 'alva-api'], {
      'alva-web': 2,
      'alva-api': '4',
    });
    expect(plan.services.map((s) => [s.service, s.target])).toEqual([
      ['alva-web', arn('alva-web', 2)],
      ['alva-api', arn('alva-api', 4)],
    ]);
    ecs.restore();
  });

  it('accepts "family:revision" and the ARN of the service\'s own family', async () => {
    const { ecs, clients } = setup();
    const plan = await planRollbackTo(clients, 'alva', ['alva-web', 'alva-api'], {
      'alva-web': 'alva-web:1',
      'alva-api': arn('alva-api', 2),
    });
    expect(plan.services.map((s) => s.target)).toEqual([arn('alva-web', 1), arn('alva-api', 2)]);
    ecs.restore();
  });
});

describe('planRollbackTo: previous', () => {
  it('after a circuit-breaker rollback, targets the last SUCCESSFUL revision, not the one rolled back', async () => {
    const { ecs, clients, mutating } = setup({
      'alva-api': {
        serviceName: 'alva-api',
        status: 'ACTIVE',
        taskDefinition: arn('alva-api', 5),
        deployments: [
          {
            id: 'ecs-svc/2',
            status: 'PRIMARY',
            taskDefinition: arn('alva-api', 5),
            rolloutState: 'IN_PROGRESS',
          },
          { id: 'ecs-svc/1', status: 'ACTIVE', taskDefinition: arn('alva-api', 6), rolloutState: 'FAILED' },
        ],
      },
    });
    ecs.on(ListServiceDeploymentsCommand).resolves({
      serviceDeployments: [
        { targetServiceRevisionArn: 'rev-5', status: 'SUCCESSFUL', createdAt: new Date(2000) },
        { targetServiceRevisionArn: 'rev-4', status: 'SUCCESSFUL', createdAt: new Date(1000) },
      ],
    });
    ecs.on(DescribeServiceRevisionsCommand).resolves({
      serviceRevisions: [
        { serviceRevisionArn: 'rev-5', taskDefinition: arn('alva-api', 5) },
        { serviceRevisionArn: 'rev-4', taskDefinition: arn('alva-api', 4) },
      ],
    });
    const plan = await planRollbackTo(clients, 'alva', ['alva-api'], 'previous');
    expect(plan.services[0]).toMatchObject({ current: arn('alva-api', 5), target: arn('alva-api', 4) });
    expect(mutating()).toBe(0);
    ecs.restore();
  });

  it('refuses, before any change, a service with no earlier successful revision', async () => {
    const { ecs, clients, mutating } = setup();
    ecs.on(ListServiceDeploymentsCommand).resolves({ serviceDeployments: [] });
    ecs.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [arn('alva-web', 3)] });
    const error = await refusal(planRollbackTo(clients, 'alva', ['alva-web'], 'previous'));
    expect(error.message).toMatch(
      /service "alva-web" runs alva-web:3 and no earlier revision of it completed successfully/,
    );
    expect(error.message).toMatch(/Fix: give the revision explicitly/);
    expect(mutating()).toBe(0);
    ecs.restore();
  });
});
