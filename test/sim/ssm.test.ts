/**
 * The simulator's Parameter Store (sim/services/ssm.ts) through the real SDK:
 * what it refuses first (names, types, duplicates, missing parameters), then
 * versions, SecureString, paths, the scenario's parameters, IAM on the
 * parameter's ARN and the documented read throughput.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { startSim, type Sim } from '../../sim/index.js';
import type { Scenario } from '../../sim/scenario.js';

const ACCOUNT = '123456789012';
const GATE = '/alva/staging/release-gate/run-42';

function world(extra: Partial<Scenario> = {}): Scenario {
  return {
    name: 'ssm',
    clusters: [],
    taskDefinitions: [],
    ssmParameters: [
      { name: GATE, value: 'closed' },
      { name: '/alva/staging/db-password', type: 'SecureString', value: 's3cret' },
      { name: '/alva/staging/nested/deep', value: 'x' },
      { name: 'plain-name', value: 'p' },
    ],
    ...extra,
  };
}

const keys = { accessKeyId: 'AKIDSIMULATOR', secretAccessKey: 'simulator' };
const client = (sim: Sim, credentials = keys) =>
  new SSMClient({ endpoint: sim.url, region: 'us-east-1', credentials, maxAttempts: 1 });

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    return { name: (err as Error).name, message: (err as Error).message };
  }
  throw new Error('the call succeeded');
}

describe('SSM Parameter Store', () => {
  let sim: Sim;
  let ssm: SSMClient;
  beforeAll(async () => {
    sim = await startSim({ scenario: world(), port: 0, speed: 1 });
    ssm = client(sim);
  });
  afterAll(async () => {
    ssm.destroy();
    await sim.close();
  });

  it('refuses names SSM refuses, before anything is written', async () => {
    const put = (Name: string) =>
      errorOf(ssm.send(new PutParameterCommand({ Name, Value: 'v', Type: 'String' })));
    for (const name of ['aws-thing', '/ssm/x', '/AWS/x', 'a b', 'no/leading/slash', '/a//b', '/a/b$c']) {
      expect(`${name}: ${(await put(name)).name}`).toBe(`${name}: ValidationException`);
    }
    const deep = `/${Array.from({ length: 16 }, (_, i) => `l${i}`).join('/')}`;
    expect((await put(deep)).name).toBe('HierarchyLevelLimitExceededException');
    expect((await put('x'.repeat(1012))).name).toBe('ValidationException');
    expect((await put('/a/not-fully:qualified')).name).toBe('ValidationException');
    const writes = sim.calls().filter((c) => c.operation === 'PutParameter' && c.status === 200);
    expect(writes).toEqual([]);
  });

  it('refuses a new parameter without a type, an unknown type, an empty or oversized value, a value off its AllowedPattern', async () => {
    expect((await errorOf(ssm.send(new PutParameterCommand({ Name: '/n/t', Value: 'v' })))).message).toBe(
      'A parameter type is required when you create a parameter.',
    );
    const typeError = await errorOf(
      ssm.send(new PutParameterCommand({ Name: '/n/t', Value: 'v', Type: 'Number' as never })),
    );
    expect(typeError.name).toBe('ValidationException');
    expect(typeError.message).toContain('[SecureString, StringList, String]');
    expect(
      (await errorOf(ssm.send(new PutParameterCommand({ Name: '/n/t', Value: '', Type: 'String' })))).name,
    ).toBe('ValidationException');
    expect(
      (
        await errorOf(
          ssm.send(new PutParameterCommand({ Name: '/n/t', Value: 'x'.repeat(4097), Type: 'String' })),
        )
      ).message,
    ).toMatch(/^Standard tier parameters support a maximum parameter value of 4096 characters/);
    expect(
      (
        await errorOf(
          ssm.send(
            new PutParameterCommand({ Name: '/n/t', Value: 'abc', Type: 'String', AllowedPattern: '^\\d+$' }),
          ),
        )
      ).name,
    ).toBe('ParameterPatternMismatchException');
    expect((await errorOf(ssm.send(new GetParameterCommand({ Name: '/n/t' })))).name).toBe(
      'ParameterNotFound',
    );
  });

  it('ParameterAlreadyExists without Overwrite, and the value is unchanged', async () => {
    const err = await errorOf(
      ssm.send(new PutParameterCommand({ Name: GATE, Value: 'open', Type: 'String' })),
    );
    expect(err.name).toBe('ParameterAlreadyExists');
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: GATE }));
    expect(Parameter).toMatchObject({ Value: 'closed', Version: 1 });
  });

  it('ParameterNotFound for a missing parameter (get, delete), ParameterVersionNotFound for a missing version', async () => {
    expect((await errorOf(ssm.send(new GetParameterCommand({ Name: '/alva/none' })))).name).toBe(
      'ParameterNotFound',
    );
    expect((await errorOf(ssm.send(new DeleteParameterCommand({ Name: '/alva/none' })))).name).toBe(
      'ParameterNotFound',
    );
    expect((await errorOf(ssm.send(new GetParameterCommand({ Name: `${GATE}:9` })))).name).toBe(
      'ParameterVersionNotFound',
    );
  });

  it('changing a String to a SecureString on overwrite is HierarchyTypeMismatchException', async () => {
    const err = await errorOf(
      ssm.send(new PutParameterCommand({ Name: GATE, Value: 'x', Type: 'SecureString', Overwrite: true })),
    );
    expect(err.name).toBe('HierarchyTypeMismatchException');
  });

  it('GetParameters: more than 10 names is a ValidationException; names not found are InvalidParameters', async () => {
    const names = Array.from({ length: 11 }, (_, i) => `/p/${i}`);
    expect((await errorOf(ssm.send(new GetParametersCommand({ Names: names })))).name).toBe(
      'ValidationException',
    );
    const got = await ssm.send(new GetParametersCommand({ Names: [GATE, '/alva/none', 'plain-name'] }));
    expect(got.Parameters?.map((p) => p.Name)).toEqual([GATE, 'plain-name']);
    expect(got.InvalidParameters).toEqual(['/alva/none']);
  });

  it('overwrite makes a new version; name:version selects an old one; the ARN drops the leading slash', async () => {
    const before = sim.now();
    const put = await ssm.send(
      new PutParameterCommand({
        Name: GATE,
        Value: 'open',
        Overwrite: true,
        Description: 'the release gate',
      }),
    );
    expect(put).toMatchObject({ Version: 2, Tier: 'Standard' });
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: GATE }));
    expect(Parameter).toMatchObject({
      Name: GATE,
      Type: 'String',
      Value: 'open',
      Version: 2,
      DataType: 'text',
      ARN: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter${GATE}`,
    });
    expect(Parameter!.LastModifiedDate!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    const old = await ssm.send(new GetParameterCommand({ Name: `${GATE}:1` }));
    expect(old.Parameter).toMatchObject({ Value: 'closed', Version: 1, Selector: ':1' });
    const byArn = await ssm.send(new GetParameterCommand({ Name: Parameter!.ARN }));
    expect(byArn.Parameter?.Value).toBe('open');
    const plain = await ssm.send(new GetParameterCommand({ Name: 'plain-name' }));
    expect(plain.Parameter?.ARN).toBe(`arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/plain-name`);
    // Overwrite keeps the type when none is given.
    const list = await ssm.send(
      new PutParameterCommand({ Name: '/n/list', Value: 'a,b', Type: 'StringList', Overwrite: true }),
    );
    expect(list.Version).toBe(1);
  });

  it('SecureString: opaque without WithDecryption, the value with it', async () => {
    const sealed = await ssm.send(new GetParameterCommand({ Name: '/alva/staging/db-password' }));
    expect(sealed.Parameter?.Type).toBe('SecureString');
    expect(sealed.Parameter?.Value).not.toContain('s3cret');
    const open = await ssm.send(
      new GetParameterCommand({ Name: '/alva/staging/db-password', WithDecryption: true }),
    );
    expect(open.Parameter?.Value).toBe('s3cret');
  });

  it('GetParametersByPath: direct children, or every level with Recursive, paged by MaxResults', async () => {
    const direct = await ssm.send(new GetParametersByPathCommand({ Path: '/alva/staging' }));
    expect(direct.Parameters?.map((p) => p.Name)).toEqual(['/alva/staging/db-password']);
    const all: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await ssm.send(
        new GetParametersByPathCommand({ Path: '/alva', Recursive: true, MaxResults: 2, NextToken }),
      );
      expect(page.Parameters!.length).toBeLessThanOrEqual(2);
      all.push(...page.Parameters!.map((p) => p.Name!));
      NextToken = page.NextToken;
    } while (NextToken);
    expect(all).toEqual([
      '/alva/staging/db-password',
      '/alva/staging/nested/deep',
      '/alva/staging/release-gate/run-42',
    ]);
    expect(
      (await errorOf(ssm.send(new GetParametersByPathCommand({ Path: '/alva', MaxResults: 11 })))).name,
    ).toBe('ValidationException');
  });

  it('DeleteParameter removes it; the call log marks the writes as mutating', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/n/gone', Value: 'v', Type: 'String' }));
    await ssm.send(new DeleteParameterCommand({ Name: '/n/gone' }));
    expect((await errorOf(ssm.send(new GetParameterCommand({ Name: '/n/gone' })))).name).toBe(
      'ParameterNotFound',
    );
    const calls = sim.calls().filter((c) => c.service === 'ssm' && c.status === 200);
    expect(new Set(calls.filter((c) => c.mutating).map((c) => c.operation))).toEqual(
      new Set(['PutParameter', 'DeleteParameter']),
    );
  });
});

describe('SSM with IAM and throttling', () => {
  const READER = 'gate-reader';
  const iamWorld = world({
    iam: {
      roles: [
        {
          name: READER,
          arn: `arn:aws:iam::${ACCOUNT}:role/${READER}`,
          trust: { Version: '2012-10-17', Statement: [] },
          policies: [
            {
              name: 'read-the-gate',
              document: {
                Version: '2012-10-17',
                Statement: [
                  {
                    Effect: 'Allow',
                    Action: 'ssm:GetParameter',
                    Resource: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/alva/staging/release-gate/*`,
                  },
                ],
              },
            },
          ],
        },
      ],
    },
  });

  it("authorizes on the parameter's ARN: the gate is readable, not writable, and other parameters are not", async () => {
    const sim = await startSim({ scenario: iamWorld, port: 0, speed: 1 });
    const ssm = client(sim, sim.session({ role: READER, sessionName: 'hook' }));
    try {
      const put = await errorOf(
        ssm.send(new PutParameterCommand({ Name: GATE, Value: 'open', Overwrite: true })),
      );
      expect(put.name).toBe('AccessDeniedException');
      expect(put.message).toContain(
        `not authorized to perform: ssm:PutParameter on resource: arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/alva/staging/release-gate/run-42`,
      );
      const other = await errorOf(ssm.send(new GetParameterCommand({ Name: '/alva/staging/db-password' })));
      expect(other.name).toBe('AccessDeniedException');
      const { Parameter } = await ssm.send(new GetParameterCommand({ Name: GATE }));
      expect(Parameter?.Value).toBe('closed');
    } finally {
      ssm.destroy();
      await sim.close();
    }
  });

  it('reads share 40 calls a second: the 41st at once is ThrottlingException "Rate exceeded"', async () => {
    // speed 0.001: the bucket refills 40 tokens per simulated second, i.e. hardly at all in real time.
    const sim = await startSim({ scenario: world(), port: 0, speed: 0.001 });
    const ssm = client(sim);
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 41 }, (_, i) =>
          i % 2 === 0
            ? ssm.send(new GetParameterCommand({ Name: GATE }))
            : ssm.send(new GetParametersCommand({ Names: [GATE] })),
        ),
      );
      const refused = results.filter((r) => r.status === 'rejected');
      expect(refused).toHaveLength(1);
      expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({
        name: 'ThrottlingException',
        message: 'Rate exceeded',
      });
      const put = await ssm.send(new PutParameterCommand({ Name: GATE, Value: 'open', Overwrite: true }));
      expect(put.Version).toBe(2);
    } finally {
      ssm.destroy();
      await sim.close();
    }
  });
});
