/**
 * "previous" for rollback-to: the last revision that completed successfully
 * before the current one, never one the circuit breaker rolled back.
 */
import { describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DescribeServiceRevisionsCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  ListTaskDefinitionsCommand,
  type Deployment,
  type Service,
  type ServiceDeploymentStatus,
} from '@aws-sdk/client-ecs';
import { previousTaskDefinition } from '../../../lib/ecs/previous.js';

const arn = (family: string, revision: number) =>
  `arn:aws:ecs:us-east-1:123456789012:task-definition/${family}:${revision}`;
const revisionArn = (n: number) =>
  `arn:aws:ecs:us-east-1:123456789012:service-revision/alva/alva-api/${String(n).padStart(19, '0')}`;

interface HistoryEntry {
  status: ServiceDeploymentStatus;
  revision: number;
  /** Minutes since an arbitrary start: larger is newer. */
  at: number;
}

/**
 * An ECS mock whose ServiceDeployment API holds `history` (one service revision
 * per entry, on alva-api:<revision>) and applies the status filter as ECS does.
 */
function ecsWith(history: HistoryEntry[], family: string[] = []) {
  const ecs = mockClient(ECSClient);
  ecs.on(ListServiceDeploymentsCommand).callsFake((input: { status?: string[] }) => ({
    serviceDeployments: history
      .map((h, i) => ({ ...h, i }))
      .filter((h) => !input.status?.length || input.status.includes(h.status))
      .map((h) => ({
        serviceDeploymentArn: `sd-${h.i}`,
        status: h.status,
        createdAt: new Date(Date.UTC(2026, 0, 1, 0, h.at)),
        targetServiceRevisionArn: revisionArn(h.i),
      })),
  }));
  ecs.on(DescribeServiceRevisionsCommand).callsFake((input: { serviceRevisionArns: string[] }) => {
    if (input.serviceRevisionArns.length > 20) throw new Error('at most 20 ARNs');
    return {
      serviceRevisions: input.serviceRevisionArns.map((r) => ({
        serviceRevisionArn: r,
        taskDefinition: arn('alva-api', history[Number(r.slice(-19))]!.revision),
      })),
    };
  });
  ecs.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: family });
  return ecs;
}

function service(current: number, deployments: Partial<Deployment>[] = []): Service {
  return {
    serviceName: 'alva-api',
    taskDefinition: arn('alva-api', current),
    deployments: deployments.map((d, i) => ({
      id: `ecs-svc/${i}`,
      createdAt: new Date(Date.UTC(2026, 0, 2, 0, 10 - i)),
      ...d,
    })),
  };
}

/** :1 and :2 deployed fine; :3 failed and the circuit breaker took the service back to :2. */
const afterCircuitBreaker: HistoryEntry[] = [
  { status: 'SUCCESSFUL', revision: 1, at: 1 },
  { status: 'SUCCESSFUL', revision: 2, at: 2 },
  { status: 'ROLLBACK_SUCCESSFUL', revision: 3, at: 3 },
];

describe('previousTaskDefinition', () => {
  it('after a circuit-breaker rollback, picks the last successful revision before the current one, not the failed one', async () => {
    const ecs = ecsWith(afterCircuitBreaker);
    const previous = await previousTaskDefinition(
      new ECSClient({ region: 'us-east-1' }),
      'alva',
      service(2, [{ status: 'PRIMARY', taskDefinition: arn('alva-api', 2), rolloutState: 'COMPLETED' }]),
    );
    expect(previous).toEqual({ taskDefinition: arn('alva-api', 1), source: 'service-deployments' });
    ecs.restore();
  });

  it('while the circuit breaker rolls back (the failed deployment still drains), does not take the failed one', async () => {
    const history: HistoryEntry[] = [...afterCircuitBreaker];
    history[2] = { status: 'ROLLBACK_IN_PROGRESS', revision: 3, at: 3 };
    const ecs = ecsWith(history);
    const previous = await previousTaskDefinition(
      new ECSClient({ region: 'us-east-1' }),
      'alva',
      service(2, [
        { status: 'PRIMARY', taskDefinition: arn('alva-api', 2), rolloutState: 'IN_PROGRESS' },
        { status: 'ACTIVE', taskDefinition: arn('alva-api', 3), rolloutState: 'FAILED' },
      ]),
    );
    expect(previous).toEqual({ taskDefinition: arn('alva-api', 1), source: 'service-deployments' });
    ecs.restore();
  });

  it('during a deploy, takes the draining deployment that had completed, without reading the history', async () => {
    const ecs = ecsWith(afterCircuitBreaker);
    const previous = await previousTaskDefinition(
      new ECSClient({ region: 'us-east-1' }),
      'alva',
      service(5, [
        { status: 'PRIMARY', taskDefinition: arn('alva-api', 5), rolloutState: 'IN_PROGRESS' },
        // superseded before it completed: never a success
        { status: 'ACTIVE', taskDefinition: arn('alva-api', 4), rolloutState: 'IN_PROGRESS' },
        { status: 'ACTIVE', taskDefinition: arn('alva-api', 2), rolloutState: 'COMPLETED' },
      ]),
    );
    expect(previous).toEqual({ taskDefinition: arn('alva-api', 2), source: 'deployments' });
    expect(ecs.commandCalls(ListServiceDeploymentsCommand)).toHaveLength(0);
    ecs.restore();
  });

  it('reads the history newest first whatever order ECS lists it in, past the first 20 revisions', async () => {
    const history: HistoryEntry[] = [];
    // 30 successful deployments of :9 (the current one), listed out of order, and :8 the oldest
    history.push({ status: 'SUCCESSFUL', revision: 7, at: 0 });
    history.push({ status: 'SUCCESSFUL', revision: 8, at: 1 });
    for (let i = 0; i < 30; i++) history.push({ status: 'SUCCESSFUL', revision: 9, at: 100 - i });
    history.push({ status: 'ROLLBACK_SUCCESSFUL', revision: 10, at: 200 });
    history.reverse();
    const ecs = ecsWith(history);
    const previous = await previousTaskDefinition(new ECSClient({ region: 'us-east-1' }), 'alva', service(9));
    expect(previous).toEqual({ taskDefinition: arn('alva-api', 8), source: 'service-deployments' });
    for (const call of ecs.commandCalls(ListServiceDeploymentsCommand))
      expect(call.args[0].input.status).toEqual(['SUCCESSFUL']);
    ecs.restore();
  });

  it('without the ServiceDeployment API (access denied), falls back to the newest older revision of the family', async () => {
    const ecs = ecsWith(
      [],
      [arn('alva-api-worker', 9), arn('alva-api', 3), arn('alva-api', 2), arn('alva-api', 1)],
    );
    ecs
      .on(ListServiceDeploymentsCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const previous = await previousTaskDefinition(new ECSClient({ region: 'us-east-1' }), 'alva', service(3));
    expect(previous).toEqual({ taskDefinition: arn('alva-api', 2), source: 'family' });
    ecs.restore();
  });

  it('does not guess from the family when the history cannot be read for another reason (throttled)', async () => {
    const ecs = ecsWith([], [arn('alva-api', 3), arn('alva-api', 2)]);
    ecs
      .on(ListServiceDeploymentsCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(
      previousTaskDefinition(new ECSClient({ region: 'us-east-1' }), 'alva', service(3)),
    ).rejects.toThrow(/Rate exceeded/);
    expect(ecs.commandCalls(ListTaskDefinitionsCommand)).toHaveLength(0);
    ecs.restore();
  });

  it('has no answer when only the current revision ever succeeded and the family has nothing older', async () => {
    const ecs = ecsWith(
      [
        { status: 'SUCCESSFUL', revision: 1, at: 1 },
        { status: 'ROLLBACK_SUCCESSFUL', revision: 2, at: 2 },
      ],
      [arn('alva-api', 2), arn('alva-api', 1)],
    );
    const previous = await previousTaskDefinition(new ECSClient({ region: 'us-east-1' }), 'alva', service(1));
    expect(previous).toBeUndefined();
    ecs.restore();
  });
});
