/**
 * CloudWatch Logs ARNs name the account's region and account, as the API
 * reference documents them: LogGroup `arn` ends with `:*`, `logGroupArn` does
 * not, a LogStream's `arn` is the group's followed by `:log-stream:NAME`.
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_LogGroup.html
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_LogStream.html
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import {
  CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { startSim, type Sim } from '../../sim/index.js';
import { clientConfig } from './helpers.js';

// Neither the default region nor the default account, so a default cannot pass for the real thing.
const REGION = 'eu-west-3';
const ACCOUNT = '210987654321';
const GROUP = '/ecs/alva-staging/api';
const STREAM = 'api/api/0f1e2d3c4b5a69788796a5b4c3d2e1f0';

let sim: Sim;
let logs: CloudWatchLogsClient;

beforeAll(async () => {
  sim = await startSim({
    scenario: { region: REGION, accountId: ACCOUNT, clusters: [], taskDefinitions: [] },
    port: 0,
  });
  sim.world.logs.write(GROUP, STREAM, 'listening on :3001');
  logs = new CloudWatchLogsClient({ ...clientConfig(sim.url), region: REGION });
});

afterAll(async () => {
  logs?.destroy();
  await sim?.close();
});

test('DescribeLogGroups: arn with the trailing :*, logGroupArn without, both in the region and account', async () => {
  const { logGroups } = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/ecs/' }));
  expect(logGroups).toHaveLength(1);
  expect(logGroups![0]).toMatchObject({
    logGroupName: GROUP,
    arn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${GROUP}:*`,
    logGroupArn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${GROUP}`,
  });
});

test("DescribeLogStreams: the stream's arn is the group's followed by :log-stream:NAME", async () => {
  const { logStreams } = await logs.send(new DescribeLogStreamsCommand({ logGroupName: GROUP }));
  expect(logStreams!.map((s) => s.arn)).toEqual([
    `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${GROUP}:log-stream:${STREAM}`,
  ]);
});

test('a log group named by its ARN (logGroupIdentifier) is the same group', async () => {
  const { logStreams } = await logs.send(
    new DescribeLogStreamsCommand({
      logGroupIdentifier: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${GROUP}`,
    }),
  );
  expect(logStreams!.map((s) => s.logStreamName)).toEqual([STREAM]);
});
