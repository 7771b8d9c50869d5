/**
 * Diffs each stack's new template against its current one with the CDK's
 * own library, @aws-cdk/cloudformation-diff (what `cdk diff` uses), and
 * reduces the result to a plain report: counts, destructive changes, IAM and
 * security-group rows, and the full diff as text.
 *
 * The library (and the resource specification it loads to know which
 * property changes replace a resource) is heavy, so it is imported only when
 * a diff is computed.
 */
import { stripVTControlCharacters } from 'node:util';
import type { Template } from './assembly.js';
import { installResourceSpec } from './resource-spec.js';

export type DestructiveKind = 'removal' | 'replacement' | 'possible replacement' | 'orphan';

export interface DestructiveChange {
  logicalId: string;
  /** Construct path when the assembly knows it. */
  path?: string;
  resourceType: string;
  kind: DestructiveKind;
  /** The resource type is in allowed-destroy-types. */
  allowed: boolean;
}

export interface StackReport {
  displayName: string;
  stackName: string;
  /** The stack does not exist yet (no base template / not deployed). */
  isNew: boolean;
  hasChanges: boolean;
  counts: { added: number; updated: number; removed: number; replaced: number };
  destructive: DestructiveChange[];
  /** IAM statement and managed-policy rows; the first row of each table is its header. */
  iam: { statements: string[][]; managedPolicies: string[][]; broadened: boolean };
  /** Security-group rule rows, header first. */
  securityGroups: string[][];
  /** The full diff as `cdk diff` prints it, without colours. */
  text: string;
}

export interface StackToDiff {
  displayName: string;
  stackName: string;
  /** The template now (base branch or deployed); undefined when the stack does not exist. */
  current: Template | undefined;
  /** The template the PR would deploy. */
  proposed: Template;
  logicalToPath: Record<string, string>;
  /**
   * `current` came from CloudFormation, which returns every non-ASCII
   * character as "?": compare like `cdk diff` does, ignoring those changes.
   */
  currentIsDeployed?: boolean;
}

type CfnDiff = typeof import('@aws-cdk/cloudformation-diff');

let library: Promise<CfnDiff> | undefined;
function loadLibrary(): Promise<CfnDiff> {
  if (!library) {
    installResourceSpec();
    library = import('@aws-cdk/cloudformation-diff');
  }
  return library;
}

/** Glob match on resource types: "AWS::RDS::DBInstance", "AWS::Logs::*". */
function typeAllowed(resourceType: string, allowed: readonly string[]): boolean {
  return allowed.some((pattern) => {
    if (!pattern.includes('*')) return pattern === resourceType;
    const regex = new RegExp(`^${pattern.split('*').map(escapeRegex).join('.*')}$`);
    return regex.test(resourceType);
  });
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Parts of a CDK template that change with the CDK version, not with the
 * app; `cdk diff` hides them too unless run with --strict.
 */
function withoutCdkNoise(template: Template): Template {
  const copy: Template = { ...template };
  const resources = { ...((copy.Resources as Record<string, { Type?: string }>) ?? {}) };
  for (const [id, resource] of Object.entries(resources)) {
    if (resource?.Type === 'AWS::CDK::Metadata') delete resources[id];
  }
  copy.Resources = resources;
  if (copy.Parameters) {
    const { BootstrapVersion: _bootstrap, ...parameters } = copy.Parameters as Record<string, unknown>;
    copy.Parameters = parameters;
  }
  if (copy.Rules) {
    const { CheckBootstrapVersion: _check, ...rules } = copy.Rules as Record<string, unknown>;
    copy.Rules = rules;
  }
  return copy;
}

const DESTRUCTIVE: Partial<Record<string, DestructiveKind>> = {
  WILL_DESTROY: 'removal',
  WILL_REPLACE: 'replacement',
  MAY_REPLACE: 'possible replacement',
  WILL_ORPHAN: 'orphan',
};

/** Collects whatever the library writes to a stream. */
function textSink(): { stream: NodeJS.WritableStream & { columns: number }; text: () => string } {
  let buffer = '';
  const stream = {
    columns: 120,
    write(chunk: string | Uint8Array) {
      buffer += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      return true;
    },
  } as unknown as NodeJS.WritableStream & { columns: number };
  return {
    stream,
    text: () =>
      stripVTControlCharacters(buffer)
        .replace(/\n{3,}/g, '\n\n')
        .trim(),
  };
}

function cleanRows(rows: string[][]): string[][] {
  return rows.map((row) => row.map((cell) => stripVTControlCharacters(cell)));
}

function pathOf(path: string | undefined): { path?: string } {
  return path ? { path } : {};
}

export async function diffStack(
  stack: StackToDiff,
  allowedDestroyTypes: readonly string[],
): Promise<StackReport> {
  const cfn = await loadLibrary();
  const current = withoutCdkNoise(stack.current ?? {});
  let diff = cfn.fullDiff(current, withoutCdkNoise(stack.proposed));
  let mangledChanges = 0;
  const proposedJson = JSON.stringify(stack.proposed);
  if (stack.currentIsDeployed && stack.current && /[\u{80}-\u{10ffff}]/u.test(proposedJson)) {
    const mangled = cfn.fullDiff(
      current,
      withoutCdkNoise(JSON.parse(cfn.mangleLikeCloudFormation(proposedJson))),
    );
    mangledChanges = diff.differenceCount - mangled.differenceCount;
    if (mangledChanges > 0) diff = mangled;
  }
  // The formatter names resources by construct path as `cdk diff` does ("Database/Postgres"),
  // and resolves "${LogicalId.Attr}" references in the IAM and security-group tables.
  const formatter = new cfn.Formatter(textSink().stream, stack.logicalToPath, diff);
  const counts = { added: 0, updated: 0, removed: 0, replaced: 0 };
  const destructive: DestructiveChange[] = [];
  diff.resources.forEachDifference((logicalId, change) => {
    const impact = change.changeImpact;
    if (impact === cfn.ResourceImpact.WILL_CREATE || impact === cfn.ResourceImpact.WILL_IMPORT)
      counts.added++;
    else if (impact === cfn.ResourceImpact.WILL_UPDATE) counts.updated++;
    else if (impact === cfn.ResourceImpact.WILL_DESTROY || impact === cfn.ResourceImpact.WILL_ORPHAN)
      counts.removed++;
    else if (impact === cfn.ResourceImpact.WILL_REPLACE || impact === cfn.ResourceImpact.MAY_REPLACE)
      counts.replaced++;
    const kind = DESTRUCTIVE[impact];
    if (kind) {
      const resourceType = change.oldResourceType ?? change.newResourceType ?? 'unknown';
      destructive.push({
        logicalId,
        ...pathOf(formatter.normalizedLogicalIdPath(logicalId)),
        resourceType,
        kind,
        allowed: typeAllowed(resourceType, allowedDestroyTypes),
      });
    }
  });

  const full = textSink();
  if (!diff.isEmpty) cfn.formatDifferences(full.stream, diff, stack.logicalToPath);
  if (mangledChanges > 0) {
    full.stream.write(
      `\nOmitted ${mangledChanges} change(s) that are only non-ASCII characters CloudFormation returns as "?".\n`,
    );
  }
  const iam = diff.iamChanges;
  const rows = (table: string[][]) =>
    table.length > 1 ? cleanRows(formatter.deepSubstituteBracedLogicalIds(table)) : [];

  return {
    displayName: stack.displayName,
    stackName: stack.stackName,
    isNew: stack.current === undefined,
    hasChanges: !diff.isEmpty,
    counts,
    destructive,
    iam: {
      statements: iam.hasChanges ? rows(iam.summarizeStatements()) : [],
      managedPolicies: iam.hasChanges ? rows(iam.summarizeManagedPolicies()) : [],
      broadened: iam.permissionsBroadened,
    },
    securityGroups: diff.securityGroupChanges.hasChanges ? rows(diff.securityGroupChanges.summarize()) : [],
    text: full.text(),
  };
}
