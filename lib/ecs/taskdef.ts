/**
 * Task-definition cloning: read a revision, swap images by container name,
 * and register a new revision only when something changed.
 */
import {
  DescribeTaskDefinitionCommand,
  RegisterTaskDefinitionCommand,
  type ECSClient,
  type RegisterTaskDefinitionRequest,
  type Tag,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { sameImage } from '../contracts/images.js';

/**
 * Every field RegisterTaskDefinition accepts. `tags` comes from the
 * DescribeTaskDefinition reply (include TAGS), the others from the task
 * definition itself. The check below fails to compile when the SDK adds a
 * request field this list lacks, so a clone never silently drops one.
 */
export const REGISTERABLE_FIELDS = [
  'family',
  'taskRoleArn',
  'executionRoleArn',
  'networkMode',
  'containerDefinitions',
  'volumes',
  'placementConstraints',
  'requiresCompatibilities',
  'cpu',
  'memory',
  'tags',
  'pidMode',
  'ipcMode',
  'proxyConfiguration',
  'inferenceAccelerators',
  'ephemeralStorage',
  'runtimePlatform',
  'enableFaultInjection',
] as const satisfies readonly (keyof RegisterTaskDefinitionRequest)[];

type MissingRegisterableField = Exclude<
  keyof RegisterTaskDefinitionRequest,
  (typeof REGISTERABLE_FIELDS)[number]
>;
// Compile-time exhaustiveness: `true` only when no request field is missing above.
const registerableFieldsComplete: [MissingRegisterableField] extends [never]
  ? true
  : MissingRegisterableField = true;
void registerableFieldsComplete;

/** Fields DescribeTaskDefinition returns that RegisterTaskDefinition rejects. */
export const READ_ONLY_FIELDS = [
  'taskDefinitionArn',
  'revision',
  'status',
  'requiresAttributes',
  'compatibilities',
  'registeredAt',
  'registeredBy',
  'deregisteredAt',
] as const satisfies readonly (keyof TaskDefinition)[];

export interface DescribedTaskDefinition {
  taskDefinition: TaskDefinition & { taskDefinitionArn: string };
  tags: Tag[];
}

/** DescribeTaskDefinition with its tags. `ref` is an ARN, "family:revision" or "family". */
export async function describeTaskDefinition(ecs: ECSClient, ref: string): Promise<DescribedTaskDefinition> {
  const reply = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: ref, include: ['TAGS'] }));
  const td = reply.taskDefinition;
  if (!td?.taskDefinitionArn)
    throw new Error(`DescribeTaskDefinition returned no task definition for ${ref}`);
  return { taskDefinition: td as DescribedTaskDefinition['taskDefinition'], tags: reply.tags ?? [] };
}

/**
 * The RegisterTaskDefinition request that recreates `described` exactly:
 * every registerable field kept, the read-only ones dropped, tags carried.
 * Empty tag lists are left out (the API rejects an empty `tags`).
 */
export function registerableInput(described: DescribedTaskDefinition): RegisterTaskDefinitionRequest {
  const source: Record<string, unknown> = { ...described.taskDefinition, tags: described.tags };
  const input: Record<string, unknown> = {};
  for (const field of REGISTERABLE_FIELDS) {
    const value = source[field];
    if (value === undefined || value === null) continue;
    if (Array.isArray(value) && value.length === 0 && field === 'tags') continue;
    input[field] = structuredClone(value);
  }
  return input as unknown as RegisterTaskDefinitionRequest;
}

export interface ImageChange {
  container: string;
  from: string | undefined;
  to: string;
}

/** Container names of a task definition (or a request). */
export function containerNames(td: Pick<TaskDefinition, 'containerDefinitions'>): string[] {
  return (td.containerDefinitions ?? []).map((c) => c.name ?? '').filter(Boolean);
}

/**
 * Replaces the image of every container named in `images` (container name →
 * image URI). Containers not named keep theirs, and so does a container whose
 * image is the same one (sameImage: the same digest of the same repository,
 * however tagged). Returns the new request and what changed; no change means
 * registering would only duplicate the revision.
 */
export function withImages(
  input: RegisterTaskDefinitionRequest,
  images: Record<string, string>,
): { input: RegisterTaskDefinitionRequest; changes: ImageChange[] } {
  const changes: ImageChange[] = [];
  const containerDefinitions = (input.containerDefinitions ?? []).map((container) => {
    const image = container.name !== undefined ? images[container.name] : undefined;
    if (image === undefined || sameImage(image, container.image)) return container;
    changes.push({ container: container.name!, from: container.image, to: image });
    return { ...container, image };
  });
  return { input: { ...input, containerDefinitions }, changes };
}

export interface TaskDefinitionClone {
  /** The revision read. */
  source: DescribedTaskDefinition;
  /** The request that would register the new revision. */
  input: RegisterTaskDefinitionRequest;
  /** Empty: the new revision would equal `source`; nothing to register. */
  changes: ImageChange[];
}

/** Reads `ref` and prepares its clone with `images` applied (no call that changes anything). */
export async function planClone(
  ecs: ECSClient,
  ref: string,
  images: Record<string, string>,
): Promise<TaskDefinitionClone> {
  const source = await describeTaskDefinition(ecs, ref);
  const base = registerableInput(source);
  const { input, changes } = withImages(base, images);
  return { source, input, changes };
}

/** Registers the clone; returns the new revision's ARN. */
export async function registerClone(ecs: ECSClient, clone: TaskDefinitionClone): Promise<string> {
  const reply = await ecs.send(new RegisterTaskDefinitionCommand(clone.input));
  const arn = reply.taskDefinition?.taskDefinitionArn;
  if (!arn) throw new Error(`RegisterTaskDefinition returned no ARN for family ${clone.input.family}`);
  return arn;
}

/** "arn:aws:ecs:r:a:task-definition/web:7" or "web:7" → { family: "web", revision: 7 }. */
export function parseTaskDefinitionRef(ref: string): { family: string; revision?: number } {
  const name = ref.includes(':task-definition/') ? ref.slice(ref.indexOf(':task-definition/') + 17) : ref;
  const match = /^(.+?)(?::(\d+))?$/.exec(name);
  return { family: match?.[1] ?? name, ...(match?.[2] ? { revision: Number(match[2]) } : {}) };
}

/** A task-definition family name: letters, digits, hyphens and underscores, up to 255 (RegisterTaskDefinition). */
const FAMILY = '[A-Za-z0-9_-]{1,255}';
const REVISION_REF = new RegExp(
  `^(?:arn:(aws[a-z-]*):ecs:([a-z0-9-]+):(\\d{12}):task-definition/)?(${FAMILY}):([1-9]\\d{0,9})$`,
);

/** One exact revision as a user names it: "family:revision" or a task-definition ARN with its revision. */
export interface RevisionRef {
  family: string;
  revision: number;
  /** "partition:region:account" of an ARN; undefined for "family:revision" (this account and region). */
  scope?: string;
}

/** Parses "family:revision" or "arn:aws:ecs:<region>:<account>:task-definition/family:revision"; undefined for anything else. */
export function parseRevisionRef(ref: string): RevisionRef | undefined {
  const match = REVISION_REF.exec(ref);
  if (!match) return undefined;
  const [, partition, region, account, family, revision] = match;
  return {
    family: family!,
    revision: Number(revision),
    ...(partition ? { scope: `${partition}:${region}:${account}` } : {}),
  };
}

/** "partition:region:account" of a task-definition ARN, undefined for a short form. */
export function taskDefinitionScope(arn: string): string | undefined {
  return parseRevisionRef(arn)?.scope;
}

/** "family:revision" of an ARN, for humans. */
export function shortTaskDefinition(arn: string | undefined): string {
  if (!arn) return '-';
  const { family, revision } = parseTaskDefinitionRef(arn);
  return revision === undefined ? family : `${family}:${revision}`;
}
