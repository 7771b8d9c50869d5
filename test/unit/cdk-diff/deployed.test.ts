/**
 * `deployed` mode: the current templates come from CloudFormation
 * GetTemplate (the simulator, through the real SDK client).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
} from '@aws-sdk/client-cloudformation';
import { compareAssemblies } from '../../../lib/cdkdiff/compare.js';
import { parseTemplateBody } from '../../../lib/cdkdiff/deployed.js';
import { memoryLog } from '../../../lib/log.js';
import { startSim, type Sim } from '../../../sim/index.js';
import { logGroups, writeAssembly } from './fixtures.js';

let sim: Sim;

function parameter(value: string) {
  return {
    Resources: { Greeting: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: value } } },
  };
}
const saved = { ...process.env };

beforeAll(async () => {
  sim = await startSim({
    scenario: {
      clusters: [],
      taskDefinitions: [],
      stacks: [
        { name: 'alva-logs', template: logGroups(2, 'Logs', 7) },
        { name: 'alva-text', template: parameter('Café crème') },
      ],
    },
    port: 0,
  });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: sim.url,
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_MAX_ATTEMPTS: '1',
  });
});

afterAll(async () => {
  process.env = saved;
  await sim.close();
});

describe('deployed templates', () => {
  it('diffs each stack against its deployed template, and a stack not deployed yet as new', async () => {
    const head = writeAssembly([
      { id: 'Logs', stackName: 'alva-logs', template: logGroups(3, 'Logs', 14) },
      { id: 'Fresh', stackName: 'alva-fresh', template: logGroups(1, 'Fresh') },
    ]);
    const result = await compareAssemblies(
      head,
      { against: { kind: 'deployed' }, allowedDestroyTypes: [] },
      memoryLog(),
    );
    const [logs, fresh] = result.reports;
    expect(logs).toMatchObject({
      stackName: 'alva-logs',
      isNew: false,
      counts: { added: 1, updated: 2, removed: 0, replaced: 0 },
    });
    expect(fresh).toMatchObject({ stackName: 'alva-fresh', isNew: true, counts: { added: 1 } });
    const calls = sim.calls().filter((c) => c.service === 'cloudformation');
    expect(calls.map((c) => [c.operation, c.params.StackName, c.params.TemplateStage]).sort()).toEqual([
      ['GetTemplate', 'alva-fresh', 'Original'],
      ['GetTemplate', 'alva-logs', 'Original'],
    ]);
  });

  it('ignores non-ASCII characters that CloudFormation returns as "?", and only those', async () => {
    const same = writeAssembly([{ id: 'Text', stackName: 'alva-text', template: parameter('Café crème') }]);
    const unchanged = await compareAssemblies(
      same,
      { against: { kind: 'deployed' }, allowedDestroyTypes: [] },
      memoryLog(),
    );
    expect(unchanged.hasChanges).toBe(false);
    const edited = writeAssembly([
      { id: 'Text', stackName: 'alva-text', template: parameter('Café au lait') },
    ]);
    const changed = await compareAssemblies(
      edited,
      { against: { kind: 'deployed' }, allowedDestroyTypes: [] },
      memoryLog(),
    );
    expect(changed.reports[0]).toMatchObject({ hasChanges: true, counts: { updated: 1 } });
  });

  it('names the stack and the permission when GetTemplate fails', async () => {
    sim.addFaults({ service: 'cloudformation', operation: 'GetTemplate', kind: 'http500', count: 1 });
    const head = writeAssembly([{ id: 'Logs', stackName: 'alva-logs', template: logGroups(1) }]);
    await expect(
      compareAssemblies(head, { against: { kind: 'deployed' }, allowedDestroyTypes: [] }, memoryLog()),
    ).rejects.toThrow(/^GetTemplate for stack alva-logs in us-east-1 failed: /);
  });

  it('simulates GetTemplate and DescribeStacks as the API reference describes them', async () => {
    const client = new CloudFormationClient({ region: 'us-east-1' });
    const template = await client.send(new GetTemplateCommand({ StackName: 'alva-logs' }));
    expect(JSON.parse(template.TemplateBody!)).toEqual(logGroups(2, 'Logs', 7));
    expect(template.StagesAvailable).toEqual(['Original', 'Processed']);
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: 'alva-logs' }));
    expect(Stacks).toEqual([
      expect.objectContaining({
        StackName: 'alva-logs',
        StackStatus: 'CREATE_COMPLETE',
        StackId: expect.stringMatching(/^arn:aws:cloudformation:us-east-1:123456789012:stack\/alva-logs\//),
      }),
    ]);
    const byId = await client.send(new GetTemplateCommand({ StackName: Stacks![0]!.StackId }));
    expect(byId.TemplateBody).toBe(template.TemplateBody);
    await expect(client.send(new GetTemplateCommand({ StackName: 'nope' }))).rejects.toMatchObject({
      name: 'ValidationError',
      message: 'Stack with id nope does not exist',
      $metadata: { httpStatusCode: 400 },
    });
    client.destroy();
  });

  it('reads YAML templates with the short-form intrinsics', () => {
    const template = parseTemplateBody(
      'Resources:\n  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: !Sub "${AWS::StackName}-role"\n      Path: !Join ["/", ["", !Ref Env, ""]]\n      Arn: !GetAtt Other.Arn\n',
    );
    expect(template).toEqual({
      Resources: {
        Role: {
          Type: 'AWS::IAM::Role',
          Properties: {
            RoleName: { 'Fn::Sub': '${AWS::StackName}-role' },
            Path: { 'Fn::Join': ['/', ['', { Ref: 'Env' }, '']] },
            Arn: { 'Fn::GetAtt': ['Other', 'Arn'] },
          },
        },
      },
    });
  });
});
