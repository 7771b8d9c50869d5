/**
 * lib/gate: the gate's value built from the `deployments` contract, the
 * ownership rules, and the SSM write with its read-back (aws-sdk-client-mock).
 * Refusals first: every one names the input and the fix, and none writes.
 */
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { parseDeployments } from '../../../lib/contracts/deployments.js';
import { OperationError } from '../../../lib/errors.js';
import {
  checkParameterName,
  checkReleaseId,
  decideGateWrite,
  gatedRevisions,
  gateText,
  parseGateState,
} from '../../../lib/gate/gate.js';
import { setGate } from '../../../lib/gate/write.js';
import { memoryLog } from '../../../lib/log.js';
import { inputError } from '../contracts/input-error.js';

const GATE = '/alva-staging/release-gate';
const REV = (service: string) => `arn:aws:ecs:us-east-1:123456789012:service-revision/alva/${service}/77`;
const TD = (family: string, rev: number) =>
  `arn:aws:ecs:us-east-1:123456789012:task-definition/${family}:${rev}`;

const entry = (service: string, fields: Record<string, unknown>) => ({
  service,
  taskDefinition: TD(service, 2),
  previousTaskDefinition: TD(service, 1),
  status: 'deployed',
  ...fields,
});

describe('the gate refuses bad input, naming it and the fix', () => {
  it.each([
    [
      'an ARN',
      'arn:aws:ssm:us-east-1:123456789012:parameter/alva-staging/release-gate',
      /is an ARN, not a name/,
    ],
    ['a name with spaces', 'release gate', /is not an SSM parameter name/],
    ['a path without a leading slash', 'alva-staging/release-gate', /does not start with "\/"/],
  ])('parameter: %s', (_label, raw, message) => {
    const err = inputError(() => checkParameterName(raw));
    expect(err.input).toBe('parameter');
    expect(err.message).toMatch(message);
    expect(err.message).toContain('ReleaseGateParameterName');
  });

  it('state: anything but pending, open, closed', () => {
    const err = inputError(() => parseGateState('opened'));
    expect(err.input).toBe('state');
    expect(err.message).toMatch(/"opened" is not a gate state\. Fix: use pending .*, open .* or closed/);
  });

  it('release: an id the hook could not print', () => {
    expect(inputError(() => checkReleaseId('a\nb')).input).toBe('release');
    expect(inputError(() => checkReleaseId('x'.repeat(257))).message).toMatch(/run_attempt/);
  });

  it('deployments for open: a blue/green entry without its service revision', () => {
    const deployments = parseDeployments(JSON.stringify({ web: entry('web', { strategy: 'BLUE_GREEN' }) }));
    const err = inputError(() => gatedRevisions(deployments));
    expect(err.input).toBe('deployments');
    expect(err.message).toMatch(/the entry for web \(BLUE_GREEN\) has no "serviceRevisionArn"/);
    expect(err.message).toContain('steps.deploy.outputs.deployments');
  });

  it('deployments for open: a canary entry that did not reach test traffic', () => {
    const deployments = parseDeployments(
      JSON.stringify({
        api: entry('api', { strategy: 'CANARY', status: 'failed', serviceRevisionArn: REV('api') }),
      }),
    );
    expect(inputError(() => gatedRevisions(deployments)).message).toMatch(
      /api \(CANARY\) is "failed", not deployed to test traffic/,
    );
  });

  it('a gate longer than a String parameter holds', () => {
    const revisions = Array.from({ length: 40 }, (_, i) => `${REV('web')}${'0'.repeat(100)}${i}`);
    expect(inputError(() => gateText({ release: 'r', state: 'open', revisions })).message).toMatch(
      /more than a standard SSM parameter holds \(4096\)/,
    );
  });
});

describe('gatedRevisions: what open lets shift production', () => {
  it('the service revision of every BLUE_GREEN, LINEAR and CANARY entry; rolling and unchanged ones have none', () => {
    const deployments = parseDeployments(
      JSON.stringify({
        web: entry('web', { strategy: 'BLUE_GREEN', serviceRevisionArn: REV('web') }),
        api: entry('api', { strategy: 'LINEAR', serviceRevisionArn: REV('api') }),
        auth: entry('auth', { strategy: 'CANARY', serviceRevisionArn: REV('auth') }),
        admin: entry('admin', { strategy: 'ROLLING' }),
        worker: entry('worker', { status: 'unchanged' }),
      }),
    );
    expect(gatedRevisions(deployments)).toEqual([REV('web'), REV('api'), REV('auth')]);
  });

  it('none: an all-rolling release opens a gate that lists nothing', () => {
    expect(
      gatedRevisions(parseDeployments(JSON.stringify({ web: entry('web', { strategy: 'ROLLING' }) }))),
    ).toEqual([]);
  });
});

describe('the ownership rules', () => {
  const held = (release: string, state = 'pending') => ({
    exists: true,
    gate: { release, state: state as 'pending' },
  });
  it('open refuses a gate another release took, and one nobody wrote', () => {
    expect(decideGateWrite('open', 'run-1', held('run-2'))).toMatchObject({
      kind: 'refuse',
      reason: expect.stringMatching(
        /release run-2 holds the gate \(pending\), not this release \(run-1\): a newer run took it/,
      ),
    });
    expect(decideGateWrite('open', 'run-1', { exists: false })).toMatchObject({
      kind: 'refuse',
      reason: expect.stringMatching(/does not exist.*never wrote pending/),
    });
  });
  it('closed leaves another release’s gate alone, saying who holds it', () => {
    expect(decideGateWrite('closed', 'run-1', held('run-2', 'open'))).toMatchObject({
      kind: 'leave',
      reason: expect.stringMatching(
        /release run-2 holds the gate \(open\).*closing it would roll that release back/,
      ),
    });
  });
  it('closed writes over an absent gate or its own; pending always writes, saying whom it took the gate from', () => {
    expect(decideGateWrite('closed', 'run-1', { exists: false })).toEqual({ kind: 'write' });
    expect(decideGateWrite('closed', 'run-1', held('run-1', 'open'))).toEqual({ kind: 'write' });
    expect(decideGateWrite('open', 'run-1', held('run-1'))).toEqual({ kind: 'write' });
    expect(decideGateWrite('pending', 'run-1', { exists: false })).toEqual({ kind: 'write' });
    expect(decideGateWrite('pending', 'run-2', held('run-1', 'closed'))).toEqual({
      kind: 'write',
      note: 'taking the gate from release run-1 (closed)',
    });
  });
});

describe('setGate: PutParameter, then GetParameter reads it back', () => {
  const ssm = mockClient(SSMClient);
  let stored: string | undefined;
  beforeEach(() => {
    ssm.reset();
    stored = undefined;
    ssm.on(GetParameterCommand).callsFake(() => {
      if (stored === undefined)
        return Promise.reject(Object.assign(new Error('not found'), { name: 'ParameterNotFound' }));
      return Promise.resolve({ Parameter: { Name: GATE, Value: stored, Version: 3 } });
    });
    ssm.on(PutParameterCommand).callsFake((input: { Value: string }) => {
      stored = input.Value;
      return Promise.resolve({ Version: 3 });
    });
  });
  const client = () => new SSMClient({ region: 'us-east-1' });

  it('open over another release’s gate: refused, nothing written', async () => {
    stored = JSON.stringify({ release: 'run-2', state: 'pending', revisions: [] });
    const err = await setGate(
      client(),
      { parameter: GATE, state: 'open', release: 'run-1', revisions: [REV('web')] },
      memoryLog(),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationError);
    expect((err as Error).message).toMatch(
      /Refused to open the release gate \/alva-staging\/release-gate: release run-2 holds/,
    );
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('closed over another release’s gate: left alone, with a warning naming it', async () => {
    stored = JSON.stringify({ release: 'run-2', state: 'open', revisions: [REV('web')] });
    const log = memoryLog();
    const outcome = await setGate(client(), { parameter: GATE, state: 'closed', release: 'run-1' }, log);
    expect(outcome).toMatchObject({ written: false, value: stored });
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
    expect(log.lines.join('\n')).toMatch(/warning: Release gate .* not closed: release run-2 holds the gate/);
  });

  it('a lost race: the value read back is another release’s', async () => {
    ssm.on(PutParameterCommand).callsFake(() => {
      stored = JSON.stringify({ release: 'run-9', state: 'pending' });
      return Promise.resolve({ Version: 4 });
    });
    await expect(
      setGate(client(), { parameter: GATE, state: 'pending', release: 'run-1' }, memoryLog()),
    ).rejects.toThrow(/reads .*run-9.* right after this release \(run-1\) wrote pending/);
  });

  it('AccessDenied on the write: says which permissions the role needs', async () => {
    ssm
      .on(PutParameterCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const err = (await setGate(
      client(),
      { parameter: GATE, state: 'pending', release: 'run-1' },
      memoryLog(),
    ).catch((e: unknown) => e)) as OperationError;
    expect(err.message).toMatch(/Could not write the release gate .* \(pending\): AccessDeniedException/);
    expect(err.details.join('\n')).toMatch(
      /ssm:GetParameter and ssm:PutParameter on \/alva-staging\/release-gate/,
    );
  });

  it('pending → open → closed by one release: each a String written with Overwrite, read back', async () => {
    const log = memoryLog();
    const pending = await setGate(client(), { parameter: GATE, state: 'pending', release: 'run-1' }, log);
    expect(JSON.parse(pending.value!)).toEqual({ release: 'run-1', state: 'pending', revisions: [] });
    const open = await setGate(
      client(),
      { parameter: GATE, state: 'open', release: 'run-1', revisions: [REV('web'), REV('api')] },
      log,
    );
    expect(JSON.parse(open.value!)).toEqual({
      release: 'run-1',
      state: 'open',
      revisions: [REV('web'), REV('api')],
    });
    const closed = await setGate(
      client(),
      { parameter: GATE, state: 'closed', release: 'run-1', reason: 'verify failed' },
      log,
    );
    expect(JSON.parse(closed.value!)).toEqual({
      release: 'run-1',
      state: 'closed',
      revisions: [],
      reason: 'verify failed',
    });
    expect(ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({ Name: GATE, Type: 'String', Overwrite: true }),
      expect.objectContaining({ Name: GATE, Type: 'String', Overwrite: true }),
      expect.objectContaining({ Name: GATE, Type: 'String', Overwrite: true }),
    ]);
    expect(log.lines).toContain(`Release gate ${GATE}: open for release run-1 (2 revision(s)), version 3`);
  });

  it('closed with no gate at all: written', async () => {
    const outcome = await setGate(
      client(),
      { parameter: GATE, state: 'closed', release: 'run-1' },
      memoryLog(),
    );
    expect(outcome.written).toBe(true);
    expect(JSON.parse(stored!)).toMatchObject({ release: 'run-1', state: 'closed' });
  });
});
