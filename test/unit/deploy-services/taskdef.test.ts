import { describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import {
  READ_ONLY_FIELDS,
  REGISTERABLE_FIELDS,
  parseRevisionRef,
  parseTaskDefinitionRef,
  planClone,
  registerClone,
  registerableInput,
  withImages,
} from '../../../lib/ecs/taskdef.js';

/** A task definition with every registerable field and every read-only one set. */
const full: TaskDefinition & { taskDefinitionArn: string } = {
  taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/alva-api:7',
  family: 'alva-api',
  taskRoleArn: 'arn:aws:iam::123456789012:role/task',
  executionRoleArn: 'arn:aws:iam::123456789012:role/exec',
  networkMode: 'awsvpc',
  containerDefinitions: [
    { name: 'api', image: 'repo/api:1', essential: true, portMappings: [{ containerPort: 3001 }] },
    { name: 'sidecar', image: 'repo/envoy:1', essential: false },
  ],
  volumes: [{ name: 'scratch' }],
  placementConstraints: [{ type: 'memberOf', expression: 'attribute:ecs.os-type == linux' }],
  requiresCompatibilities: ['FARGATE'],
  cpu: '512',
  memory: '1024',
  pidMode: 'task',
  ipcMode: 'none',
  proxyConfiguration: { type: 'APPMESH', containerName: 'sidecar', properties: [] },
  inferenceAccelerators: [{ deviceName: 'a1', deviceType: 'eia2.medium' }],
  ephemeralStorage: { sizeInGiB: 30 },
  runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
  enableFaultInjection: true,
  revision: 7,
  status: 'ACTIVE',
  requiresAttributes: [{ name: 'com.amazonaws.ecs.capability.task-iam-role' }],
  compatibilities: ['EC2', 'FARGATE'],
  registeredAt: new Date('2026-01-01T00:00:00Z'),
  registeredBy: 'arn:aws:iam::123456789012:user/ci',
  deregisteredAt: new Date('2026-01-02T00:00:00Z'),
};
const tags = [{ key: 'team', value: 'platform' }];

describe('registerableInput', () => {
  it('keeps every registerable field, drops every read-only one, and carries the tags', () => {
    const input = registerableInput({ taskDefinition: full, tags }) as unknown as Record<string, unknown>;
    expect(Object.keys(input).sort()).toEqual([...REGISTERABLE_FIELDS].sort());
    for (const field of READ_ONLY_FIELDS) expect(input).not.toHaveProperty(field);
    expect(input.tags).toEqual(tags);
    for (const field of REGISTERABLE_FIELDS.filter((f) => f !== 'tags')) {
      expect(input[field]).toEqual((full as unknown as Record<string, unknown>)[field]);
    }
  });

  it('leaves out an empty tag list (RegisterTaskDefinition rejects it)', () => {
    const input = registerableInput({ taskDefinition: full, tags: [] });
    expect(input).not.toHaveProperty('tags');
  });

  it('does not share objects with the source (changing the clone leaves the source intact)', () => {
    const input = registerableInput({ taskDefinition: full, tags });
    input.containerDefinitions![0]!.image = 'changed';
    expect(full.containerDefinitions![0]!.image).toBe('repo/api:1');
  });
});

describe('withImages', () => {
  const base = registerableInput({ taskDefinition: full, tags });

  it('replaces images by container name and reports each change', () => {
    const { input, changes } = withImages(base, { api: 'repo/api:2' });
    expect(input.containerDefinitions!.map((c) => c.image)).toEqual(['repo/api:2', 'repo/envoy:1']);
    expect(changes).toEqual([{ container: 'api', from: 'repo/api:1', to: 'repo/api:2' }]);
  });

  it('detects a no-op: same image, or containers it does not have', () => {
    const { input, changes } = withImages(base, { api: 'repo/api:1', web: 'repo/web:9' });
    expect(changes).toEqual([]);
    expect(input).toEqual(registerableInput({ taskDefinition: full, tags }));
  });
});

describe('planClone / registerClone', () => {
  it('reads the task definition with its tags and registers the clone with every field', async () => {
    const ecs = mockClient(ECSClient);
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: full, tags });
    ecs.on(RegisterTaskDefinitionCommand).resolves({
      taskDefinition: { taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/alva-api:8' },
    });
    const client = new ECSClient({ region: 'us-east-1' });
    const clone = await planClone(client, full.taskDefinitionArn, { api: 'repo/api:2' });
    expect(ecs.commandCalls(DescribeTaskDefinitionCommand)[0]!.args[0].input).toEqual({
      taskDefinition: full.taskDefinitionArn,
      include: ['TAGS'],
    });
    expect(clone.changes).toHaveLength(1);
    const arn = await registerClone(client, clone);
    expect(arn).toMatch(/alva-api:8$/);
    const sent = ecs.commandCalls(RegisterTaskDefinitionCommand)[0]!.args[0].input as unknown as Record<
      string,
      unknown
    >;
    expect(Object.keys(sent).sort()).toEqual([...REGISTERABLE_FIELDS].sort());
    expect(sent.tags).toEqual(tags);
    expect((sent.containerDefinitions as { image: string }[])[0]!.image).toBe('repo/api:2');
    ecs.restore();
  });
});

describe('parseTaskDefinitionRef', () => {
  it('reads family and revision from ARNs and short forms', () => {
    expect(parseTaskDefinitionRef('arn:aws:ecs:us-east-1:1:task-definition/web:12')).toEqual({
      family: 'web',
      revision: 12,
    });
    expect(parseTaskDefinitionRef('web:3')).toEqual({ family: 'web', revision: 3 });
    expect(parseTaskDefinitionRef('web')).toEqual({ family: 'web' });
  });
});

describe('parseRevisionRef', () => {
  it('reads one exact revision, with the partition, region and account of an ARN', () => {
    expect(parseRevisionRef('alva-web:3')).toEqual({ family: 'alva-web', revision: 3 });
    expect(parseRevisionRef('arn:aws:ecs:eu-west-1:123456789012:task-definition/alva_web-2:41')).toEqual({
      family: 'alva_web-2',
      revision: 41,
      scope: 'aws:eu-west-1:123456789012',
    });
  });

  it.each([
    ['a family without revision', 'alva-web'],
    ['revision 0', 'alva-web:0'],
    ['a leading zero', 'alva-web:07'],
    ['a service ARN', 'arn:aws:ecs:us-east-1:123456789012:service/alva/alva-web'],
    ['an ARN without revision', 'arn:aws:ecs:us-east-1:123456789012:task-definition/alva-web'],
    ['an account that is not 12 digits', 'arn:aws:ecs:us-east-1:1:task-definition/alva-web:3'],
    ['a family with a slash', 'a/b:3'],
  ])('is undefined for %s', (_label, ref) => {
    expect(parseRevisionRef(ref)).toBeUndefined();
  });
});
