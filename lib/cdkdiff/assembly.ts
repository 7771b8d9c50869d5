/**
 * Reads a synthesized cloud assembly (`cdk.out`): its manifest.json, the
 * stacks it declares (also inside nested assemblies such as CDK stages), each
 * stack's template, and the logical ID -> construct path map that makes a
 * diff readable. Read by hand: the manifest is plain JSON, and the schema
 * packages are build-time dependencies of aws-cdk-lib, not of the action.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type Template = Record<string, unknown>;

export interface AssemblyStack {
  /** Artifact ID inside its assembly, e.g. "DataStack". */
  readonly artifactId: string;
  /** What people call the stack: the hierarchical display name, e.g. "Staging/DataStack". */
  readonly displayName: string;
  /** The CloudFormation stack name the stack deploys to. */
  readonly stackName: string;
  /** Region from the artifact's environment, when the app fixed one. */
  readonly region?: string;
  /** Account from the artifact's environment, when the app fixed one. */
  readonly account?: string;
  readonly template: Template;
  /** Logical ID -> construct path (without the leading "/"), from the assembly metadata. */
  readonly logicalToPath: Record<string, string>;
}

interface ManifestArtifact {
  type?: string;
  environment?: string;
  displayName?: string;
  properties?: { templateFile?: string; stackName?: string; directoryName?: string };
  metadata?: Record<string, { type: string; data?: unknown }[]>;
  additionalMetadataFile?: string;
}

interface Manifest {
  artifacts?: Record<string, ManifestArtifact>;
}

export class AssemblyError extends Error {
  override readonly name = 'AssemblyError';
}

function readJson<T>(path: string, what: string): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AssemblyError(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new AssemblyError(`${what} ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** "aws://123456789012/us-east-1" -> parts; "unknown-account"/"unknown-region" mean none. */
function parseEnvironment(environment: string | undefined): { account?: string; region?: string } {
  const match = /^aws:\/\/([^/]+)\/([^/]+)$/.exec(environment ?? '');
  if (!match) return {};
  const [, account, region] = match;
  return {
    ...(account && !account.startsWith('unknown-') ? { account } : {}),
    ...(region && !region.startsWith('unknown-') ? { region } : {}),
  };
}

function logicalIds(metadata: ManifestArtifact['metadata'], into: Record<string, string>) {
  for (const [path, entries] of Object.entries(metadata ?? {})) {
    for (const entry of entries) {
      if (entry.type === 'aws:cdk:logicalId' && typeof entry.data === 'string') {
        into[entry.data] = path.replace(/^\//, '');
      }
    }
  }
}

/** Every stack of the assembly in `dir`, nested assemblies included, in manifest order. */
export function readAssembly(dir: string): AssemblyStack[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new AssemblyError(`${dir} is not a directory (expected a cloud assembly such as cdk.out)`);
  }
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    throw new AssemblyError(`${dir} has no manifest.json: it is not a synthesized cloud assembly`);
  }
  const manifest = readJson<Manifest>(manifestPath, 'manifest');
  const stacks: AssemblyStack[] = [];
  for (const [artifactId, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type === 'cdk:cloud-assembly' && artifact.properties?.directoryName) {
      stacks.push(...readAssembly(join(dir, artifact.properties.directoryName)));
      continue;
    }
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    const templateFile = artifact.properties?.templateFile;
    if (!templateFile)
      throw new AssemblyError(`stack ${artifactId} in ${manifestPath} names no templateFile`);
    const logicalToPath: Record<string, string> = {};
    logicalIds(artifact.metadata, logicalToPath);
    if (artifact.additionalMetadataFile) {
      const file = join(dir, artifact.additionalMetadataFile);
      if (existsSync(file)) logicalIds(readJson(file, 'stack metadata'), logicalToPath);
    }
    stacks.push({
      artifactId,
      displayName: artifact.displayName ?? artifactId,
      stackName: artifact.properties?.stackName ?? artifactId,
      ...parseEnvironment(artifact.environment),
      template: readJson<Template>(join(dir, templateFile), 'template'),
      logicalToPath,
    });
  }
  return stacks;
}

/** Matches a stack across two assemblies: the same CloudFormation stack in the same place. */
function stackKey(stack: Pick<AssemblyStack, 'stackName' | 'account' | 'region'>): string {
  return `${stack.account ?? '?'}/${stack.region ?? '?'}/${stack.stackName}`;
}

export interface Pairing {
  /** Each stack of the new assembly with the base branch's version of it (undefined: new stack). */
  pairs: { stack: AssemblyStack; base: AssemblyStack | undefined }[];
  /** Stacks of the base assembly the app no longer has (`cdk deploy` leaves them deployed). */
  dropped: AssemblyStack[];
}

/** Pairs the PR's stacks with the base branch's by CloudFormation stack name and environment. */
export function pairWithBase(head: readonly AssemblyStack[], base: readonly AssemblyStack[]): Pairing {
  const byKey = new Map(base.map((stack) => [stackKey(stack), stack]));
  const pairs = head.map((stack) => {
    const match = byKey.get(stackKey(stack));
    byKey.delete(stackKey(stack));
    return { stack, base: match };
  });
  return { pairs, dropped: [...byKey.values()] };
}
