import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import {
  alternateTargetGroupName,
  type DeploymentConfig,
  environment,
  names,
  resolveDeployments,
  type ServiceConfig,
  services,
  shiftsTraffic,
} from '../config/services.js';
import { immutable } from './network-stack.js';

export interface AlbStackProps extends StackProps {
  readonly vpc: ec2.IVpc;
  readonly securityGroup: ec2.ISecurityGroup;
  /** e.g. alva.app: adds host routing, an ACM certificate and HTTPS with a redirect from HTTP. */
  readonly domain?: string;
  /**
   * CIDRs besides the VPC's that may reach the test listener (e.g. a self-hosted runner's
   * egress), from context `test-listener-cidrs`. @default none
   */
  readonly testListenerCidrs?: readonly string[];
}

/** What ECS needs of the load balancer for a blue/green, linear or canary service. */
export interface TrafficShiftTargets {
  /** The second target group: green starts in whichever of the two production is not on. */
  readonly alternateTargetGroup: elbv2.ApplicationTargetGroup;
  /** The production listener's rule ECS moves from blue to green. */
  readonly productionRule: elbv2.ApplicationListenerRule;
  /** The test listener's rule: green only, from TEST_TRAFFIC_SHIFT on. */
  readonly testRule: elbv2.ApplicationListenerRule;
}

/** Lowest precedence a rule may have: the default service's catch-all rule (a listener's default action is no rule ECS can take over). */
const catchAllPriority = 50000;

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
  /** Each service's deployment (config/services.ts, context `deployments`). */
  readonly deployments: Readonly<Record<string, DeploymentConfig>>;
  /** Service short name -> what ECS shifts, for blue/green, linear and canary services only. */
  readonly trafficShiftTargets: Readonly<Record<string, TrafficShiftTargets>>;
  /** Service short name -> its alternate target group (traffic-shifting services only). */
  readonly alternateTargetGroups: Readonly<Record<string, elbv2.ApplicationTargetGroup>>;
  /** The test listener, when any service shifts traffic. */
  readonly testListener?: elbv2.ApplicationListener;

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

    this.deployments = resolveDeployments(this.node.tryGetContext('deployments'));
    const shifting = services.filter((s) => shiftsTraffic(this.deployments[s.name]!));
    if (props.domain && shifting.length) {
      // ECS shifts one production rule per load balancer; a domain routes each service by host and by path.
      throw new Error(
        `Blue/green, linear and canary services (${shifting.map((s) => s.name).join(', ')}) are not offered with a domain yet: ` +
          'ECS moves one production rule, and with a domain the host rule would keep forwarding to blue.',
      );
    }
    this.targetGroups = Object.fromEntries(
      services.map((service) => [service.name, this.targetGroup(service, props.vpc)] as const),
    );
    const alternates = Object.fromEntries(
      shifting.map((service) => [
        service.name,
        this.targetGroup(
          service,
          props.vpc,
          `${service.name}AlternateTargetGroup`,
          alternateTargetGroupName(service),
        ),
      ]),
    );
    this.alternateTargetGroups = alternates;
    const defaultService = services.find((s) => !s.pathPatterns);
    if (!defaultService)
      throw new Error('One service in config/services.ts must have no pathPatterns (the default)');
    let shiftTargets: Record<string, TrafficShiftTargets> = {};
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
      const productionRules = this.addRules(http, undefined, alternates);
      this.publicOrigins = [`http://${this.loadBalancer.loadBalancerDnsName}`];
      if (shifting.length) {
        this.testListener = this.addTestListener(props);
        new CfnOutput(this, 'TestListenerPort', {
          description: 'Port of the test listener (green of blue/green, linear and canary services)',
          value: String(environment.releaseGate.testListenerPort),
        });
        const testRules = this.addRules(this.testListener, undefined, alternates, true);
        shiftTargets = Object.fromEntries(
          shifting.map((s) => [
            s.name,
            {
              alternateTargetGroup: alternates[s.name]!,
              productionRule: productionRules[s.name]!,
              testRule: testRules[s.name]!,
            },
          ]),
        );
      }
    }
    this.trafficShiftTargets = shiftTargets;

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

  private targetGroup(
    service: ServiceConfig,
    vpc: ec2.IVpc,
    id = `${service.name}TargetGroup`,
    name = names.targetGroup(service),
  ): elbv2.ApplicationTargetGroup {
    return new elbv2.ApplicationTargetGroup(this, id, {
      targetGroupName: name,
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

  /**
   * The test listener: HTTP on its own port, reachable from the VPC (and the CIDRs given),
   * never from the internet. Unmatched paths get 404: only green answers here.
   */
  private addTestListener(props: AlbStackProps): elbv2.ApplicationListener {
    const port = environment.releaseGate.testListenerPort;
    const listener = this.loadBalancer.addListener('Test', {
      port,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
      defaultAction: elbv2.ListenerAction.fixedResponse(404, {
        contentType: 'text/plain',
        messageBody: 'No service under test at this path',
      }),
    });
    // The ALB's security group belongs to the network stack; its test port is opened here,
    // only while a service shifts traffic, and only to the VPC and the given CIDRs.
    const fromContext: unknown = this.node.tryGetContext('test-listener-cidrs');
    const extra =
      props.testListenerCidrs ??
      (typeof fromContext === 'string' && fromContext.trim()
        ? fromContext.split(',').map((c) => c.trim())
        : []);
    for (const cidr of extra) {
      if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidr) || cidr.endsWith('/0'))
        throw new Error(`Context "test-listener-cidrs": "${cidr}" is not an IPv4 CIDR narrower than /0`);
    }
    const sources = [props.vpc.vpcCidrBlock, ...extra];
    sources.forEach((cidr, index) => {
      const ingress = new ec2.CfnSecurityGroupIngress(this, `TestListenerIngress${index}`, {
        groupId: props.securityGroup.securityGroupId,
        ipProtocol: 'tcp',
        fromPort: port,
        toPort: port,
        cidrIp: cidr,
        description: index === 0 ? 'Test listener from the VPC' : `Test listener from ${cidr}`,
      });
      if (index === 0) {
        Validations.of(ingress).acknowledge({
          id: 'AwsSolutions-EC23',
          reason:
            "The source is the VPC's own CIDR (imported, so cdk-nag cannot read it): never the internet.",
        });
      }
    });
    return listener;
  }

  /**
   * Path rules always (they work on the ALB's DNS name); host rules once a domain is set.
   * A traffic-shifting service's rule forwards to both its groups (production's 100, the
   * alternate 0), as ECS expects to find it; the default service gets a catch-all rule,
   * since ECS takes over rules, not a listener's default action. `test`: the test
   * listener's rules, for traffic-shifting services only. Returns the rules by service.
   */
  private addRules(
    listener: elbv2.ApplicationListener,
    domain?: string,
    alternates: Record<string, elbv2.ApplicationTargetGroup> = {},
    test = false,
  ): Record<string, elbv2.ApplicationListenerRule> {
    const rules: Record<string, elbv2.ApplicationListenerRule> = {};
    for (const service of services) {
      const targetGroup = this.targetGroups[service.name]!;
      const alternate = alternates[service.name];
      if (test && !alternate) continue;
      const action = alternate
        ? elbv2.ListenerAction.weightedForward([
            { targetGroup, weight: 100 },
            { targetGroup: alternate, weight: 0 },
          ])
        : elbv2.ListenerAction.forward([targetGroup]);
      if (service.pathPatterns) {
        if (service.priority === undefined)
          throw new Error(`Service ${service.name} has pathPatterns but no priority`);
        // The construct id addAction gives a rule: the seed's rules keep their logical ids.
        rules[service.name] = new elbv2.ApplicationListenerRule(listener, `${service.name}PathRule`, {
          listener,
          priority: service.priority,
          conditions: [elbv2.ListenerCondition.pathPatterns([...service.pathPatterns])],
          action,
        });
      } else if (alternate) {
        rules[service.name] = new elbv2.ApplicationListenerRule(listener, `${service.name}CatchAllRule`, {
          listener,
          priority: catchAllPriority,
          conditions: [elbv2.ListenerCondition.pathPatterns(['/*'])],
          action,
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
    return rules;
  }
}
