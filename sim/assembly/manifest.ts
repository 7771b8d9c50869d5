/**
 * Reads a cloud assembly (`cdk.out`): `manifest.json` lists the stacks
 * (artifacts of type `aws:cloudformation:stack`), each with its template file,
 * environment (`aws://ACCOUNT/REGION`) and dependencies. Nested assemblies
 * (CDK stages, `cdk:cloud-assembly` artifacts) are read too. Stacks come back
 * in dependency order, ties in manifest order, so every stack follows the
 * stacks whose exports it imports.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AssemblyStack {
  /** The artifact id in the manifest. */
  readonly artifactId: string;
  /** The CloudFormation stack name (`properties.stackName`, else the artifact id). */
  readonly stackName: string;
  readonly template: CfnTemplate;
  /** From the artifact's environment; undefined when CDK left it unknown (environment-agnostic stacks). */
  readonly account?: string;
  readonly region?: string;
  readonly dependencies: readonly string[];
  /** The assembly directory holding the template (a nested stage's own): asset paths are relative to it. */
  readonly directory: string;
}

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Condition?: string;
  DependsOn?: string | string[];
  Metadata?: Record<string, unknown>;
}

export interface CfnTemplate {
  Parameters?: Record<string, { Type?: string; Default?: unknown }>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  Conditions?: Record<string, unknown>;
  Resources?: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown }; Condition?: string }>;
  [section: string]: unknown;
}

interface ManifestArtifact {
  type: string;
  environment?: string;
  dependencies?: string[];
  properties?: { templateFile?: string; stackName?: string; directoryName?: string };
}

function readManifest(dir: string): Record<string, ManifestArtifact> {
  const file = join(dir, 'manifest.json');
  if (!existsSync(file)) throw new Error(`${dir} is not a cloud assembly: it has no manifest.json`);
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as { artifacts?: Record<string, ManifestArtifact> };
  return manifest.artifacts ?? {};
}

function collect(dir: string, out: AssemblyStack[]): void {
  for (const [artifactId, artifact] of Object.entries(readManifest(dir))) {
    if (artifact.type === 'cdk:cloud-assembly' && artifact.properties?.directoryName) {
      collect(join(dir, artifact.properties.directoryName), out);
      continue;
    }
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    const templateFile = artifact.properties?.templateFile;
    if (!templateFile) throw new Error(`stack ${artifactId} in ${dir} names no templateFile`);
    const [, account, region] = /^aws:\/\/([^/]+)\/(.+)$/.exec(artifact.environment ?? '') ?? [];
    out.push({
      artifactId,
      stackName: artifact.properties?.stackName ?? artifactId,
      template: JSON.parse(readFileSync(join(dir, templateFile), 'utf8')) as CfnTemplate,
      account: account && !account.startsWith('unknown-') ? account : undefined,
      region: region && !region.startsWith('unknown-') ? region : undefined,
      dependencies: artifact.dependencies ?? [],
      directory: dir,
    });
  }
}

/** Every stack of the assembly in `dir`, in dependency order. */
export function readAssembly(dir: string): AssemblyStack[] {
  const stacks: AssemblyStack[] = [];
  collect(dir, stacks);
  const byId = new Map(stacks.map((s) => [s.artifactId, s]));
  const ordered: AssemblyStack[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (stack: AssemblyStack, chain: string[]) => {
    if (state.get(stack.artifactId) === 'done') return;
    if (state.get(stack.artifactId) === 'visiting')
      throw new Error(`stack dependency cycle: ${[...chain, stack.artifactId].join(' -> ')}`);
    state.set(stack.artifactId, 'visiting');
    for (const dep of stack.dependencies) {
      const other = byId.get(dep);
      if (other) visit(other, [...chain, stack.artifactId]);
    }
    state.set(stack.artifactId, 'done');
    ordered.push(stack);
  };
  for (const stack of stacks) visit(stack, []);
  return ordered;
}
