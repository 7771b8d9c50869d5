import { Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { type Profile, profiles } from '../config/profiles.js';
import { environment, services } from '../config/services.js';

/**
 * The VPC and every security group with every rule. All rules live here, so
 * the whole network policy reads in one place; the other stacks receive the
 * groups as immutable references and cannot widen them by accident
 * (e.g. through `connections.allowFrom` inside an L2 construct).
 */
export interface NetworkStackProps extends StackProps {
  /** @default profiles.standard */
  readonly profile?: Profile;
}

export class NetworkStack extends Stack {
  readonly vpc: ec2.Vpc;
  readonly albSecurityGroup: ec2.SecurityGroup;
  readonly ecsSecurityGroup: ec2.SecurityGroup;
  readonly databaseSecurityGroup: ec2.SecurityGroup;
  readonly cacheSecurityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    const profile = props.profile ?? profiles.standard;

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      vpcName: `${environment.prefix}-vpc`,
      maxAzs: environment.maxAzs,
      // One NAT gateway (~$32/month): staging accepts losing egress if its AZ fails.
      // Lean: none; the tasks run in the public subnets and the database and cache,
      // which need no egress, in isolated ones.
      natGateways: profile.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        profile.natGateways > 0
          ? { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 24 }
          : { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      // Nothing is attached to the default security group; restricting it needs a
      // custom-resource Lambda, which is more attack surface than it removes.
      restrictDefaultSecurityGroup: false,
    });
    // Rejected connections only: the signal worth keeping, at a fraction of the ingestion cost.
    this.vpc.addFlowLog('RejectedFlows', {
      trafficType: ec2.FlowLogTrafficType.REJECT,
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, 'FlowLogGroup', {
          logGroupName: `/vpc/${environment.prefix}/rejected`,
          retention: profile.logRetentionDays,
        }),
      ),
    });

    this.albSecurityGroup = new ec2.SecurityGroup(this, 'AlbSecurityGroup', {
      vpc: this.vpc,
      securityGroupName: `${environment.prefix}-alb`,
      description: 'ALB: HTTP and HTTPS from the internet, out only to the ECS tasks',
      allowAllOutbound: false,
    });
    this.ecsSecurityGroup = new ec2.SecurityGroup(this, 'EcsSecurityGroup', {
      vpc: this.vpc,
      securityGroupName: `${environment.prefix}-ecs-tasks`,
      description:
        profile.taskSubnets === 'public'
          ? 'ECS tasks: from the ALB and from each other; out to AWS APIs and third parties via their public IPs'
          : 'ECS tasks: from the ALB and from each other; out to AWS APIs and third parties via NAT',
      allowAllOutbound: true,
    });
    this.databaseSecurityGroup = new ec2.SecurityGroup(this, 'DatabaseSecurityGroup', {
      vpc: this.vpc,
      securityGroupName: `${environment.prefix}-rds`,
      description: 'RDS PostgreSQL: only from the ECS tasks',
      allowAllOutbound: false,
    });
    this.cacheSecurityGroup = new ec2.SecurityGroup(this, 'CacheSecurityGroup', {
      vpc: this.vpc,
      securityGroupName: `${environment.prefix}-redis`,
      description: 'ElastiCache Redis: only from the ECS tasks',
      allowAllOutbound: false,
    });

    // The ALB is the only public entry.
    this.albSecurityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), 'HTTP from the internet');
    this.albSecurityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS from the internet');
    Validations.of(this.albSecurityGroup).acknowledge({
      id: 'AwsSolutions-EC23',
      reason: 'The internet-facing ALB is the public entry point: 80 (redirect/HTTP) and 443 only.',
    });

    for (const service of services) {
      const port = ec2.Port.tcp(service.port);
      this.albSecurityGroup.addEgressRule(this.ecsSecurityGroup, port, `ALB to ${service.name}`);
      this.ecsSecurityGroup.addIngressRule(this.albSecurityGroup, port, `${service.name} from the ALB`);
      // Service to service through Cloud Map (e.g. web -> api.alva-staging.local).
      this.ecsSecurityGroup.addIngressRule(this.ecsSecurityGroup, port, `${service.name} from other tasks`);
    }

    this.databaseSecurityGroup.addIngressRule(
      this.ecsSecurityGroup,
      ec2.Port.tcp(environment.database.port),
      'PostgreSQL from the ECS tasks',
    );
    this.cacheSecurityGroup.addIngressRule(
      this.ecsSecurityGroup,
      ec2.Port.tcp(environment.cache.port),
      'Redis from the ECS tasks',
    );
  }
}

/** The subnets of the database and the cache: private, with NAT egress or isolated (lean). */
export function dataSubnets(profile: Profile): ec2.SubnetSelection {
  return {
    subnetType:
      profile.natGateways > 0 ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED,
  };
}

/** The subnets of the Fargate tasks (services and RunTask). */
export function taskSubnets(profile: Profile): ec2.SubnetSelection {
  return {
    subnetType: profile.taskSubnets === 'public' ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_WITH_EGRESS,
  };
}

/** A security group the consuming stack can attach but never add rules to. */
export function immutable(scope: Construct, id: string, group: ec2.ISecurityGroup): ec2.ISecurityGroup {
  return ec2.SecurityGroup.fromSecurityGroupId(scope, id, group.securityGroupId, { mutable: false });
}
