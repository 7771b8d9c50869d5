import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { environment, names, type ServiceConfig, services } from '../config/services.js';
import { immutable } from './network-stack.js';

export interface AlbStackProps extends StackProps {
  readonly vpc: ec2.IVpc;
  readonly securityGroup: ec2.ISecurityGroup;
  /** e.g. alva.app: adds host routing, an ACM certificate and HTTPS with a redirect from HTTP. */
  readonly domain?: string;
}

/**
 * Target-group health checks and draining, tuned for fast rolling deployments
 * after AWS's ECS best-practices guide ("Optimize load balancer health check
 * parameters" and "... connection draining parameters").
 */
export const targetGroupTiming = {
  /** ELB default 30 s. AWS: 5 s for services that start and stabilize in under 10 s. */
  intervalSeconds: 5,
  /** ELB default 5. AWS: 2, so a new task is healthy after 2 x 5 = 10 s instead of 150 s. */
  healthyThreshold: 2,
  /** ELB default (2): a broken task leaves rotation after 2 x 5 = 10 s. */
  unhealthyThreshold: 2,
  /** Must be shorter than the interval; a health endpoint answering slower than 4 s is unhealthy. */
  timeoutSeconds: 4,
  /**
   * ELB default 300 s. AWS: 5 s when responses take under 1 s (these services'
   * HTTP APIs and pages); raise it in this file for long uploads or streaming.
   */
  deregistrationDelaySeconds: 5,
} as const;

/**
 * The internet-facing ALB: path routing (/api/*, /auth/*, /admin/*, default
 * web) on the ALB's DNS name; with a domain, host routing and HTTPS as well.
 */
export class AlbStack extends Stack {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** Service short name -> target group. */
  readonly targetGroups: Readonly<Record<string, elbv2.ApplicationTargetGroup>>;
  /** Origins browsers use: the ALB's DNS name, or the public hosts once a domain is set. */
  readonly publicOrigins: string[];

  constructor(scope: Construct, id: string, props: AlbStackProps) {
    super(scope, id, props);

    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      // ALB access logs support SSE-S3 only.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(environment.logRetentionDays) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket is itself the access-log destination of the ALB; logging it would recurse.',
    });

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'Alb', {
      loadBalancerName: environment.albName,
      vpc: props.vpc,
      internetFacing: true,
      vpcSubnets: { subnets: props.vpc.publicSubnets },
      securityGroup: immutable(this, 'AlbSecurityGroup', props.securityGroup),
      dropInvalidHeaderFields: true,
    });
    this.loadBalancer.logAccessLogs(accessLogs, 'alb');

    this.targetGroups = Object.fromEntries(
      services.map((service) => [service.name, this.targetGroup(service, props.vpc)] as const),
    );
    const defaultService = services.find((s) => !s.pathPatterns);
    if (!defaultService)
      throw new Error('One service in config/services.ts must have no pathPatterns (the default)');
    const defaultAction = elbv2.ListenerAction.forward([this.targetGroups[defaultService.name]!]);

    if (props.domain) {
      const hosts = services.map((s) => `${s.hostPrefix}.${props.domain}`);
      const certificate = new acm.Certificate(this, 'Certificate', {
        domainName: hosts[0]!,
        subjectAlternativeNames: hosts.slice(1),
        // DNS validation: the records to create are shown in the ACM console and
        // in the stack events; the domain is registered outside Route 53.
        validation: acm.CertificateValidation.fromDns(),
      });
      this.loadBalancer.addListener('Http', {
        port: 80,
        open: false,
        defaultAction: elbv2.ListenerAction.redirect({ protocol: 'HTTPS', port: '443', permanent: true }),
      });
      const https = this.loadBalancer.addListener('Https', {
        port: 443,
        open: false,
        certificates: [certificate],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        defaultAction,
      });
      this.addRules(https, props.domain);
      this.publicOrigins = hosts.map((host) => `https://${host}`);
    } else {
      const http = this.loadBalancer.addListener('Http', { port: 80, open: false, defaultAction });
      this.addRules(http);
      this.publicOrigins = [`http://${this.loadBalancer.loadBalancerDnsName}`];
    }

    // Without a domain the ECS stack imports the DNS name (CORS origins); with
    // one it no longer does. CloudFormation refuses to delete an export still
    // imported, and this stack updates before the ECS stack, so the export must
    // outlive the import: it is kept in both shapes (same name, same value).
    this.exportValue(this.loadBalancer.loadBalancerDnsName);

    new CfnOutput(this, 'AlbDnsName', {
      description: 'DNS name of the ALB',
      value: this.loadBalancer.loadBalancerDnsName,
    });
    for (const service of services) {
      new CfnOutput(this, `${names.output(service.name)}TargetGroupArn`, {
        description: `Target group of ${service.name}`,
        value: this.targetGroups[service.name]!.targetGroupArn,
      });
    }
  }

  private targetGroup(service: ServiceConfig, vpc: ec2.IVpc): elbv2.ApplicationTargetGroup {
    return new elbv2.ApplicationTargetGroup(this, `${service.name}TargetGroup`, {
      targetGroupName: names.targetGroup(service),
      vpc,
      port: service.port,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
      deregistrationDelay: Duration.seconds(targetGroupTiming.deregistrationDelaySeconds),
      healthCheck: {
        path: service.healthCheckPath,
        interval: Duration.seconds(targetGroupTiming.intervalSeconds),
        timeout: Duration.seconds(targetGroupTiming.timeoutSeconds),
        healthyThresholdCount: targetGroupTiming.healthyThreshold,
        unhealthyThresholdCount: targetGroupTiming.unhealthyThreshold,
        healthyHttpCodes: '200-399',
      },
    });
  }

  /** Path rules always (they work on the ALB's DNS name); host rules once a domain is set. */
  private addRules(listener: elbv2.ApplicationListener, domain?: string): void {
    for (const service of services) {
      const targetGroup = this.targetGroups[service.name]!;
      if (service.pathPatterns) {
        if (service.priority === undefined)
          throw new Error(`Service ${service.name} has pathPatterns but no priority`);
        listener.addAction(`${service.name}Path`, {
          priority: service.priority,
          conditions: [elbv2.ListenerCondition.pathPatterns([...service.pathPatterns])],
          action: elbv2.ListenerAction.forward([targetGroup]),
        });
      }
      if (domain) {
        // Host rules are evaluated after the path rules (higher numbers), so
        // /api/* reaches api whatever the host, as before the domain existed.
        listener.addAction(`${service.name}Host`, {
          priority: 100 + services.indexOf(service),
          conditions: [elbv2.ListenerCondition.hostHeaders([`${service.hostPrefix}.${domain}`])],
          action: elbv2.ListenerAction.forward([targetGroup]),
        });
      }
    }
  }
}
