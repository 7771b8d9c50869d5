import { describe, expect, it } from '@jest/globals';
import { createHandler, type HookEvent } from '../lambda/release-gate/index.mjs';

const parameter = '/alva-staging/release-gate';
const green =
  'arn:aws:ecs:us-east-1:123456789012:service-revision/alva-staging-cluster/alva-api/4444444444444444444';
const other =
  'arn:aws:ecs:us-east-1:123456789012:service-revision/alva-staging-cluster/alva-auth/5555555555555555555';

/** An event as the ECS developer guide's "Lifecycle hooks" payloads show it, at POST_TEST_TRAFFIC_SHIFT. */
const event: HookEvent = {
  executionId: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111',
  lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT',
  resourceArn:
    'arn:aws:ecs:us-east-1:123456789012:service-deployment/alva-staging-cluster/alva-api/abcdEXAMPLE',
  executionDetails: {
    serviceArn: 'arn:aws:ecs:us-east-1:123456789012:service/alva-staging-cluster/alva-api',
    targetServiceRevisionArn: green,
    testTrafficWeights: { [green]: 100 },
    productionTrafficWeights: {},
  },
};

/** A handler reading `gate` (a value, undefined for a missing parameter, or an error to throw). */
function gateHandler(gate: unknown) {
  const reads: string[] = [];
  const lines: string[] = [];
  const handler = createHandler({
    readGate: (name) => {
      reads.push(name);
      if (gate instanceof Error) return Promise.reject(gate);
      return Promise.resolve(
        gate === undefined ? undefined : typeof gate === 'string' ? gate : JSON.stringify(gate),
      );
    },
    environment: { GATE_PARAMETER: parameter, CALLBACK_DELAY_SECONDS: '15' },
    log: (line) => lines.push(line),
  });
  return { handler, reads, lines };
}

const awsError = (name: string, status: number, retryable = false) =>
  Object.assign(new Error(`${name} happened`), {
    name,
    $metadata: { httpStatusCode: status },
    ...(retryable ? { $retryable: { throttling: true } } : {}),
  });

describe('release gate hook', () => {
  it('fails a deployment when the release closed the gate, naming the release and reason in its log', async () => {
    const { handler, reads, lines } = gateHandler({
      release: 'run-7',
      state: 'closed',
      reason: 'verify failed: auth',
    });
    expect(await handler(event)).toEqual({ hookStatus: 'FAILED' });
    expect(reads).toEqual([parameter]);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      hookStatus: 'FAILED',
      reason: 'release run-7 closed the gate: verify failed: auth',
      targetServiceRevision: green,
      lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT',
    });
  });

  it('holds (IN_PROGRESS with callBackDelay) while the release verifies', async () => {
    const { handler } = gateHandler({ release: 'run-7', state: 'pending' });
    expect(await handler(event)).toEqual({ hookStatus: 'IN_PROGRESS', callBackDelay: 15 });
  });

  it('passes a revision the open gate lists, and holds one it does not', async () => {
    expect(
      await gateHandler({ release: 'run-7', state: 'open', revisions: [other, green] }).handler(event),
    ).toEqual({
      hookStatus: 'SUCCEEDED',
    });
    expect(await gateHandler({ release: 'run-7', state: 'open', revisions: [other] }).handler(event)).toEqual(
      {
        hookStatus: 'IN_PROGRESS',
        callBackDelay: 15,
      },
    );
    expect(await gateHandler({ release: 'run-7', state: 'open' }).handler(event)).toEqual({
      hookStatus: 'IN_PROGRESS',
      callBackDelay: 15,
    });
  });

  it('fails on a gate it cannot understand: missing, not JSON, an unknown state, no revision in the event', async () => {
    for (const gate of [undefined, 'open', '[1]', { state: 'opened' }, 'null']) {
      expect(await gateHandler(gate).handler(event)).toEqual({ hookStatus: 'FAILED' });
    }
    const { handler, lines } = gateHandler({ release: 'run-7', state: 'open', revisions: [green] });
    expect(await handler({ ...event, executionDetails: {} })).toEqual({ hookStatus: 'FAILED' });
    expect(lines[0]).toContain('names no target service revision');
  });

  it('asks again after a transient read error, and fails on a refusal', async () => {
    expect(await gateHandler(awsError('ThrottlingException', 400, true)).handler(event)).toEqual({
      hookStatus: 'IN_PROGRESS',
      callBackDelay: 15,
    });
    expect(await gateHandler(awsError('InternalServerError', 500)).handler(event)).toEqual({
      hookStatus: 'IN_PROGRESS',
      callBackDelay: 15,
    });
    const refused = gateHandler(awsError('AccessDeniedException', 400));
    expect(await refused.handler(event)).toEqual({ hookStatus: 'FAILED' });
    expect(refused.lines[0]).toContain('AccessDeniedException');
  });

  it('fails when it is not told which parameter holds the gate', async () => {
    const handler = createHandler({ readGate: () => Promise.resolve('{}'), environment: {}, log: () => {} });
    expect(await handler(event)).toEqual({ hookStatus: 'FAILED' });
  });
});
