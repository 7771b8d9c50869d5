import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';

/** infra/lambda/release-gate: the hook's code, deployed as an asset (index.mjs, no dependencies). */
export const releaseGateCodeDir = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'lambda',
  'release-gate',
);

export interface ReleaseGateProps {
  /** The SSM parameter holding the gate, e.g. /alva-staging/release-gate. */
  readonly parameterName: string;
  readonly functionName: string;
  /** How long ECS waits before asking a pending gate again. */
  readonly callBackDelay: Duration;
  readonly logRetentionDays: logs.RetentionDays;
}

/**
 * The release gate of blue/green, linear and canary services: one SSM parameter
 * the release pipeline writes, one Lambda function ECS invokes at
 * POST_TEST_TRAFFIC_SHIFT that answers from it, and the role ECS invokes it
 * with. Least privilege: the function may read that parameter and write its
 * own log group, nothing else; ECS's role may invoke that function only.
 */
export class ReleaseGate extends Construct {
  readonly parameter: ssm.StringParameter;
  readonly function: lambda.Function;
  /** The role ECS assumes to invoke the hook (a lifecycle hook's roleArn). */
  readonly invokeRole: iam.Role;

  constructor(scope: Construct, id: string, props: ReleaseGateProps) {
    super(scope, id);

    // Closed until a release writes it: a deployment nobody is verifying rolls back at the gate.
    this.parameter = new ssm.StringParameter(this, 'Parameter', {
      parameterName: props.parameterName,
      description:
        'Release gate of blue/green services: {"release","state":"pending|open|closed","revisions":[...]} (infra/README.md)',
      stringValue: JSON.stringify({
        release: 'none',
        state: 'closed',
        reason: 'no release has opened the gate',
      }),
      tier: ssm.ParameterTier.STANDARD,
    });

    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${props.functionName}`,
      retention: props.logRetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'FunctionRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.functionName}: reads the release gate parameter, writes its own logs`,
      inlinePolicies: {
        gate: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: 'ReadGate',
              actions: ['ssm:GetParameter'],
              resources: [this.parameter.parameterArn],
            }),
            new iam.PolicyStatement({
              sid: 'OwnLogs',
              actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              // A log group's ARN ends in :*, which covers its streams.
              resources: [logGroup.logGroupArn],
            }),
          ],
        }),
      },
    });
    this.function = new lambda.Function(this, 'Function', {
      functionName: props.functionName,
      description:
        'ECS lifecycle hook at POST_TEST_TRAFFIC_SHIFT: holds, passes or fails green by the release gate',
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(releaseGateCodeDir, { exclude: ['*.d.mts'] }),
      role,
      logGroup,
      memorySize: 128,
      timeout: Duration.seconds(10),
      environment: {
        GATE_PARAMETER: props.parameterName,
        CALLBACK_DELAY_SECONDS: String(props.callBackDelay.toSeconds()),
      },
    });

    this.invokeRole = new iam.Role(this, 'InvokeRole', {
      assumedBy: new iam.ServicePrincipal('ecs.amazonaws.com'),
      description: `ECS invokes ${props.functionName} as a deployment lifecycle hook`,
      inlinePolicies: {
        invoke: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: 'InvokeGate',
              actions: ['lambda:InvokeFunction'],
              resources: [this.function.functionArn],
            }),
          ],
        }),
      },
    });
  }
}
