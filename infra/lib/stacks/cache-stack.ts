import { Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import type { Construct } from 'constructs';
import { type Profile, profiles } from '../config/profiles.js';
import { environment } from '../config/services.js';
import { dataSubnets } from './network-stack.js';

export interface CacheStackProps extends StackProps {
  readonly vpc: ec2.IVpc;
  readonly securityGroup: ec2.ISecurityGroup;
  /** @default profiles.standard */
  readonly profile?: Profile;
}

/**
 * ElastiCache Redis, per the plan: one cache.t3.micro node in the private
 * subnets. A replication group of one node (rather than a bare cache cluster)
 * because only a replication group can encrypt at rest and in transit.
 */
export class CacheStack extends Stack {
  readonly replicationGroup: elasticache.CfnReplicationGroup;
  /** rediss:// because transit encryption is on. */
  readonly redisUrl: string;

  constructor(scope: Construct, id: string, props: CacheStackProps) {
    super(scope, id, props);
    const profile = props.profile ?? profiles.standard;
    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'SubnetGroup', {
      cacheSubnetGroupName: `${environment.prefix}-redis`,
      description: 'Private subnets of the staging VPC',
      subnetIds: props.vpc.selectSubnets(dataSubnets(profile)).subnetIds,
    });
    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'Redis', {
      replicationGroupId: `${environment.prefix}-redis`,
      replicationGroupDescription: 'Staging Redis: one node, private',
      engine: 'redis',
      cacheNodeType: profile.cacheNodeType,
      numCacheClusters: 1,
      automaticFailoverEnabled: false,
      multiAzEnabled: false,
      port: environment.cache.port,
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [props.securityGroup.securityGroupId],
      atRestEncryptionEnabled: true,
      transitEncryptionEnabled: true,
      autoMinorVersionUpgrade: true,
      snapshotRetentionLimit: 1,
    });
    this.redisUrl = `rediss://${this.replicationGroup.attrPrimaryEndPointAddress}:${this.replicationGroup.attrPrimaryEndPointPort}`;

    Validations.of(this.replicationGroup).acknowledge({
      id: 'AwsSolutions-AEC4',
      reason: "One node is the plan's decision for staging; the cache holds nothing that cannot be rebuilt.",
    });
    Validations.of(this.replicationGroup).acknowledge({
      id: 'AwsSolutions-AEC5',
      reason: 'The plan fixes Redis on 6379; the node is private and reachable only from the ECS tasks.',
    });
    Validations.of(this.replicationGroup).acknowledge({
      id: 'AwsSolutions-AEC6',
      reason:
        'No Redis AUTH token: the plan lists no Redis secret; access is limited to the ECS tasks security group and traffic is TLS-encrypted.',
    });
  }
}
