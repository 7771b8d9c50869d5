/**
 * The AWS clients the ECS logic uses. ELBv2 and CloudWatch Logs are created
 * on first use (dynamic import): many runs never need them.
 */
import { ECSClient } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { clientConfig, type AwsOptions } from '../aws/config.js';

export interface EcsClients {
  ecs: ECSClient;
  elbv2(): Promise<ElasticLoadBalancingV2Client>;
  /** A Logs client for `region` (awslogs-region), default the ECS client's region. */
  logs(region?: string): Promise<CloudWatchLogsClient>;
}

export function createEcsClients(options: AwsOptions = {}): EcsClients {
  const ecs = new ECSClient(clientConfig(options));
  let elbv2: Promise<ElasticLoadBalancingV2Client> | undefined;
  const logs = new Map<string, Promise<CloudWatchLogsClient>>();
  return {
    ecs,
    elbv2: () =>
      (elbv2 ??= import('@aws-sdk/client-elastic-load-balancing-v2').then(
        (m) => new m.ElasticLoadBalancingV2Client(clientConfig(options)),
      )),
    logs: (region) => {
      const key = region ?? '';
      let client = logs.get(key);
      if (!client) {
        client = import('@aws-sdk/client-cloudwatch-logs').then(
          (m) => new m.CloudWatchLogsClient(clientConfig({ ...options, ...(region ? { region } : {}) })),
        );
        logs.set(key, client);
      }
      return client;
    },
  };
}
