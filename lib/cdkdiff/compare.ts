/**
 * The whole comparison: read the PR's assembly, find what each stack is
 * compared with (the base branch's assembly or the deployed template), diff
 * every stack, and sum up what the action reports and fails on.
 */
import type { Log } from '../log.js';
import { pairWithBase, readAssembly, type AssemblyStack } from './assembly.js';
import type { DeployedOptions } from './deployed.js';
import { diffStack, type DestructiveChange, type StackReport } from './diff.js';

export type Against = { kind: 'base'; assembly: string } | { kind: 'deployed'; region?: string };

export interface CompareOptions {
  against: Against;
  allowedDestroyTypes: readonly string[];
  /** Client factory for `deployed` (tests). */
  cloudFormation?: DeployedOptions['client'];
}

export interface Comparison {
  reports: StackReport[];
  /** Stacks the base assembly has and the PR's does not (cdk deploy leaves them deployed). */
  dropped: string[];
  hasChanges: boolean;
  destructive: { stack: string; change: DestructiveChange }[];
  /** Destructive changes whose type allowed-destroy-types does not allow. */
  blocked: { stack: string; change: DestructiveChange }[];
}

export function describeAgainst(against: Against): string {
  return against.kind === 'base' ? 'the base branch' : 'the deployed stacks';
}

export async function compareAssemblies(
  cloudAssembly: string,
  options: CompareOptions,
  log: Log,
): Promise<Comparison> {
  const head = readAssembly(cloudAssembly);
  log.info(
    `${cloudAssembly}: ${head.length} stack(s): ${head.map((s) => s.displayName).join(', ') || 'none'}`,
  );

  let pairs: {
    stack: AssemblyStack;
    current: Record<string, unknown> | undefined;
    paths: Record<string, string>;
    deployed?: boolean;
  }[];
  let dropped: string[] = [];
  if (options.against.kind === 'base') {
    const pairing = pairWithBase(head, readAssembly(options.against.assembly));
    pairs = pairing.pairs.map(({ stack, base }) => ({
      stack,
      current: base?.template,
      // Removed resources are only named in the base assembly.
      paths: { ...base?.logicalToPath, ...stack.logicalToPath },
    }));
    dropped = pairing.dropped.map((s) => s.displayName);
  } else {
    const { deployedTemplates } = await import('./deployed.js');
    const deployed = await deployedTemplates(head, {
      ...(options.against.region ? { region: options.against.region } : {}),
      ...(options.cloudFormation ? { client: options.cloudFormation } : {}),
    });
    pairs = head.map((stack) => ({
      stack,
      current: deployed.get(stack),
      paths: stack.logicalToPath,
      deployed: true,
    }));
  }

  const reports: StackReport[] = [];
  for (const { stack, current, paths, deployed } of pairs) {
    const report = await diffStack(
      {
        displayName: stack.displayName,
        stackName: stack.stackName,
        current,
        proposed: stack.template,
        logicalToPath: paths,
        ...(deployed ? { currentIsDeployed: true } : {}),
      },
      options.allowedDestroyTypes,
    );
    const c = report.counts;
    log.info(
      report.hasChanges
        ? `${stack.displayName}: ${c.added} added, ${c.updated} updated, ${c.removed} removed, ${c.replaced} replaced${report.isNew ? ' (new stack)' : ''}`
        : `${stack.displayName}: no changes`,
    );
    reports.push(report);
  }
  const destructive = reports.flatMap((r) =>
    r.destructive.map((change) => ({ stack: r.displayName, change })),
  );
  return {
    reports,
    dropped,
    hasChanges: reports.some((r) => r.hasChanges),
    destructive,
    blocked: destructive.filter((d) => !d.change.allowed),
  };
}
