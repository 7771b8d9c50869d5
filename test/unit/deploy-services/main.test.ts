import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import * as core from '../../../actions/__fixtures__/core.js';

jest.unstable_mockModule('@actions/core', () => core);
const { run, strategyText } = await import('../../../actions/deploy-services/src/main.js');

const arn = 'arn:aws:ecs:us-east-1:123456789012:task-definition/alva-web:3';
let inputs: Record<string, string> = {};
const ecs = mockClient(ECSClient);

beforeEach(() => {
  jest.clearAllMocks();
  core.summary.emptyBuffer();
  ecs.reset();
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'secret';
  inputs = { cluster: 'alva', services: 'alva-web', images: '{"web": "repo/web:1"}' };
  core.getInput.mockImplementation((name: string) => inputs[name] ?? '');
  ecs.on(DescribeServicesCommand).resolves({
    services: [{ serviceName: 'alva-web', status: 'ACTIVE', taskDefinition: arn }],
  });
  ecs.on(DescribeTaskDefinitionCommand).resolves({
    taskDefinition: {
      taskDefinitionArn: arn,
      family: 'alva-web',
      containerDefinitions: [{ name: 'web', image: 'repo/web:1' }],
    },
  });
});

afterEach(() => {
  process.exitCode = undefined;
});

describe('run', () => {
  it('fails on bad input with the input named, before any AWS call', async () => {
    inputs['wait-for'] = 'forever';
    await run();
    expect(core.error).toHaveBeenCalledWith(expect.stringMatching(/^Input "wait-for": "forever"/), {
      title: 'wait-for',
    });
    expect(process.exitCode).toBe(1);
    expect(ecs.calls()).toHaveLength(0);
  });

  it('a no-op deploy succeeds, writes the deployments output and the summary table, and changes nothing', async () => {
    await run();
    expect(core.setFailed).not.toHaveBeenCalled();
    expect(process.exitCode).toBeUndefined();
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    const [name, value] = core.setOutput.mock.calls[0]!;
    expect(name).toBe('deployments');
    expect(JSON.parse(value as string)).toMatchObject({
      'alva-web': {
        previousTaskDefinition: arn,
        taskDefinition: arn,
        status: 'unchanged',
        registered: false,
      },
    });
    expect(core.summary.addTable).toHaveBeenCalled();
    expect(core.summary.write).toHaveBeenCalled();
  });

  it('a failing UpdateService fails the step with the service and the cause', async () => {
    inputs.images = '{"web": "repo/web:2"}';
    ecs
      .on(RegisterTaskDefinitionCommand)
      .resolves({ taskDefinition: { taskDefinitionArn: arn.replace(':3', ':4') } });
    ecs
      .on(UpdateServiceCommand)
      .rejects(new Error('AccessDeniedException: not authorized to perform ecs:UpdateService'));
    await run();
    expect(core.setFailed).toHaveBeenCalledWith(
      expect.stringMatching(
        /alva-web: could not start the deployment: AccessDeniedException.*no service was changed/,
      ),
    );
    expect(core.summary.addDetails).toHaveBeenCalled();
  });

  it('writes the deployments output before any change, again once the deployments started, and at the end (the last one wins)', async () => {
    inputs.images = '{"web": "repo/web:2"}';
    const registered = arn.replace(':3', ':4');
    ecs.on(RegisterTaskDefinitionCommand).callsFake(() => {
      // Nothing changed yet when the first output was written.
      expect(core.setOutput).toHaveBeenCalledTimes(1);
      return { taskDefinition: { taskDefinitionArn: registered } };
    });
    ecs.on(UpdateServiceCommand).rejects(new Error('AccessDeniedException: not authorized'));
    await run();
    const written = core.setOutput.mock.calls.map(([name, value]) => {
      expect(name).toBe('deployments');
      return (
        JSON.parse(value as string) as Record<string, { status: string; previousTaskDefinition: string }>
      )['alva-web']!;
    });
    expect(written).toHaveLength(3);
    expect(written[0]).toMatchObject({ status: 'in-progress', previousTaskDefinition: arn });
    expect(written[2]).toMatchObject({
      status: 'failed',
      previousTaskDefinition: arn,
      taskDefinition: registered,
    });
    // The summary says where the service stands, read from AWS at the end.
    expect(ecs.commandCalls(DescribeServicesCommand).length).toBeGreaterThanOrEqual(2);
    expect(core.summary.addTable).toHaveBeenCalledWith(
      expect.arrayContaining([
        expect.arrayContaining([expect.objectContaining({ data: 'Now (read from AWS)' })]),
      ]),
    );
    // Not followed (its UpdateService failed), so its strategy was not read: the column says so.
    expect(core.summary.addTable).toHaveBeenCalledWith(
      expect.arrayContaining([
        expect.arrayContaining([expect.objectContaining({ data: 'Strategy' })]),
        expect.arrayContaining(['-']),
      ]),
    );
  });
});

describe("the summary's Strategy column", () => {
  it("a traffic-shift service: strategy, last lifecycle stage and green's production weight", () => {
    expect(
      strategyText({ strategy: 'BLUE_GREEN', lifecycleStage: 'BAKE_TIME', productionTrafficWeight: 100 }),
    ).toBe('BLUE_GREEN · BAKE_TIME · 100%');
    expect(
      strategyText({
        strategy: 'CANARY',
        lifecycleStage: 'PRODUCTION_TRAFFIC_SHIFT',
        productionTrafficWeight: 0,
      }),
    ).toBe('CANARY · PRODUCTION_TRAFFIC_SHIFT · 0%');
    // Its service deployment was never read: the strategy alone.
    expect(strategyText({ strategy: 'LINEAR' })).toBe('LINEAR');
  });

  it('a rolling service says ROLLING; a service whose strategy was not read says -', () => {
    expect(strategyText({ strategy: 'ROLLING' })).toBe('ROLLING');
    expect(strategyText({})).toBe('-');
  });
});
