/**
 * CloudFormation's control plane for one account: stacks, change sets, stack
 * events and exports, on the simulated clock.
 *
 * - A stack the world was loaded with (Scenario.stacks) is CREATE_COMPLETE.
 * - CreateChangeSet: CREATE makes a new stack REVIEW_IN_PROGRESS. The change set
 *   is CREATE_PENDING, then (CHANGE_SET_MS later) CREATE_COMPLETE with its
 *   changes, or FAILED with CloudFormation's reason when nothing changes.
 * - ExecuteChangeSet applies the change to the world at once (apply.ts; checked
 *   first, so a refused resource changes nothing) and reports it as
 *   CloudFormation does, a step every STEP_MS: the stack *_IN_PROGRESS, each
 *   resource *_IN_PROGRESS then *_COMPLETE (an ECS service only once it is
 *   steady, as CloudFormation waits for it), UPDATE_COMPLETE_CLEANUP_IN_PROGRESS,
 *   removals, *_COMPLETE. A refused resource is *_FAILED with the service's
 *   message, and the stack rolls back (UPDATE_ROLLBACK_COMPLETE, or
 *   ROLLBACK_COMPLETE for a new stack).
 * - An export another stack imports can be neither changed nor removed, nor its
 *   stack deleted: "Export X cannot be updated|deleted as it is in use by Y".
 *
 * The report is advanced lazily: whenever the API is called, every step whose
 * time has come runs (the world changes happened at ExecuteChangeSet already).
 */
import { randomUUID } from 'node:crypto';
import type { CfnTemplate } from '../assembly/manifest.js';
import { AwsError } from '../service.js';
import type { ResourceChange } from './changes.js';
import { requiredCapability, resourceChanges } from './changes.js';
import { handlerMessage, notApplied, WorldApplier, type WorldEngines } from './apply.js';
import { remap, type Remapped, type StackInput } from './remap.js';

/** How long a change set takes to compute, and each step of a stack operation (simulated ms). */
export const CHANGE_SET_MS = 1_000;
export const STEP_MS = 1_000;

export interface StackEvent {
  EventId: string;
  StackId: string;
  StackName: string;
  LogicalResourceId: string;
  PhysicalResourceId: string;
  ResourceType: string;
  Timestamp: Date;
  ResourceStatus: string;
  ResourceStatusReason?: string;
  ClientRequestToken?: string;
}

export interface StackResourceRecord {
  logicalId: string;
  physicalId: string;
  type: string;
  status: string;
  reason?: string;
  updatedAt: number;
}

export interface StackRecord {
  id: string;
  name: string;
  status: string;
  statusReason?: string;
  createdAt: number;
  updatedAt?: number;
  deletedAt?: number;
  /** The deployed template (undefined while REVIEW_IN_PROGRESS). */
  template?: CfnTemplate;
  parameters: Record<string, string>;
  capabilities: string[];
  description?: string;
  outputs: { key: string; value: string; description?: string; exportName?: string }[];
  imports: string[];
  resources: Map<string, StackResourceRecord>;
  /** Newest last. */
  events: StackEvent[];
  changeSetId?: string;
  tags: { Key: string; Value: string }[];
  /** Steps of the operation in progress. */
  steps: Step[];
  lastStepAt: number;
}

export interface ChangeSetRecord {
  id: string;
  name: string;
  stack: StackRecord;
  type: 'CREATE' | 'UPDATE';
  template: CfnTemplate;
  parameters: Record<string, string>;
  capabilities: string[];
  description?: string;
  createdAt: number;
  status: 'CREATE_PENDING' | 'CREATE_IN_PROGRESS' | 'CREATE_COMPLETE' | 'DELETE_COMPLETE' | 'FAILED';
  executionStatus:
    'UNAVAILABLE' | 'AVAILABLE' | 'EXECUTE_IN_PROGRESS' | 'EXECUTE_COMPLETE' | 'EXECUTE_FAILED' | 'OBSOLETE';
  statusReason?: string;
  changes: ResourceChange[];
  tags: { Key: string; Value: string }[];
}

/** One step of a stack operation: runs when due; false = not yet (waits for the world), try again later. */
interface Step {
  delayMs: number;
  run(at: number): boolean;
}

const NO_CHANGES =
  "The submitted information didn't contain changes. Submit different information to create a change set.";

export class CloudFormationControlPlane {
  readonly stacks: StackRecord[] = [];
  readonly changeSets: ChangeSetRecord[] = [];
  private applier?: WorldApplier;
  /** Every live stack mapped as deployed (lazily: a load pays nothing until a change set comes). */
  private mapped?: Remapped;

  constructor(
    private readonly env: { region: string; accountId: string; now(): number },
    private readonly engines: WorldEngines,
    loaded: { name: string; template: Record<string, unknown> }[],
  ) {
    for (const spec of loaded) {
      const stack = this.newStack(spec.name, 'CREATE_COMPLETE');
      stack.template = spec.template as CfnTemplate;
      this.stacks.push(stack);
    }
  }

  private ready = false;

  /**
   * The loaded stacks' outputs, imports and resources, from their mapping: done on the first
   * call of the API rather than at every load (most worlds never see a CloudFormation call).
   */
  private ensureMapped(): void {
    if (this.ready) return;
    this.ready = true;
    this.refreshFromMapping();
  }

  private now(): number {
    return this.env.now();
  }

  private newStack(name: string, status: string): StackRecord {
    return {
      id: `arn:aws:cloudformation:${this.env.region}:${this.env.accountId}:stack/${name}/${randomUUID()}`,
      name,
      status,
      createdAt: this.now(),
      parameters: {},
      capabilities: [],
      outputs: [],
      imports: [],
      resources: new Map(),
      events: [],
      tags: [],
      steps: [],
      lastStepAt: this.now(),
    };
  }

  /** Stacks that hold resources, in the order they were created (the order the loader maps them in). */
  private deployed(): StackRecord[] {
    return this.stacks.filter(
      (s) => s.template !== undefined && !s.deletedAt && s.status !== 'ROLLBACK_COMPLETE',
    );
  }

  /**
   * The deployed stacks as remap's input, `replace.stack` as it would be. `upTo`: only the stacks
   * up to that one (a template is checked against what it imports; what imports from it is the
   * export check's business).
   */
  private inputs(
    replace?: { stack: StackRecord; template?: CfnTemplate; parameters: Record<string, string> },
    upTo = false,
  ): StackInput[] {
    const inputs: StackInput[] = [];
    for (const s of this.stacks) {
      if (s.deletedAt || s.status === 'ROLLBACK_COMPLETE') continue;
      if (replace && s === replace.stack) {
        if (replace.template)
          inputs.push({ name: s.name, template: replace.template, parameters: replace.parameters });
        if (upTo) break;
      } else if (s.template) inputs.push({ name: s.name, template: s.template, parameters: s.parameters });
    }
    return inputs;
  }

  private current(): Remapped {
    if (!this.mapped) {
      this.mapped = remap(this.inputs(), this.env);
      if (!this.applier) {
        this.applier = new WorldApplier(this.engines, new Map());
        this.applier.adoptLoaded(this.mapped);
      }
    }
    return this.mapped;
  }

  /** Outputs, imports and resources of the deployed stacks from their mapping (the loaded stacks' too). */
  private refreshFromMapping(): void {
    let mapped: Remapped;
    try {
      mapped = this.current();
    } catch {
      return; // a world whose stacks do not map (a hand-written scenario) still answers GetTemplate
    }
    for (const stack of this.deployed()) {
      const resolved = mapped.stacks.get(stack.name);
      if (!resolved) continue;
      stack.outputs = resolved.outputs;
      stack.imports = resolved.imports;
      for (const resource of resolved.resources.values()) {
        const existing = stack.resources.get(resource.logicalId);
        const physicalId =
          this.applier?.taskDefinitionArns.get(`${stack.name}/${resource.logicalId}`) ?? resource.physicalId;
        if (existing) existing.physicalId = physicalId;
        else
          stack.resources.set(resource.logicalId, {
            logicalId: resource.logicalId,
            physicalId,
            type: resource.type,
            status: 'CREATE_COMPLETE',
            updatedAt: stack.createdAt,
          });
      }
    }
  }

  // ------------------------------------------------------------------ lookups

  /** A live stack by name, or any stack by its id. */
  findStack(nameOrId: unknown): StackRecord | undefined {
    const ref = String(nameOrId);
    if (ref.startsWith('arn:')) return this.stacks.find((s) => s.id === ref);
    return this.stacks.find((s) => s.name === ref && !s.deletedAt);
  }

  stack(nameOrId: unknown): StackRecord {
    const stack = this.findStack(nameOrId);
    if (!stack) throw new AwsError('ValidationError', `Stack with id ${String(nameOrId)} does not exist`);
    return stack;
  }

  changeSet(name: unknown, stackName: unknown): ChangeSetRecord {
    const ref = String(name);
    // By name: the stack's live change set of that name (an earlier one deleted under the same name, as
    // `cdk deploy` reuses "cdk-deploy-change-set" on every update, is gone).
    const found = ref.startsWith('arn:')
      ? this.changeSets.find((c) => c.id === ref)
      : this.changeSets.find(
          (c) =>
            c.name === ref &&
            c.status !== 'DELETE_COMPLETE' &&
            stackName !== undefined &&
            (c.stack.name === stackName || c.stack.id === stackName) &&
            !c.stack.deletedAt,
        );
    if (!found || found.status === 'DELETE_COMPLETE')
      throw new AwsError('ChangeSetNotFound', `ChangeSet [${ref}] does not exist`, 404);
    return found;
  }

  // ------------------------------------------------------------------ time

  /** Runs every step that is due, for every stack and change set. */
  advance(): void {
    this.ensureMapped();
    const now = this.now();
    for (const cs of this.changeSets) {
      if (cs.status === 'CREATE_PENDING' && now >= cs.createdAt + CHANGE_SET_MS) this.finishChangeSet(cs);
    }
    for (const stack of this.stacks) {
      while (stack.steps.length) {
        const step = stack.steps[0];
        const due = stack.lastStepAt + step.delayMs;
        if (due > now) break;
        // A step that had to wait for the world happens when it is seen done (now), not when it was due.
        if (!step.run(due)) break;
        stack.steps.shift();
        stack.lastStepAt = due;
      }
      const blocked = stack.steps[0];
      if (blocked && stack.lastStepAt + blocked.delayMs <= now) {
        // Keep the clock of later steps from the moment the world let the blocked one through.
        stack.lastStepAt = Math.max(stack.lastStepAt, now - blocked.delayMs);
      }
    }
  }

  private event(
    stack: StackRecord,
    at: number,
    logicalId: string,
    type: string,
    status: string,
    physicalId: string,
    reason?: string,
    token?: string,
  ): void {
    stack.events.push({
      EventId:
        logicalId === stack.name ? randomUUID() : `${logicalId}-${status}-${new Date(at).toISOString()}`,
      StackId: stack.id,
      StackName: stack.name,
      LogicalResourceId: logicalId,
      PhysicalResourceId: physicalId,
      ResourceType: type,
      Timestamp: new Date(at),
      ResourceStatus: status,
      ...(reason !== undefined ? { ResourceStatusReason: reason } : {}),
      ...(token !== undefined ? { ClientRequestToken: token } : {}),
    });
  }

  private stackEvent(stack: StackRecord, at: number, status: string, reason?: string, token?: string): void {
    stack.status = status;
    stack.statusReason = reason;
    this.event(stack, at, stack.name, 'AWS::CloudFormation::Stack', status, stack.id, reason, token);
  }

  // ------------------------------------------------------------------ change sets

  createChangeSet(request: {
    stackName: string;
    name: string;
    type: 'CREATE' | 'UPDATE';
    template?: CfnTemplate;
    usePreviousTemplate: boolean;
    parameters: { key: string; value?: string; usePrevious?: boolean }[];
    capabilities: string[];
    description?: string;
    tags: { Key: string; Value: string }[];
  }): ChangeSetRecord {
    this.advance();
    let stack = this.findStack(request.stackName);
    if (request.type === 'CREATE') {
      if (stack && stack.status !== 'REVIEW_IN_PROGRESS')
        throw new AwsError(
          'ValidationError',
          `Stack [${request.stackName}] already exists and cannot be created again with the changeSet [${request.name}].`,
        );
    } else if (!stack || stack.status === 'REVIEW_IN_PROGRESS') {
      throw new AwsError('ValidationError', `Stack [${request.stackName}] does not exist`);
    }
    // In progress, or in a state only DeleteStack leaves (a failed creation, a failed deletion).
    if (
      stack &&
      (stack.steps.length || ['ROLLBACK_COMPLETE', 'ROLLBACK_FAILED', 'DELETE_FAILED'].includes(stack.status))
    )
      throw new AwsError(
        'ValidationError',
        `Stack:${stack.id} is in ${stack.status} state and can not be updated.`,
      );
    if (
      stack &&
      this.changeSets.some(
        (c) => c.stack === stack && c.name === request.name && c.status !== 'DELETE_COMPLETE',
      )
    )
      throw new AwsError('AlreadyExistsException', `ChangeSet ${request.name} already exists`);
    const template = request.usePreviousTemplate ? stack?.template : request.template;
    if (!template)
      throw new AwsError(
        'ValidationError',
        'Template format error: a template is required (TemplateBody, or UsePreviousTemplate for an update)',
      );
    if (!template.Resources || Object.keys(template.Resources).length === 0)
      throw new AwsError(
        'ValidationError',
        'Template format error: At least one Resources member must be defined.',
      );
    // Parameters: given, previous, or the template's Default.
    const parameters: Record<string, string> = {};
    const missing: string[] = [];
    for (const [key, definition] of Object.entries(template.Parameters ?? {})) {
      const given = request.parameters.find((p) => p.key === key);
      if (given?.usePrevious) {
        const previous = stack?.parameters[key];
        if (previous === undefined)
          throw new AwsError(
            'ValidationError',
            `Invalid input for parameter key ${key}. Cannot specify usePreviousValue as true for a parameter key not in the previous template`,
          );
        parameters[key] = previous;
      } else if (given?.value !== undefined) parameters[key] = given.value;
      else if (definition.Default !== undefined) parameters[key] = String(definition.Default);
      else missing.push(key);
    }
    if (missing.length)
      throw new AwsError('ValidationError', `Parameters: [${missing.join(', ')}] must have values`);
    const unknown = request.parameters.filter((p) => !(p.key in (template.Parameters ?? {})));
    if (unknown.length)
      throw new AwsError(
        'ValidationError',
        `Parameters: [${unknown.map((p) => p.key).join(', ')}] do not exist in the template`,
      );
    const needed = requiredCapability(template);
    if (
      needed &&
      !request.capabilities.includes(needed) &&
      !(needed === 'CAPABILITY_IAM' && request.capabilities.includes('CAPABILITY_NAMED_IAM'))
    )
      throw new AwsError('InsufficientCapabilitiesException', `Requires capabilities : [${needed}]`);

    if (!stack) {
      stack = this.newStack(request.stackName, 'REVIEW_IN_PROGRESS');
      stack.tags = request.tags;
      this.stacks.push(stack);
      this.stackEvent(stack, this.now(), 'REVIEW_IN_PROGRESS', 'User Initiated');
    }
    const changeSet: ChangeSetRecord = {
      id: `arn:aws:cloudformation:${this.env.region}:${this.env.accountId}:changeSet/${request.name}/${randomUUID()}`,
      name: request.name,
      stack,
      type: request.type,
      template,
      parameters,
      capabilities: request.capabilities,
      description: request.description,
      createdAt: this.now(),
      status: 'CREATE_PENDING',
      executionStatus: 'UNAVAILABLE',
      changes: [],
      tags: request.tags,
    };
    this.changeSets.push(changeSet);
    return changeSet;
  }

  /** Works out the change set's changes (CREATE_COMPLETE), or why it cannot be made (FAILED). */
  private finishChangeSet(cs: ChangeSetRecord): void {
    const stack = cs.stack;
    const changedParameters = new Set(
      Object.keys(cs.parameters).filter((k) => stack.template && stack.parameters[k] !== cs.parameters[k]),
    );
    cs.changes = resourceChanges(
      cs.type === 'CREATE' ? undefined : stack.template,
      cs.template,
      (id) => stack.resources.get(id)?.physicalId,
      changedParameters,
    );
    try {
      // The new template must map (intrinsics resolve, imports exist) like CloudFormation's template validation.
      remap(this.inputs({ stack, template: cs.template, parameters: cs.parameters }, true), this.env);
    } catch (err) {
      cs.status = 'FAILED';
      cs.executionStatus = 'UNAVAILABLE';
      cs.statusReason = `Template error: ${(err as Error).message}`;
      return;
    }
    const sameOutputs =
      JSON.stringify(stack.template?.Outputs ?? {}) === JSON.stringify(cs.template.Outputs ?? {});
    if (cs.type === 'UPDATE' && cs.changes.length === 0 && sameOutputs && changedParameters.size === 0) {
      cs.status = 'FAILED';
      cs.executionStatus = 'UNAVAILABLE';
      cs.statusReason = NO_CHANGES;
      return;
    }
    cs.status = 'CREATE_COMPLETE';
    cs.executionStatus = 'AVAILABLE';
  }

  deleteChangeSet(cs: ChangeSetRecord): void {
    this.advance();
    if (cs.executionStatus === 'EXECUTE_IN_PROGRESS')
      throw new AwsError(
        'InvalidChangeSetStatus',
        `Cannot delete ChangeSet ${cs.id} because it is in EXECUTE_IN_PROGRESS status`,
      );
    cs.status = 'DELETE_COMPLETE';
  }

  // ------------------------------------------------------------------ execution

  executeChangeSet(cs: ChangeSetRecord, token?: string): void {
    this.advance();
    const stack = cs.stack;
    if (cs.status !== 'CREATE_COMPLETE' || cs.executionStatus !== 'AVAILABLE')
      throw new AwsError(
        'InvalidChangeSetStatus',
        `ChangeSet [${cs.id}] cannot be executed in its current execution status of [${cs.executionStatus}]`,
      );
    if (stack.steps.length)
      throw new AwsError(
        'InvalidChangeSetStatus',
        `ChangeSet [${cs.id}] cannot be executed in its current status of [${stack.status}]`,
      );
    // "CloudFormation deletes all other change sets associated with the stack because they aren't
    // valid for the updated stack" (ExecuteChangeSet in the API reference).
    for (const other of this.changeSets)
      if (other.stack === stack && other !== cs) other.status = 'DELETE_COMPLETE';
    cs.executionStatus = 'EXECUTE_IN_PROGRESS';
    const creating = cs.type === 'CREATE';
    const verb = creating ? 'CREATE' : 'UPDATE';
    const now = this.now();
    stack.lastStepAt = now;
    stack.changeSetId = cs.id;
    this.stackEvent(stack, now, `${verb}_IN_PROGRESS`, 'User Initiated', token);
    if (!creating) stack.updatedAt = now;

    const prev = this.current();
    const replaced = { stack, template: cs.template, parameters: cs.parameters };
    let next: Remapped;
    try {
      // Exports first: one imported by another stack may be neither changed nor removed.
      const exportProblem = this.exportInUse(stack, remap(this.inputs(replaced, true), this.env));
      if (exportProblem) return this.failStack(cs, creating, [], undefined, exportProblem, token);
      next = remap(this.inputs(replaced), this.env);
    } catch (err) {
      return this.failStack(cs, creating, [], undefined, `Template error: ${(err as Error).message}`, token);
    }

    const ordered = orderForApply(cs.changes);
    const applier = this.applier!;
    const failure = applier.validate(next, stack.name, ordered);
    let obsolete: string[] = [];
    const deployedBefore = {
      template: stack.template,
      parameters: stack.parameters,
      capabilities: stack.capabilities,
      description: stack.description,
      taskDefinitionArns: new Map(applier.taskDefinitionArns),
    };
    let engineFailure: { logicalId: string; reason: string } | undefined = failure;
    if (!failure) {
      try {
        obsolete = applier.apply(prev, next, stack.name, ordered).obsolete;
      } catch (err) {
        if (!(err instanceof AwsError)) throw err;
        const logicalId =
          (err as AwsError & { failedLogicalId?: string }).failedLogicalId ??
          ordered[0]?.LogicalResourceId ??
          stack.name;
        engineFailure = { logicalId, reason: err.message };
      }
    }
    if (engineFailure) {
      const at = ordered.findIndex(
        (c) => c.LogicalResourceId === engineFailure!.logicalId && c.Action !== 'Remove',
      );
      const service = serviceOf(ordered[at]?.ResourceType ?? '');
      const reason = handlerMessage(engineFailure.reason, service, randomUUID(), randomUUID());
      return this.failStack(cs, creating, ordered.slice(0, Math.max(at, 0)), ordered[at], reason, token);
    }
    // The world changed: what is deployed now.
    stack.template = cs.template;
    stack.parameters = cs.parameters;
    stack.capabilities = cs.capabilities;
    stack.description = typeof cs.template.Description === 'string' ? cs.template.Description : undefined;
    if (cs.tags.length) stack.tags = cs.tags;
    this.mapped = next;
    const unmodelled = new Map(
      next.unmodelled.filter((u) => u.stack === stack.name).map((u) => [u.logicalId, u.reason]),
    );
    const newRevisions = () => {
      const kept = new Set(deployedBefore.taskDefinitionArns.values());
      return [...applier.taskDefinitionArns.values()].filter((arn) => !kept.has(arn));
    };
    const physical = (id: string) =>
      applier.taskDefinitionArns.get(`${stack.name}/${id}`) ??
      next.stacks.get(stack.name)?.resources.get(id)?.physicalId ??
      id;

    for (const change of ordered.filter((c) => c.Action !== 'Remove')) {
      const id = change.LogicalResourceId;
      const action = change.Action === 'Add' ? 'CREATE' : 'UPDATE';
      stack.steps.push({
        delayMs: STEP_MS,
        run: (at) => {
          this.event(
            stack,
            at,
            id,
            change.ResourceType,
            `${action}_IN_PROGRESS`,
            change.Action === 'Add' ? '' : physical(id),
            change.Action === 'Add' ? undefined : undefined,
            token,
          );
          return true;
        },
      });
      stack.steps.push({
        delayMs: STEP_MS,
        run: (at) => {
          if (change.ResourceType === 'AWS::ECS::Service') {
            const state = this.serviceState(next, stack.name, id, now);
            if (state === 'failed') {
              // CloudFormation's ECS handler fails the resource when the deployment circuit breaker trips.
              const reason = `Resource handler returned message: "Error occurred during operation 'ECS Deployment Circuit Breaker was triggered'." (RequestToken: ${randomUUID()}, HandlerErrorCode: GeneralServiceException)`;
              const index = ordered.indexOf(change);
              const fresh = newRevisions();
              // The step being run is shifted off once it returns: a placeholder takes its place.
              stack.steps.splice(0, stack.steps.length, { delayMs: 0, run: () => true });
              this.undo(cs, creating, prev, next, deployedBefore);
              this.failStack(cs, creating, ordered.slice(0, index), change, reason, token, {
                reported: true,
                cleanUp: () => applier.cleanUp(fresh),
              });
              return true;
            }
            if (state === 'waiting') return false;
          }
          const note = notApplied(change, unmodelled.get(id));
          this.event(stack, at, id, change.ResourceType, `${action}_COMPLETE`, physical(id), note, token);
          stack.resources.set(id, {
            logicalId: id,
            physicalId: physical(id),
            type: change.ResourceType,
            status: `${action}_COMPLETE`,
            reason: note,
            updatedAt: at,
          });
          return true;
        },
      });
    }
    const removals = ordered.filter(
      (c) => c.Action === 'Remove' || (c.Action === 'Modify' && c.Replacement === 'True'),
    );
    if (!creating) {
      stack.steps.push({
        delayMs: STEP_MS,
        run: (at) => (
          this.stackEvent(stack, at, 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', undefined, token),
          true
        ),
      });
    }
    for (const change of removals) {
      const oldPhysical = change.PhysicalResourceId ?? change.LogicalResourceId;
      stack.steps.push({
        delayMs: STEP_MS,
        run: (at) => {
          this.event(
            stack,
            at,
            change.LogicalResourceId,
            change.ResourceType,
            'DELETE_IN_PROGRESS',
            oldPhysical,
            undefined,
            token,
          );
          this.event(
            stack,
            at,
            change.LogicalResourceId,
            change.ResourceType,
            'DELETE_COMPLETE',
            oldPhysical,
            undefined,
            token,
          );
          if (change.Action === 'Remove') stack.resources.delete(change.LogicalResourceId);
          return true;
        },
      });
    }
    stack.steps.push({
      delayMs: STEP_MS,
      run: (at) => {
        applier.cleanUp(obsolete);
        this.refreshFromMapping();
        stack.updatedAt = creating ? undefined : at;
        this.stackEvent(stack, at, `${verb}_COMPLETE`, undefined, token);
        cs.executionStatus = 'EXECUTE_COMPLETE';
        return true;
      },
    });
  }

  /**
   * An ECS service is CREATE/UPDATE_COMPLETE once ECS reports it steady (CloudFormation waits for
   * stabilization), failed once a deployment started since `since` failed (the circuit breaker).
   */
  private serviceState(
    next: Remapped,
    stackName: string,
    logicalId: string,
    since: number,
  ): 'steady' | 'waiting' | 'failed' {
    const resource = next.stacks.get(stackName)?.resources.get(logicalId);
    const props = resource?.properties;
    const spec = next.scenario.services?.find(
      (s) => resource && (resource.physicalId.endsWith(`/${s.name}`) || props?.ServiceName === s.name),
    );
    if (!spec) return 'steady';
    const service = this.engines.ecs.clusters.get(spec.cluster)?.services.get(spec.name);
    if (!service || service.status !== 'ACTIVE') return 'steady';
    const failed =
      service.deployments.some((d) => d.createdAt >= since && d.rolloutState === 'FAILED') ||
      service.serviceDeployments.some((sd) => sd.createdAt >= since && sd.status.startsWith('ROLLBACK_'));
    if (failed) return 'failed';
    return service.steady ? 'steady' : 'waiting';
  }

  /** Puts the world and the stack back as they were before `cs` was executed (a rollback). */
  private undo(
    cs: ChangeSetRecord,
    creating: boolean,
    prev: Remapped,
    next: Remapped,
    before: {
      template?: CfnTemplate;
      parameters: Record<string, string>;
      capabilities: string[];
      description?: string;
      taskDefinitionArns: Map<string, string>;
    },
  ): void {
    const applier = this.applier!;
    const removed = new Set(before.taskDefinitionArns.keys());
    for (const key of [...applier.taskDefinitionArns.keys()])
      if (!removed.has(key)) applier.taskDefinitionArns.delete(key);
    for (const [key, arn] of before.taskDefinitionArns) applier.taskDefinitionArns.set(key, arn);
    // The difference the other way: services back on their revisions, groups, rules and IAM as they were.
    applier.apply(next, prev, cs.stack.name, []);
    this.mapped = prev;
    const stack = cs.stack;
    stack.template = creating ? undefined : before.template;
    stack.parameters = before.parameters;
    stack.capabilities = before.capabilities;
    stack.description = before.description;
    if (creating) stack.resources.clear();
    else this.refreshFromMapping();
  }

  /** The export the stack's new outputs would change or drop while another stack imports it. */
  private exportInUse(stack: StackRecord, next: Remapped): string | undefined {
    const after = next.stacks.get(stack.name)?.outputs ?? [];
    for (const output of stack.outputs) {
      if (output.exportName === undefined) continue;
      const importers = this.importers(output.exportName, stack);
      if (!importers.length) continue;
      const kept = after.find((o) => o.exportName === output.exportName);
      if (!kept)
        return `Export ${output.exportName} cannot be deleted as it is in use by ${importers.join(', ')}`;
      if (kept.value !== output.value)
        return `Export ${output.exportName} cannot be updated as it is in use by ${importers.join(', ')}`;
    }
    return undefined;
  }

  importers(exportName: string, except?: StackRecord): string[] {
    return this.deployed()
      .filter((s) => s !== except && s.imports.includes(exportName))
      .map((s) => s.name);
  }

  /** A refused operation: the resources before the failure are reported done, then rolled back; the world is as it was. */
  private failStack(
    cs: ChangeSetRecord,
    creating: boolean,
    done: ResourceChange[],
    failed: ResourceChange | undefined,
    reason: string,
    token?: string,
    /** The resources' progress was reported already (a failure found while the operation ran). */
    opts: { reported?: boolean; cleanUp?: () => void } = {},
  ): void {
    const stack = cs.stack;
    const physical = (c: ResourceChange) => c.PhysicalResourceId ?? '';
    // One step of the stack's event log: a resource reaching a status.
    const resourceStep = (c: ResourceChange, status: string, why?: string): Step => ({
      delayMs: STEP_MS,
      run: (at) => (
        this.event(stack, at, c.LogicalResourceId, c.ResourceType, status, physical(c), why, token),
        true
      ),
    });
    for (const change of opts.reported ? [] : done) {
      const action = change.Action === 'Add' ? 'CREATE' : 'UPDATE';
      stack.steps.push(resourceStep(change, `${action}_IN_PROGRESS`));
      stack.steps.push(resourceStep(change, `${action}_COMPLETE`));
    }
    if (failed) {
      const action = failed.Action === 'Add' ? 'CREATE' : 'UPDATE';
      if (!opts.reported) stack.steps.push(resourceStep(failed, `${action}_IN_PROGRESS`));
      stack.steps.push(resourceStep(failed, `${action}_FAILED`, reason));
    }
    const stackReason = failed
      ? `The following resource(s) failed to ${creating ? 'create' : 'update'}: [${failed.LogicalResourceId}]. ${creating ? 'Rollback requested by user.' : ''}`.trim()
      : reason;
    const rollback = creating ? 'ROLLBACK' : 'UPDATE_ROLLBACK';
    stack.steps.push({
      delayMs: STEP_MS,
      run: (at) => (this.stackEvent(stack, at, `${rollback}_IN_PROGRESS`, stackReason, token), true),
    });
    for (const change of [...done].reverse()) {
      const back = creating || change.Action === 'Add' ? 'DELETE' : 'UPDATE';
      stack.steps.push(resourceStep(change, `${back}_IN_PROGRESS`));
      stack.steps.push(resourceStep(change, `${back}_COMPLETE`));
    }
    if (failed && creating) {
      stack.steps.push(resourceStep(failed, 'DELETE_COMPLETE'));
    }
    if (!creating)
      stack.steps.push({
        delayMs: STEP_MS,
        run: (at) => (
          this.stackEvent(stack, at, 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', undefined, token),
          true
        ),
      });
    stack.steps.push({
      delayMs: STEP_MS,
      run: (at) => {
        opts.cleanUp?.();
        this.stackEvent(stack, at, `${rollback}_COMPLETE`, undefined, token);
        cs.executionStatus = 'EXECUTE_FAILED';
        return true;
      },
    });
  }

  // ------------------------------------------------------------------ deletion

  deleteStack(stack: StackRecord, token?: string): void {
    this.advance();
    if (stack.deletedAt) return;
    if (stack.steps.length)
      throw new AwsError(
        'ValidationError',
        `Stack [${stack.name}] cannot be deleted while in status ${stack.status}`,
      );
    const now = this.now();
    stack.lastStepAt = now;
    this.stackEvent(stack, now, 'DELETE_IN_PROGRESS', 'User Initiated', token);
    const inUse = stack.outputs
      .filter((o) => o.exportName !== undefined)
      .map((o) => ({ name: o.exportName!, importers: this.importers(o.exportName!, stack) }))
      .find((e) => e.importers.length);
    if (inUse) {
      const reason = `Export ${inUse.name} cannot be deleted as it is in use by ${inUse.importers.join(', ')}`;
      stack.steps.push({
        delayMs: STEP_MS,
        run: (at) => (this.stackEvent(stack, at, 'DELETE_FAILED', reason, token), true),
      });
      return;
    }
    if (stack.template && stack.status !== 'ROLLBACK_COMPLETE') {
      const prev = this.current();
      const next = remap(this.inputs({ stack, template: undefined, parameters: {} }), this.env);
      const removals: ResourceChange[] = [...stack.resources.values()].reverse().map((r) => ({
        Action: 'Remove',
        LogicalResourceId: r.logicalId,
        PhysicalResourceId: r.physicalId,
        ResourceType: r.type,
        Scope: [],
        Details: [],
      }));
      const { obsolete } = this.applier!.apply(prev, next, stack.name, removals);
      this.mapped = next;
      for (const change of removals) {
        stack.steps.push({
          delayMs: STEP_MS,
          run: (at) => {
            this.event(
              stack,
              at,
              change.LogicalResourceId,
              change.ResourceType,
              'DELETE_IN_PROGRESS',
              change.PhysicalResourceId!,
              undefined,
              token,
            );
            this.event(
              stack,
              at,
              change.LogicalResourceId,
              change.ResourceType,
              'DELETE_COMPLETE',
              change.PhysicalResourceId!,
              notApplied(change),
              token,
            );
            return true;
          },
        });
      }
      stack.steps.push({ delayMs: STEP_MS, run: () => (this.applier!.cleanUp(obsolete), true) });
    }
    stack.steps.push({
      delayMs: STEP_MS,
      run: (at) => {
        this.stackEvent(stack, at, 'DELETE_COMPLETE', undefined, token);
        stack.deletedAt = at;
        stack.resources.clear();
        return true;
      },
    });
  }

  /** Every export of the account: name, value, exporting stack. */
  exports(): { ExportingStackId: string; Name: string; Value: string }[] {
    return this.deployed().flatMap((s) =>
      s.outputs
        .filter((o) => o.exportName !== undefined)
        .map((o) => ({ ExportingStackId: s.id, Name: o.exportName!, Value: o.value })),
    );
  }
}

/** Adds and modifications in the order CloudFormation's dependency graph would take for these types; removals last. */
function orderForApply(changes: ResourceChange[]): ResourceChange[] {
  const rank = (c: ResourceChange) => {
    if (c.Action === 'Remove') return 100;
    const order = [
      'AWS::IAM::',
      'AWS::EC2::',
      'AWS::Logs::',
      'AWS::ECR::',
      'AWS::ECS::Cluster',
      'AWS::ElasticLoadBalancingV2::TargetGroup',
      'AWS::ElasticLoadBalancingV2::LoadBalancer',
      'AWS::ElasticLoadBalancingV2::Listener',
      'AWS::ElasticLoadBalancingV2::ListenerRule',
      'AWS::ECS::TaskDefinition',
      'AWS::ECS::Service',
    ];
    const i = order.findIndex(
      (prefix) => c.ResourceType === prefix || (c.ResourceType.startsWith(prefix) && prefix.endsWith('::')),
    );
    return i < 0 ? 50 : i;
  };
  return [...changes].sort((a, b) => rank(a) - rank(b));
}

function serviceOf(type: string): string {
  if (type.startsWith('AWS::ElasticLoadBalancingV2::')) return 'ElasticLoadBalancingV2';
  if (type.startsWith('AWS::ECS::')) return 'Ecs';
  if (type.startsWith('AWS::IAM::')) return 'Iam';
  return type.split('::')[1] ?? 'CloudFormation';
}
