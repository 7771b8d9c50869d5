/**
 * CloudFormation API (Query protocol, Version 2010-05-15, XML replies): stacks
 * and change sets over the simulated account (sim/cfn/stacks.ts), applied to
 * the running world (sim/cfn/apply.ts). Operations, parameters, shapes and
 * errors follow the API reference
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/): an
 * unknown stack is a 400 ValidationError "Stack with id NAME does not exist",
 * an unknown change set 404 ChangeSetNotFound. A change set takes
 * TemplateBody, UsePreviousTemplate, or TemplateURL: an object in the
 * simulator's S3 (sim/s3-store.ts), as `cdk deploy` uploads its templates.
 */
import type { CfnTemplate } from '../assembly/manifest.js';
import { CloudFormationControlPlane, type ChangeSetRecord, type StackRecord } from '../cfn/stacks.js';
import { iamAccountOf } from '../iam/account.js';
import type { ServiceParts } from '../registry.js';
import { parseS3Url, s3StoreOf, type S3Store } from '../s3-store.js';
import { AwsError, type SimService } from '../service.js';

type Params = Record<string, unknown>;

const list = (value: unknown): Params[] => (Array.isArray(value) ? (value as Params[]) : []);
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);
const bool = (value: unknown) => value === true || value === 'true';

/** Statuses ListStacks' StackStatusFilter accepts (StackStatus in the API reference). */
const STACK_STATUSES = new Set([
  'CREATE_IN_PROGRESS',
  'CREATE_FAILED',
  'CREATE_COMPLETE',
  'ROLLBACK_IN_PROGRESS',
  'ROLLBACK_FAILED',
  'ROLLBACK_COMPLETE',
  'DELETE_IN_PROGRESS',
  'DELETE_FAILED',
  'DELETE_COMPLETE',
  'UPDATE_IN_PROGRESS',
  'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
  'UPDATE_COMPLETE',
  'UPDATE_FAILED',
  'UPDATE_ROLLBACK_IN_PROGRESS',
  'UPDATE_ROLLBACK_FAILED',
  'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
  'UPDATE_ROLLBACK_COMPLETE',
  'REVIEW_IN_PROGRESS',
  'IMPORT_IN_PROGRESS',
  'IMPORT_COMPLETE',
  'IMPORT_ROLLBACK_IN_PROGRESS',
  'IMPORT_ROLLBACK_FAILED',
  'IMPORT_ROLLBACK_COMPLETE',
]);

export class CloudFormationService implements SimService {
  readonly name = 'cloudformation';
  readonly queryVersion = '2010-05-15';
  readonly xmlNamespace = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
  readonly mutating = new Set(['CreateChangeSet', 'ExecuteChangeSet', 'DeleteChangeSet', 'DeleteStack']);
  private readonly plane: CloudFormationControlPlane;
  private readonly s3: S3Store;

  constructor(parts: ServiceParts) {
    this.s3 = s3StoreOf(parts);
    this.plane = new CloudFormationControlPlane(
      { region: parts.region, accountId: parts.accountId, now: () => parts.now() },
      { ecs: parts.ecs, elb: parts.elb, logs: parts.logs, iam: iamAccountOf(parts) },
      parts.scenario.stacks ?? [],
    );
  }

  /** The template a TemplateURL names, read from the simulator's S3 (CloudFormation's errors when it cannot be). */
  private templateAt(url: string): string {
    const where = parseS3Url(url);
    if (!where) throw new AwsError('ValidationError', 'TemplateURL must be a supported URL.');
    const object = this.s3.object(where.bucket, where.key);
    if (!object)
      throw new AwsError(
        'ValidationError',
        this.s3.buckets.has(where.bucket)
          ? 'S3 error: The specified key does not exist.'
          : 'S3 error: The specified bucket does not exist',
      );
    return object.body.toString('utf8');
  }

  handle(operation: string, params: Params): unknown {
    this.plane.advance();
    switch (operation) {
      case 'GetTemplate':
        return this.getTemplate(params);
      case 'DescribeStacks':
        return this.describeStacks(params);
      case 'ListStacks':
        return this.listStacks(params);
      case 'DescribeStackEvents':
        return this.describeStackEvents(params);
      case 'DescribeStackResources':
        return this.describeStackResources(params);
      case 'ListStackResources':
        return this.listStackResources(params);
      case 'CreateChangeSet':
        return this.createChangeSet(params);
      case 'DescribeChangeSet':
        return this.describeChangeSet(params);
      case 'ListChangeSets':
        return this.listChangeSets(params);
      case 'ExecuteChangeSet':
        this.plane.executeChangeSet(
          this.changeSetOf(params),
          params.ClientRequestToken as string | undefined,
        );
        return {};
      case 'DeleteChangeSet': {
        let cs: ChangeSetRecord;
        try {
          cs = this.changeSetOf(params);
        } catch (err) {
          // On an existing stack, deleting a change set that is not there succeeds with no output, as on AWS
          // (`cdk deploy` deletes "cdk-deploy-change-set" if it exists before every deploy of a deployed stack).
          if (
            err instanceof AwsError &&
            err.code === 'ChangeSetNotFound' &&
            this.plane.findStack(params.StackName)
          )
            return {};
          throw err;
        }
        this.plane.deleteChangeSet(cs);
        return {};
      }
      case 'DeleteStack': {
        // Deleting a stack that does not exist succeeds (DeleteStack is idempotent).
        const stack = this.plane.findStack(params.StackName);
        if (stack) this.plane.deleteStack(stack, params.ClientRequestToken as string | undefined);
        return {};
      }
      case 'ListExports':
        return { Exports: this.plane.exports() };
      case 'ListImports':
        return this.listImports(params);
      default:
        throw new AwsError('InvalidAction', `The action ${operation} is not valid for this web service.`);
    }
  }

  private changeSetOf(params: Params): ChangeSetRecord {
    if (params.ChangeSetName === undefined)
      throw new AwsError('ValidationError', 'ChangeSetName is required');
    const name = String(params.ChangeSetName);
    if (!name.startsWith('arn:') && params.StackName === undefined)
      throw new AwsError(
        'ValidationError',
        'StackName must be specified if ChangeSetName is not specified as an ARN.',
      );
    return this.plane.changeSet(name, params.StackName);
  }

  /** CloudFormation returns every character above U+007F as "?" (what `cdk diff` compensates for). */
  private templateBody(template: CfnTemplate): string {
    return JSON.stringify(template).replace(/[\u{80}-\u{10ffff}]/gu, '?');
  }

  private getTemplate(params: Params): unknown {
    const stage = params.TemplateStage ?? 'Original';
    if (stage !== 'Original' && stage !== 'Processed') {
      throw new AwsError(
        'ValidationError',
        `1 validation error detected: Value '${String(stage)}' at 'templateStage' failed to satisfy constraint: Member must satisfy enum value set: [Original, Processed]`,
      );
    }
    if (params.ChangeSetName !== undefined) {
      const cs = this.changeSetOf(params);
      return { TemplateBody: this.templateBody(cs.template), StagesAvailable: ['Original', 'Processed'] };
    }
    if (params.StackName === undefined)
      throw new AwsError('ValidationError', 'Either StackName or ChangeSetName must be specified');
    const stack = this.plane.stack(params.StackName);
    // A stack created by a change set not yet executed has no template: no TemplateBody (what `cdk deploy` reads as {}).
    if (!stack.template && stack.status === 'REVIEW_IN_PROGRESS')
      return { StagesAvailable: ['Original', 'Processed'] };
    if (!stack.template)
      throw new AwsError('ValidationError', `Stack with id ${String(params.StackName)} does not exist`);
    // A template without transforms: the original and processed stages are the same document.
    return { TemplateBody: this.templateBody(stack.template), StagesAvailable: ['Original', 'Processed'] };
  }

  private stackShape(s: StackRecord): Params {
    return {
      StackId: s.id,
      StackName: s.name,
      ...(s.changeSetId ? { ChangeSetId: s.changeSetId } : {}),
      ...(s.description ? { Description: s.description } : {}),
      Parameters: Object.entries(s.parameters).map(([ParameterKey, ParameterValue]) => ({
        ParameterKey,
        ParameterValue,
      })),
      CreationTime: new Date(s.createdAt),
      ...(s.updatedAt !== undefined ? { LastUpdatedTime: new Date(s.updatedAt) } : {}),
      ...(s.deletedAt !== undefined ? { DeletionTime: new Date(s.deletedAt) } : {}),
      StackStatus: s.status,
      ...(s.statusReason ? { StackStatusReason: s.statusReason } : {}),
      DisableRollback: false,
      Capabilities: s.capabilities,
      Outputs: s.outputs.map((o) => ({
        OutputKey: o.key,
        OutputValue: o.value,
        ...(o.description ? { Description: o.description } : {}),
        ...(o.exportName !== undefined ? { ExportName: o.exportName } : {}),
      })),
      Tags: s.tags,
      EnableTerminationProtection: false,
      DriftInformation: { StackDriftStatus: 'NOT_CHECKED' },
    };
  }

  private describeStacks(params: Params): unknown {
    const selected =
      params.StackName === undefined
        ? this.plane.stacks.filter((s) => !s.deletedAt)
        : [this.plane.stack(params.StackName)];
    return { Stacks: selected.map((s) => this.stackShape(s)) };
  }

  private listStacks(params: Params): unknown {
    const filter = strings(params.StackStatusFilter);
    for (const status of filter)
      if (!STACK_STATUSES.has(status))
        throw new AwsError(
          'ValidationError',
          `1 validation error detected: Value '[${status}]' at 'stackStatusFilter' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [${[...STACK_STATUSES].join(', ')}]]`,
        );
    return {
      StackSummaries: [...this.plane.stacks]
        .reverse()
        .filter((s) => !filter.length || filter.includes(s.status))
        .map((s) => ({
          StackId: s.id,
          StackName: s.name,
          ...(typeof s.template?.Description === 'string'
            ? { TemplateDescription: s.template.Description }
            : {}),
          CreationTime: new Date(s.createdAt),
          ...(s.updatedAt !== undefined ? { LastUpdatedTime: new Date(s.updatedAt) } : {}),
          ...(s.deletedAt !== undefined ? { DeletionTime: new Date(s.deletedAt) } : {}),
          StackStatus: s.status,
          ...(s.statusReason ? { StackStatusReason: s.statusReason } : {}),
          DriftInformation: { StackDriftStatus: 'NOT_CHECKED' },
        })),
    };
  }

  /** Newest first, 100 a page (NextToken: the index of the next event). */
  private describeStackEvents(params: Params): unknown {
    const stack = this.plane.stack(params.StackName);
    const events = [...stack.events].reverse();
    const start = params.NextToken === undefined ? 0 : Number(params.NextToken);
    if (!Number.isInteger(start) || start < 0) throw new AwsError('ValidationError', 'Invalid NextToken');
    const page = events.slice(start, start + 100);
    return {
      StackEvents: page,
      ...(start + 100 < events.length ? { NextToken: String(start + 100) } : {}),
    };
  }

  private resourcesOf(stack: StackRecord) {
    return [...stack.resources.values()];
  }

  private describeStackResources(params: Params): unknown {
    let stack: StackRecord | undefined;
    if (params.StackName !== undefined) stack = this.plane.stack(params.StackName);
    else if (params.PhysicalResourceId !== undefined) {
      stack = this.plane.stacks.find(
        (s) => !s.deletedAt && this.resourcesOf(s).some((r) => r.physicalId === params.PhysicalResourceId),
      );
      if (!stack)
        throw new AwsError(
          'ValidationError',
          `Stack for ${String(params.PhysicalResourceId)} does not exist`,
        );
    } else throw new AwsError('ValidationError', 'Either StackName or PhysicalResourceId must be specified');
    const resources = this.resourcesOf(stack).filter(
      (r) => params.LogicalResourceId === undefined || r.logicalId === params.LogicalResourceId,
    );
    return {
      StackResources: resources.map((r) => ({
        StackName: stack.name,
        StackId: stack.id,
        LogicalResourceId: r.logicalId,
        PhysicalResourceId: r.physicalId,
        ResourceType: r.type,
        Timestamp: new Date(r.updatedAt),
        ResourceStatus: r.status,
        ...(r.reason ? { ResourceStatusReason: r.reason } : {}),
        DriftInformation: { StackResourceDriftStatus: 'NOT_CHECKED' },
      })),
    };
  }

  private listStackResources(params: Params): unknown {
    const stack = this.plane.stack(params.StackName);
    return {
      StackResourceSummaries: this.resourcesOf(stack).map((r) => ({
        LogicalResourceId: r.logicalId,
        PhysicalResourceId: r.physicalId,
        ResourceType: r.type,
        LastUpdatedTimestamp: new Date(r.updatedAt),
        ResourceStatus: r.status,
        ...(r.reason ? { ResourceStatusReason: r.reason } : {}),
        DriftInformation: { StackResourceDriftStatus: 'NOT_CHECKED' },
      })),
    };
  }

  private createChangeSet(params: Params): unknown {
    for (const required of ['StackName', 'ChangeSetName'])
      if (params[required] === undefined)
        throw new AwsError(
          'ValidationError',
          `1 validation error detected: Value null at '${required.charAt(0).toLowerCase()}${required.slice(1)}' failed to satisfy constraint: Member must not be null`,
        );
    const name = String(params.ChangeSetName);
    if (!/^[a-zA-Z][-a-zA-Z0-9]*$/.test(name) || name.length > 128)
      throw new AwsError(
        'ValidationError',
        `1 validation error detected: Value '${name}' at 'changeSetName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*`,
      );
    const type = String(params.ChangeSetType ?? 'UPDATE');
    if (type === 'IMPORT')
      throw new AwsError('ValidationError', 'ChangeSetType IMPORT is not modelled by the simulator');
    if (type !== 'CREATE' && type !== 'UPDATE')
      throw new AwsError(
        'ValidationError',
        `1 validation error detected: Value '${type}' at 'changeSetType' failed to satisfy constraint: Member must satisfy enum value set: [IMPORT, UPDATE, CREATE]`,
      );
    const sources = [
      params.TemplateBody !== undefined,
      params.TemplateURL !== undefined,
      bool(params.UsePreviousTemplate),
    ].filter(Boolean).length;
    if (sources !== 1)
      throw new AwsError(
        'ValidationError',
        'Specify exactly one of TemplateBody, TemplateURL or UsePreviousTemplate',
      );
    let template: CfnTemplate | undefined;
    const body =
      params.TemplateURL !== undefined ? this.templateAt(String(params.TemplateURL)) : params.TemplateBody;
    if (body !== undefined) {
      try {
        template = JSON.parse(String(body)) as CfnTemplate;
      } catch {
        // A YAML body is valid for CloudFormation; the simulator reads JSON templates (what CDK synthesizes).
        throw new AwsError(
          'ValidationError',
          'Template format error: JSON not well-formed. (the simulator reads JSON templates only)',
        );
      }
      if (!template || typeof template !== 'object' || Array.isArray(template))
        throw new AwsError('ValidationError', 'Template format error: JSON not well-formed.');
    }
    const cs = this.plane.createChangeSet({
      stackName: String(params.StackName),
      name,
      type,
      template,
      usePreviousTemplate: bool(params.UsePreviousTemplate),
      parameters: list(params.Parameters).map((p) => ({
        key: String(p.ParameterKey),
        ...(p.ParameterValue !== undefined ? { value: String(p.ParameterValue) } : {}),
        usePrevious: bool(p.UsePreviousValue),
      })),
      capabilities: strings(params.Capabilities),
      description: params.Description as string | undefined,
      tags: list(params.Tags).map((t) => ({ Key: String(t.Key), Value: String(t.Value) })),
    });
    return { Id: cs.id, StackId: cs.stack.id };
  }

  private changeSetShape(cs: ChangeSetRecord): Params {
    const complete = cs.status === 'CREATE_COMPLETE' || cs.executionStatus !== 'UNAVAILABLE';
    return {
      ChangeSetName: cs.name,
      ChangeSetId: cs.id,
      StackId: cs.stack.id,
      StackName: cs.stack.name,
      ...(cs.description ? { Description: cs.description } : {}),
      Parameters: Object.entries(cs.parameters).map(([ParameterKey, ParameterValue]) => ({
        ParameterKey,
        ParameterValue,
      })),
      CreationTime: new Date(cs.createdAt),
      ExecutionStatus: cs.executionStatus,
      Status: cs.status,
      ...(cs.statusReason ? { StatusReason: cs.statusReason } : {}),
      Capabilities: cs.capabilities,
      Tags: cs.tags,
      Changes: complete
        ? cs.changes.map((c) => ({
            Type: 'Resource',
            ResourceChange: {
              Action: c.Action,
              LogicalResourceId: c.LogicalResourceId,
              ...(c.PhysicalResourceId !== undefined && c.Action !== 'Add'
                ? { PhysicalResourceId: c.PhysicalResourceId }
                : {}),
              ResourceType: c.ResourceType,
              ...(c.Action === 'Modify' ? { Replacement: c.Replacement } : {}),
              Scope: c.Scope,
              Details: c.Details,
            },
          }))
        : [],
      IncludeNestedStacks: false,
    };
  }

  private describeChangeSet(params: Params): unknown {
    return this.changeSetShape(this.changeSetOf(params));
  }

  private listChangeSets(params: Params): unknown {
    const stack = this.plane.stack(params.StackName);
    return {
      Summaries: this.plane.changeSets
        .filter((c) => c.stack === stack && c.status !== 'DELETE_COMPLETE')
        .map((c) => ({
          StackId: stack.id,
          StackName: stack.name,
          ChangeSetId: c.id,
          ChangeSetName: c.name,
          ExecutionStatus: c.executionStatus,
          Status: c.status,
          ...(c.statusReason ? { StatusReason: c.statusReason } : {}),
          CreationTime: new Date(c.createdAt),
          ...(c.description ? { Description: c.description } : {}),
          IncludeNestedStacks: false,
        })),
    };
  }

  private listImports(params: Params): unknown {
    const name = String(params.ExportName);
    const importers = this.plane.importers(name);
    if (!importers.length)
      throw new AwsError('ValidationError', `Export '${name}' is not imported by any stack.`);
    return { Imports: importers };
  }
}
