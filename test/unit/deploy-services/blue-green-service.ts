/**
 * Shared fixtures of the deploy-services unit tests: a mocked ECS with the clients
 * the recipe takes, and alva-web as a BLUE_GREEN service whose deployment is under
 * way (ECS's service deployment and service revision records included), so each
 * test file states only its scenario.
 */
import { mockClient } from 'aws-sdk-client-mock';
import {
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type Deployment,
  type Service,
  type ServiceDeployment,
} from '@aws-sdk/client-ecs';
import type { EcsClients } from '../../../lib/ecs/clients.js';

export const ACCOUNT = '123456789012';
export const taskDefinitionArn = (
  family: string,
  revision: number,
  region = 'us-east-1',
  account = ACCOUNT,
) => `arn:aws:ecs:${region}:${account}:task-definition/${family}:${revision}`;
/** The instant alva-web's deployment under way was created. */
export const t0 = new Date('2026-01-01T00:00:10.250Z');

/** A mocked ECS, the clients on it (ELBv2 and logs unused), and how many calls changed anything. */
export function mockedEcs() {
  const ecs = mockClient(ECSClient);
  const clients: EcsClients = {
    ecs: new ECSClient({ region: 'us-east-1' }),
    elbv2: () => Promise.reject(new Error('not used')),
    logs: () => Promise.reject(new Error('not used')),
  };
  const mutating = () =>
    ecs.commandCalls(RegisterTaskDefinitionCommand).length + ecs.commandCalls(UpdateServiceCommand).length;
  return { ecs, clients, mutating };
}

type MockedEcs = ReturnType<typeof mockedEcs>['ecs'];

/** DescribeServices answers the next service of the sequence on each call, the last one for ever after. */
export function describeInSequence(ecs: MockedEcs, sequence: Service[]) {
  let call = 0;
  ecs
    .on(DescribeServicesCommand)
    .callsFake(() => ({ services: [sequence[Math.min(call++, sequence.length - 1)]] }));
}

/** alva-web's task definitions by revision (a name is answered with its ARN); image repo/web:1 unless `images` says. */
export function describeAlvaWebTaskDefinitions(ecs: MockedEcs, images: Record<number, string> = {}) {
  ecs.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition: string }) => {
    const revision = Number(input.taskDefinition.split(':').at(-1));
    return {
      taskDefinition: {
        taskDefinitionArn: input.taskDefinition.startsWith('arn:')
          ? input.taskDefinition
          : taskDefinitionArn('alva-web', revision),
        family: 'alva-web',
        status: 'ACTIVE',
        containerDefinitions: [{ name: 'web', image: images[revision] ?? 'repo/web:1' }],
      },
      tags: [],
    };
  });
}

export interface BlueGreenSpec {
  /** The deployment under way: ecs-svc/<name>, and the last part of its service deployment's ARN. */
  name: string;
  /** Its task definition revision of alva-web. */
  revision: number;
  /** The number of its service revision. */
  serviceRevision: number;
  /** The deployment beside it until it is done (ACTIVE, COMPLETED). */
  beside: { name: string; revision: number };
  /** Images of alva-web's revisions other than repo/web:1. */
  images?: Record<number, string>;
}

/** alva-web, BLUE_GREEN, with the deployment of `spec` PRIMARY beside another one; `world` mocks ECS around it. */
export function blueGreenService(spec: BlueGreenSpec) {
  const arn = (revision: number) => taskDefinitionArn('alva-web', revision);
  const SD = `arn:aws:ecs:us-east-1:${ACCOUNT}:service-deployment/alva/alva-web/${spec.name}`;
  const REVISION = `arn:aws:ecs:us-east-1:${ACCOUNT}:service-revision/alva/alva-web/${spec.serviceRevision}`;
  const beside: Deployment = {
    id: `ecs-svc/${spec.beside.name}`,
    status: 'ACTIVE',
    taskDefinition: arn(spec.beside.revision),
    rolloutState: 'COMPLETED',
    runningCount: 1,
    desiredCount: 1,
  };

  /** In progress beside the other deployment, or done (alone). */
  function service(done = false): Service {
    return {
      serviceName: 'alva-web',
      status: 'ACTIVE',
      // The service's task definition is the new deployment's from UpdateService on, as for any deployment.
      taskDefinition: arn(spec.revision),
      desiredCount: 1,
      deploymentConfiguration: { strategy: 'BLUE_GREEN' },
      deployments: [
        {
          id: `ecs-svc/${spec.name}`,
          status: 'PRIMARY',
          taskDefinition: arn(spec.revision),
          desiredCount: 1,
          runningCount: 1,
          rolloutState: done ? 'COMPLETED' : 'IN_PROGRESS',
          createdAt: t0,
        },
        ...(done ? [] : [beside]),
      ],
    };
  }

  /** ECS's record of the deployment: its status, lifecycle stage and production traffic weight. */
  const at = (status: string, stage: string, production: number): ServiceDeployment => ({
    serviceDeploymentArn: SD,
    status: status as ServiceDeployment['status'],
    lifecycleStage: stage as ServiceDeployment['lifecycleStage'],
    targetServiceRevision: {
      arn: REVISION,
      requestedProductionTrafficWeight: production,
      requestedTestTrafficWeight: 100,
    },
  });

  /** DescribeServices answers `services` in turn, DescribeServiceDeployments `reads` in turn (counted). */
  function world(services: Service[], reads: ServiceDeployment[]) {
    const { ecs, clients, mutating } = mockedEcs();
    let read = 0;
    describeInSequence(ecs, services);
    describeAlvaWebTaskDefinitions(ecs, spec.images);
    ecs
      .on(ListTaskDefinitionsCommand)
      .resolves({ taskDefinitionArns: [spec.revision, spec.beside.revision].sort((a, b) => a - b).map(arn) });
    ecs.on(ListServiceDeploymentsCommand).resolves({
      serviceDeployments: [{ serviceDeploymentArn: SD, createdAt: t0, targetServiceRevisionArn: REVISION }],
    });
    ecs
      .on(DescribeServiceRevisionsCommand)
      .resolves({ serviceRevisions: [{ serviceRevisionArn: REVISION, taskDefinition: arn(spec.revision) }] });
    ecs
      .on(DescribeServiceDeploymentsCommand)
      .callsFake(() => ({ serviceDeployments: [reads[Math.min(read++, reads.length - 1)]] }));
    return { ecs, clients, mutating, reads: () => read };
  }

  return { arn, SD, REVISION, beside, service, at, world };
}
