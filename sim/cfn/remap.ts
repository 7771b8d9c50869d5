/**
 * The deployed stacks, mapped again by the assembly loader (sim/assembly):
 * what the account would hold if exactly these templates were deployed. A
 * change set is applied by mapping the stacks as they are and as they would
 * be, and applying the difference to the running engines (apply.ts).
 *
 * The loader reads a cloud assembly directory, so the stacks are written as
 * one (manifest.json and a template per stack, each depending on the one
 * before: the order they were deployed in) to a scratch directory. Beside the
 * Scenario, every stack is resolved once more with the loader's own resolver
 * (sim/assembly/intrinsics.ts) in the loader's order, which gives what the
 * Scenario does not say: each resource's physical id, the loader's revision
 * of each task definition, and the outputs and exports.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAssembly } from '../assembly/load.js';
import { IntrinsicError, StackResolver } from '../assembly/intrinsics.js';
import type { AssemblyStack, CfnTemplate } from '../assembly/manifest.js';
import type { Scenario, UnmodelledResource } from '../scenario.js';

/** One stack as deployed (or as a change set would deploy it). */
export interface StackInput {
  name: string;
  template: CfnTemplate;
  /** Parameter values given (else each parameter's Default). */
  parameters: Record<string, string>;
}

export interface ResolvedResource {
  logicalId: string;
  type: string;
  /** What Ref returns (the loader's physical id; a task definition's ARN with the loader's revision). */
  physicalId: string;
  /** Properties with intrinsics resolved; undefined when they do not resolve (an unmodelled resource). */
  properties?: Record<string, unknown>;
}

export interface ResolvedStack {
  name: string;
  resources: Map<string, ResolvedResource>;
  outputs: { key: string; value: string; description?: string; exportName?: string }[];
  /** Export names this stack imports (Fn::ImportValue with a literal or resolvable name). */
  imports: string[];
}

export interface Remapped {
  scenario: Scenario;
  unmodelled: UnmodelledResource[];
  stacks: Map<string, ResolvedStack>;
  /** Task definition resources across stacks in the loader's order (Scenario.taskDefinitions[i] is the i-th). */
  taskDefinitionOrder: { stack: string; logicalId: string }[];
}

/** Maps `stacks` (in deployment order) as the loader would load them into an account. */
export function remap(stacks: StackInput[], env: { accountId: string; region: string }): Remapped {
  const resolved = resolveStacks(stacks, env);
  if (stacks.length === 0) {
    return {
      scenario: { clusters: [], taskDefinitions: [] },
      unmodelled: [],
      stacks: resolved.stacks,
      taskDefinitionOrder: [],
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'sim-cfn-'));
  try {
    const artifacts: Record<string, unknown> = {};
    stacks.forEach((stack, i) => {
      const file = `${stack.name}.template.json`;
      writeFileSync(join(dir, file), JSON.stringify(stack.template));
      artifacts[stack.name] = {
        type: 'aws:cloudformation:stack',
        environment: `aws://${env.accountId}/${env.region}`,
        properties: { templateFile: file, stackName: stack.name },
        // Deployment order: each stack's imports were exported by a stack before it.
        dependencies: i > 0 ? [stacks[i - 1].name] : [],
      };
    });
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ version: '36.0.0', artifacts }));
    const load = loadAssembly({
      assembly: dir,
      overlay: {
        accountId: env.accountId,
        region: env.region,
        parameters: Object.fromEntries(stacks.map((s) => [s.name, s.parameters])),
      },
    });
    return {
      scenario: load.scenario,
      unmodelled: load.unmodelled,
      stacks: resolved.stacks,
      taskDefinitionOrder: resolved.taskDefinitionOrder,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The loader's resolution, replayed: same order, same task-definition revision counting. */
function resolveStacks(
  stacks: StackInput[],
  env: { accountId: string; region: string },
): Pick<Remapped, 'stacks' | 'taskDefinitionOrder'> {
  const exports = new Map<string, unknown>();
  const revisions = new Map<string, number>();
  const familyCounts = new Map<string, number>();
  const out = new Map<string, ResolvedStack>();
  const taskDefinitionOrder: { stack: string; logicalId: string }[] = [];
  const resolvers: StackResolver[] = [];
  const china = env.region.startsWith('cn-');
  for (const input of stacks) {
    const assemblyStack: AssemblyStack = {
      artifactId: input.name,
      stackName: input.name,
      template: input.template,
      account: env.accountId,
      region: env.region,
      dependencies: [],
      directory: tmpdir(),
    };
    const imports = new Set<string>();
    const resolver = new StackResolver(
      assemblyStack,
      {
        region: env.region,
        account: env.accountId,
        partition: china ? 'aws-cn' : env.region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws',
        urlSuffix: china ? 'amazonaws.com.cn' : 'amazonaws.com',
        availabilityZones: ['a', 'b', 'c'].map((z) => `${env.region}${z}`),
        parameters: input.parameters,
      },
      {
        importValue: (name, from) => {
          imports.add(name);
          if (!exports.has(name))
            throw new IntrinsicError(
              `stack ${from}: Fn::ImportValue "${name}": no stack before it exports that name`,
            );
          return exports.get(name);
        },
        revision: (stackName, logicalId, family) => {
          const key = `${stackName}/${logicalId}`;
          let revision = revisions.get(key);
          if (revision === undefined) {
            revision = (familyCounts.get(family) ?? 0) + 1;
            familyCounts.set(family, revision);
            revisions.set(key, revision);
          }
          return revision;
        },
      },
    );
    const resources = new Map<string, ResolvedResource>();
    for (const logicalId of resolver.logicalIds()) {
      const type = resolver.resource(logicalId).Type;
      let properties: Record<string, unknown> | undefined;
      try {
        properties = resolver.properties(logicalId);
      } catch (err) {
        if (!(err instanceof IntrinsicError)) throw err;
      }
      resources.set(logicalId, { logicalId, type, physicalId: logicalId, properties });
      if (type === 'AWS::ECS::TaskDefinition') taskDefinitionOrder.push({ stack: input.name, logicalId });
    }
    const outputs = resolver.outputs().map((o) => {
      const description = input.template.Outputs?.[o.name] as { Description?: unknown } | undefined;
      return {
        key: o.name,
        // A list output reads as its items joined by commas, as DescribeStacks gives it.
        value: Array.isArray(o.value) ? o.value.map(String).join(',') : String(o.value),
        ...(typeof description?.Description === 'string' ? { description: description.Description } : {}),
        ...(o.exportName !== undefined ? { exportName: o.exportName } : {}),
      };
    });
    for (const o of outputs) if (o.exportName !== undefined) exports.set(o.exportName, o.value);
    out.set(input.name, { name: input.name, resources, outputs, imports: [...imports] });
    resolvers.push(resolver);
  }
  // Physical ids last, in resource order, as the loader asks for them once every stack is resolved
  // (a task definition's revision is counted when its ARN is first asked for).
  for (const resolver of resolvers) {
    for (const resource of out.get(resolver.stackName)!.resources.values()) {
      try {
        resource.physicalId = String(resolver.ref(resource.logicalId));
      } catch {
        resource.physicalId = resource.logicalId;
      }
    }
  }
  return { stacks: out, taskDefinitionOrder };
}
