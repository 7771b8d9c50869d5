import { describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  CloudWatchLogsClient,
  GetLogEventsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import { awslogsStreamFor, lastLogLines } from '../../../lib/cwlogs.js';

const container = {
  name: 'api',
  logConfiguration: {
    logDriver: 'awslogs' as const,
    options: {
      'awslogs-group': '/ecs/alva-api',
      'awslogs-stream-prefix': 'ecs',
      'awslogs-region': 'eu-west-1',
    },
  },
};

describe('awslogsStreamFor', () => {
  it('derives prefix/container/task-id from a task ARN', () => {
    expect(awslogsStreamFor(container, 'arn:aws:ecs:us-east-1:1:task/alva/abc123')).toEqual({
      logGroupName: '/ecs/alva-api',
      logStreamName: 'ecs/api/abc123',
      region: 'eu-west-1',
    });
  });
  it('is undefined without awslogs or without a stream prefix', () => {
    expect(awslogsStreamFor({ name: 'api' }, 'abc')).toBeUndefined();
    expect(
      awslogsStreamFor(
        { name: 'api', logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': 'g' } } },
        'abc',
      ),
    ).toBeUndefined();
  });
});

describe('lastLogLines', () => {
  it('asks for the tail and returns lines oldest first', async () => {
    const logs = mockClient(CloudWatchLogsClient);
    logs.on(GetLogEventsCommand).resolves({ events: [{ message: 'one\n' }, { message: 'two' }] });
    const lines = await lastLogLines(
      new CloudWatchLogsClient({ region: 'us-east-1' }),
      awslogsStreamFor(container, 't')!,
      5,
    );
    expect(lines).toEqual(['one', 'two']);
    expect(logs.commandCalls(GetLogEventsCommand)[0]!.args[0].input).toMatchObject({
      logStreamName: 'ecs/api/t',
      startFromHead: false,
      limit: 5,
    });
    logs.reset();
    logs.on(GetLogEventsCommand).rejects(new ResourceNotFoundException({ message: 'nope', $metadata: {} }));
    expect(
      await lastLogLines(
        new CloudWatchLogsClient({ region: 'us-east-1' }),
        awslogsStreamFor(container, 't')!,
      ),
    ).toEqual([]);
    logs.restore();
  });
});
