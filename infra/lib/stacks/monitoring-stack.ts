import { CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as rds from 'aws-cdk-lib/aws-rds';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { environment, services } from '../config/services.js';

export interface MonitoringStackProps extends StackProps {
  /** Concrete constructs: the alarms need their full names (CloudWatch dimensions). */
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroups: Readonly<Record<string, elbv2.ApplicationTargetGroup>>;
  /**
   * The second target group of each blue/green, linear or canary service: production is on
   * either group, so its target alarms watch both. @default none (all rolling)
   */
  readonly alternateTargetGroups?: Readonly<Record<string, elbv2.ApplicationTargetGroup>>;
  readonly services: Readonly<Record<string, ecs.FargateService>>;
  readonly database: rds.DatabaseInstance;
  /** Subscribed to the topic by e-mail when given. */
  readonly alarmEmail?: string;
}

/** Thresholds: what a person should look at, not what a deployment briefly causes. */
export const alarmThresholds = {
  /** 5xx answered by the ALB itself (no healthy target, target reset) per 5 minutes. */
  elb5xxPer5Min: 10,
  /** 5xx answered by the services per 5 minutes. */
  target5xxPer5Min: 25,
  /** Unhealthy targets for 2 consecutive minutes: longer than a rolling replacement keeps one. */
  unhealthyMinutes: 2,
  /**
   * No healthy target for 2 consecutive minutes: the service is down behind the
   * ALB (a rolling deployment keeps the old target until the new one is healthy,
   * so it never causes this).
   */
  noHealthyTargetMinutes: 2,
  cpuPercent: 80,
  memoryPercent: 85,
  /** 10% of the 20 GB volume. */
  databaseFreeStorageBytes: 2 * 1024 ** 3,
} as const;

/** CloudWatch alarms on the ALB, the services and the database, to one SNS topic. */
export class MonitoringStack extends Stack {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);
    this.topic = new sns.Topic(this, 'AlarmTopic', {
      topicName: `${environment.prefix}-alarms`,
      displayName: 'Alva staging alarms',
      enforceSSL: true,
    });
    Validations.of(this.topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'Alarm notifications carry no sensitive data; CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, and a customer key costs more than the staging alarms are worth.',
    });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const notify = new actions.SnsAction(this.topic);
    const alarm = (
      id: string,
      metric: cloudwatch.Metric | cloudwatch.MathExpression,
      options: Omit<cloudwatch.CreateAlarmOptions, 'metric'>,
    ) => {
      const created = metric.createAlarm(this, id, {
        alarmName: `${environment.prefix}-${id}`,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...options,
      });
      created.addAlarmAction(notify);
      created.addOkAction(notify);
      this.alarms.push(created);
    };

    const five = Duration.minutes(5);
    alarm(
      'alb-elb-5xx',
      props.loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, {
        period: five,
        statistic: 'Sum',
      }),
      {
        alarmDescription: 'The ALB itself answered 5xx: no healthy target, or targets reset connections.',
        threshold: alarmThresholds.elb5xxPer5Min,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      },
    );
    alarm(
      'alb-target-5xx',
      props.loadBalancer.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, {
        period: five,
        statistic: 'Sum',
      }),
      {
        alarmDescription: 'The services answered 5xx through the ALB.',
        threshold: alarmThresholds.target5xxPer5Min,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      },
    );

    // Target-group metrics with the load balancer's own full name as the
    // LoadBalancer dimension. CDK's targetGroup.metrics derive it from the first
    // listener's ARN, and the forwarding listener changes when a domain is added
    // (HTTP becomes a redirect, HTTPS forwards): that import would change, which
    // CloudFormation refuses for an export in use.
    const targetGroupMetric = (
      targetGroup: elbv2.ApplicationTargetGroup,
      metricName: string,
      statistic: string,
    ): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: 'AWS/ApplicationELB',
        metricName,
        dimensionsMap: {
          TargetGroup: targetGroup.targetGroupFullName,
          LoadBalancer: props.loadBalancer.loadBalancerFullName,
        },
        period: Duration.minutes(1),
        statistic,
      });

    // A traffic-shifting service serves from either of its two groups (the other is empty
    // between releases): its alarms add the groups' healthy counts and take the larger
    // unhealthy count, so a swap raises nothing and a failure in either group still does.
    const serviceTargetMetric = (
      name: string,
      metricName: 'UnHealthyHostCount' | 'HealthyHostCount',
      statistic: string,
    ): cloudwatch.Metric | cloudwatch.MathExpression => {
      const metric = targetGroupMetric(props.targetGroups[name]!, metricName, statistic);
      const alternate = props.alternateTargetGroups?.[name];
      if (!alternate) return metric;
      return new cloudwatch.MathExpression({
        expression:
          metricName === 'HealthyHostCount' ? 'FILL(a, 0) + FILL(b, 0)' : 'MAX([FILL(a, 0), FILL(b, 0)])',
        usingMetrics: { a: metric, b: targetGroupMetric(alternate, metricName, statistic) },
        label: `${metricName} of both target groups`,
        period: Duration.minutes(1),
      });
    };

    for (const service of services) {
      alarm(
        `${service.name}-unhealthy-hosts`,
        serviceTargetMetric(service.name, 'UnHealthyHostCount', 'Maximum'),
        {
          alarmDescription: `Targets of ${service.name} failed ALB health checks for ${alarmThresholds.unhealthyMinutes} minutes.`,
          threshold: 1,
          evaluationPeriods: alarmThresholds.unhealthyMinutes,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        },
      );
      alarm(
        `${service.name}-no-healthy-target`,
        serviceTargetMetric(service.name, 'HealthyHostCount', 'Minimum'),
        {
          alarmDescription: `${service.name} had no healthy target behind the ALB for ${alarmThresholds.noHealthyTargetMinutes} minutes: its requests fail.`,
          threshold: 1,
          evaluationPeriods: alarmThresholds.noHealthyTargetMinutes,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          // The ALB reports the count every minute while the target group is in
          // use; no data at all means nothing is reporting healthy either.
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        },
      );
      const ecsService = props.services[service.name]!;
      alarm(`${service.name}-cpu`, ecsService.metricCpuUtilization({ period: five, statistic: 'Average' }), {
        alarmDescription: `${service.name} CPU above ${alarmThresholds.cpuPercent}% for 15 minutes.`,
        threshold: alarmThresholds.cpuPercent,
        evaluationPeriods: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      });
      alarm(
        `${service.name}-memory`,
        ecsService.metricMemoryUtilization({ period: five, statistic: 'Average' }),
        {
          alarmDescription: `${service.name} memory above ${alarmThresholds.memoryPercent}% for 15 minutes.`,
          threshold: alarmThresholds.memoryPercent,
          evaluationPeriods: 3,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        },
      );
    }

    alarm('rds-cpu', props.database.metricCPUUtilization({ period: five, statistic: 'Average' }), {
      alarmDescription: `PostgreSQL CPU above ${alarmThresholds.cpuPercent}% for 15 minutes (t3 credits run out).`,
      threshold: alarmThresholds.cpuPercent,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    alarm('rds-free-storage', props.database.metricFreeStorageSpace({ period: five, statistic: 'Minimum' }), {
      alarmDescription: 'PostgreSQL has less than 2 GiB (10%) of its 20 GB left.',
      threshold: alarmThresholds.databaseFreeStorageBytes,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    new CfnOutput(this, 'AlarmTopicArn', {
      description: 'SNS topic of the alarms',
      value: this.topic.topicArn,
    });
  }
}
