/**
 * CloudFormation API (Query protocol, Version 2010-05-15, XML replies), the
 * read side cdk-diff's `deployed` mode needs: GetTemplate and DescribeStacks
 * over the scenario's `stacks` (each deployed, CREATE_COMPLETE, with its
 * template). Shapes and errors follow the API reference,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_GetTemplate.html
 * and API_DescribeStacks.html: an unknown stack is a 400 ValidationError
 * "Stack with id NAME does not exist".
 */
import { randomUUID } from 'node:crypto';
import type { StackSpec } from '../scenario.js';
import { AwsError, type SimContext, type SimService } from '../service.js';

type Params = Record<string, unknown>;

interface StackRecord {
  spec: StackSpec;
  stackId: string;
  createdAt: Date;
}

export class CloudFormationService implements SimService {
  readonly name = 'cloudformation';
  readonly queryVersion = '2010-05-15';
  readonly xmlNamespace = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
  readonly mutating = new Set<string>([]);
  private readonly stacks: StackRecord[];

  constructor(ctx: SimContext) {
    this.stacks = (ctx.scenario.stacks ?? []).map((spec) => ({
      spec,
      stackId: `arn:aws:cloudformation:${ctx.region}:${ctx.accountId}:stack/${spec.name}/${randomUUID()}`,
      createdAt: new Date(ctx.now()),
    }));
  }

  handle(operation: string, params: Params): unknown {
    switch (operation) {
      case 'GetTemplate':
        return this.getTemplate(params);
      case 'DescribeStacks':
        return this.describeStacks(params);
      default:
        throw new AwsError('InvalidAction', `The action ${operation} is not valid for this web service.`);
    }
  }

  /** StackName is the stack's name or its stack ID (ARN). */
  private find(nameOrId: unknown): StackRecord {
    const stack = this.stacks.find((s) => s.spec.name === nameOrId || s.stackId === nameOrId);
    if (!stack) throw new AwsError('ValidationError', `Stack with id ${String(nameOrId)} does not exist`);
    return stack;
  }

  private getTemplate(params: Params): unknown {
    if (params.ChangeSetName !== undefined) {
      throw new AwsError(
        'ChangeSetNotFound',
        `ChangeSet [${String(params.ChangeSetName)}] does not exist`,
        404,
      );
    }
    const stage = params.TemplateStage ?? 'Original';
    if (stage !== 'Original' && stage !== 'Processed') {
      throw new AwsError(
        'ValidationError',
        `1 validation error detected: Value '${String(stage)}' at 'templateStage' failed to satisfy constraint: Member must satisfy enum value set: [Original, Processed]`,
      );
    }
    if (params.StackName === undefined) {
      throw new AwsError('ValidationError', 'Either StackName or ChangeSetName must be specified');
    }
    const stack = this.find(params.StackName);
    // A template without transforms: the original and processed stages are the same document.
    // CloudFormation returns every character above U+007F as "?" (what `cdk diff` compensates for).
    const body = JSON.stringify(stack.spec.template).replace(/[\u{80}-\u{10ffff}]/gu, '?');
    return { TemplateBody: body, StagesAvailable: ['Original', 'Processed'] };
  }

  private describeStacks(params: Params): unknown {
    const selected = params.StackName === undefined ? this.stacks : [this.find(params.StackName)];
    return {
      Stacks: selected.map((s) => ({
        StackId: s.stackId,
        StackName: s.spec.name,
        CreationTime: s.createdAt,
        StackStatus: 'CREATE_COMPLETE',
        DisableRollback: false,
        EnableTerminationProtection: false,
        DriftInformation: { StackDriftStatus: 'NOT_CHECKED' },
        Outputs: Object.entries((s.spec.template.Outputs as Record<string, { Value?: unknown }>) ?? {})
          .filter(([, output]) => typeof output?.Value === 'string')
          .map(([key, output]) => ({ OutputKey: key, OutputValue: output.Value })),
      })),
    };
  }
}
