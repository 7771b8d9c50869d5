/**
 * Renders stack reports as one Markdown document: the PR comment (with its
 * hidden marker, always within GitHub's comment limit) or the job summary.
 */
import { escapeHtml } from '../html.js';
import type { DestructiveChange, StackReport } from './diff.js';

/** GitHub rejects issue comments longer than this many characters. */
export const COMMENT_LIMIT = 65_536;
/** GitHub's job summary limit is 1 MiB per step; stay under it in characters too. */
export const SUMMARY_LIMIT = 1_000_000;

export interface RenderOptions {
  /** The stage: one comment per stage, found by its marker. */
  stage: string;
  /** Heading of the comment. */
  title: string;
  /** What the PR is compared with, e.g. "the base branch" or "the deployed stacks". */
  comparedWith: string;
  /** Link to the workflow run whose job summary holds the full diff. */
  runUrl?: string;
  /** Short commit SHA the diff was computed for. */
  commit?: string;
  /** Maximum length of the document. */
  limit: number;
  /** Adds the hidden marker (the PR comment); the job summary has none. */
  marker: boolean;
  /** Stacks the base has and the app no longer does. */
  dropped?: readonly string[];
  /** A notice shown right under the heading. */
  notice?: string;
}

export interface Rendered {
  body: string;
  /** Display names of the stacks whose diff was cut to fit. */
  cutStacks: string[];
}

/** The hidden marker that finds this stage's comment among the PR's comments. */
export function commentMarker(stage: string): string {
  return `<!-- cdk-diff:${stage.replace(/--/g, '-')} -->`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>') || ' ';
}

function table(rows: string[][]): string {
  const [header, ...body] = rows;
  if (!header) return '';
  const lines = [`| ${header.map(cell).join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`];
  for (const row of body) lines.push(`| ${row.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

function code(text: string): string {
  return '`' + text.replace(/`/g, "'") + '`';
}

/** A fence longer than any run of backticks in the text. */
function fence(text: string): string {
  const longest = Math.max(2, ...Array.from(text.matchAll(/`+/g), (m) => m[0].length));
  return '`'.repeat(longest + 1);
}

/** `cdk diff` marks lines with [+], [-], [~]; a diff fence colours lines by their first character. */
function asDiffLines(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      const tag = /\[([+\-~])\]/.exec(line)?.[1];
      return `${tag === '+' ? '+' : tag === '-' ? '-' : ' '} ${line}`;
    })
    .join('\n');
}

function describeDestructive(stack: StackReport, change: DestructiveChange): string {
  const where = change.path ? `${code(change.path)} (${code(change.logicalId)})` : code(change.logicalId);
  const allowed = change.allowed ? ' (allowed by `allowed-destroy-types`)' : '';
  return `- **${change.kind}** of ${code(change.resourceType)} ${where} in **${stack.displayName}**${allowed}`;
}

function pluralize(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** The document: heading, overview, what to review closely (IAM, security groups), the diffs, a footer. */
function render(
  reports: readonly StackReport[],
  options: RenderOptions,
  diffCap: number | undefined,
): Rendered {
  const changed = reports.filter((r) => r.hasChanges);
  const unchanged = reports.filter((r) => !r.hasChanges);
  const parts: string[] = [];
  if (options.marker) parts.push(commentMarker(options.stage));
  parts.push(`## ${options.title}`);
  if (options.notice) parts.push(`> [!NOTE]\n> ${options.notice}`);
  parts.push(...overview(reports, changed, options));
  if (changed.length > 0 && unchanged.length > 0) {
    parts.push(`No changes: ${unchanged.map((r) => r.displayName).join(', ')}.`);
  }
  if (options.dropped && options.dropped.length > 0) {
    parts.push(
      `No longer in the app (\`cdk deploy\` does not delete them; \`cdk destroy\` does): ${options.dropped.join(', ')}.`,
    );
  }
  parts.push(...securitySections(changed));
  const diffs = fullDiff(changed, options, diffCap);
  parts.push(...diffs.parts);
  const footer = [
    options.commit ? `commit ${code(options.commit)}` : undefined,
    options.runUrl ? `[workflow run](${options.runUrl})` : undefined,
  ].filter(Boolean);
  if (footer.length > 0) parts.push(`<sub>${footer.join(' · ')}</sub>`);
  return { body: parts.join('\n\n') + '\n', cutStacks: diffs.cutStacks };
}

/** No stacks, no changes, or the destructive changes and a table of the changed stacks. */
function overview(
  reports: readonly StackReport[],
  changed: readonly StackReport[],
  options: RenderOptions,
): string[] {
  if (reports.length === 0) return ['The cloud assembly has no stacks.'];
  if (changed.length === 0) {
    return [
      `**No infrastructure changes**: all ${pluralize(reports.length, 'stack')} match ${options.comparedWith}.`,
    ];
  }
  const parts: string[] = [];
  const callout = destructiveCallout(changed);
  if (callout) parts.push(callout);
  parts.push(
    `Compared with ${options.comparedWith}:\n\n` +
      table([
        ['Stack', 'Added', 'Updated', 'Removed', 'Replaced'],
        ...changed.map((r) => [
          `${r.displayName}${r.displayName !== r.stackName ? ` (${r.stackName})` : ''}${r.isNew ? ' (new stack)' : ''}`,
          String(r.counts.added),
          String(r.counts.updated),
          String(r.counts.removed),
          String(r.counts.replaced),
        ]),
      ]),
  );
  return parts;
}

/** A CAUTION (some not allowed) or WARNING (all allowed) listing every destructive change. */
function destructiveCallout(changed: readonly StackReport[]): string | undefined {
  const destructive = changed.flatMap((stack) => stack.destructive.map((change) => ({ stack, change })));
  if (destructive.length === 0) return undefined;
  const blocked = destructive.filter((d) => !d.change.allowed).length;
  const kind = blocked > 0 ? 'CAUTION' : 'WARNING';
  const headline =
    blocked > 0
      ? `**${pluralize(destructive.length, 'destructive change')}** (${blocked} not allowed): resources will be deleted, replaced or orphaned.`
      : `**${pluralize(destructive.length, 'destructive change')}**, all of allowed types: resources will be deleted, replaced or orphaned.`;
  return [
    `> [!${kind}]`,
    `> ${headline}`,
    '>',
    ...destructive.map((d) => `> ${describeDestructive(d.stack, d.change)}`),
  ].join('\n');
}

/** IAM and security group changes, per stack: what a reviewer reads first. */
function securitySections(changed: readonly StackReport[]): string[] {
  const parts: string[] = [];
  const iam = changed.filter((r) => r.iam.statements.length > 0 || r.iam.managedPolicies.length > 0);
  if (iam.length > 0) {
    parts.push('### IAM changes');
    for (const r of iam) {
      parts.push(`**${r.displayName}**${r.iam.broadened ? ' (permissions broadened)' : ''}`);
      if (r.iam.statements.length > 0) parts.push(table(r.iam.statements));
      if (r.iam.managedPolicies.length > 0) parts.push(table(r.iam.managedPolicies));
    }
  }
  const groups = changed.filter((r) => r.securityGroups.length > 0);
  if (groups.length > 0) {
    parts.push('### Security group changes');
    for (const r of groups) parts.push(`**${r.displayName}**`, table(r.securityGroups));
  }
  return parts;
}

/** Each changed stack's diff in a collapsed block, cut to diffCap characters when one is given. */
function fullDiff(
  changed: readonly StackReport[],
  options: RenderOptions,
  diffCap: number | undefined,
): { parts: string[]; cutStacks: string[] } {
  const parts: string[] = [];
  const cutStacks: string[] = [];
  if (changed.length > 0) parts.push('### Full diff');
  for (const r of changed) {
    let text = r.text;
    let note = '';
    if (diffCap !== undefined && text.length > diffCap) {
      const kept = text.slice(0, diffCap);
      text = kept.slice(0, Math.max(0, kept.lastIndexOf('\n')));
      cutStacks.push(r.displayName);
      const where = options.runUrl ? `the [job summary](${options.runUrl})` : 'the job summary';
      note = `\n\n:scissors: Cut to ${text.length.toLocaleString('en-US')} of ${r.text.length.toLocaleString('en-US')} characters to fit GitHub's comment limit; the full diff is in ${where}.`;
    }
    const body = asDiffLines(text);
    const f = fence(body);
    parts.push(
      `<details><summary>${escapeHtml(r.displayName)}: ${summaryLine(r)}</summary>\n\n${f}diff\n${body}\n${f}${note}\n\n</details>`,
    );
  }
  return { parts, cutStacks };
}

function summaryLine(r: StackReport): string {
  const c = r.counts;
  const items = [
    c.added && `${c.added} added`,
    c.updated && `${c.updated} updated`,
    c.removed && `${c.removed} removed`,
    c.replaced && `${c.replaced} replaced`,
  ].filter(Boolean);
  return items.length > 0 ? items.join(', ') : 'changes outside resources';
}

/**
 * The document, within `options.limit`: when it would be longer, the largest
 * stack diffs are cut first, each to the same cap, the largest cap that fits.
 */
export function renderDiff(reports: readonly StackReport[], options: RenderOptions): Rendered {
  const whole = render(reports, options, undefined);
  if (whole.body.length <= options.limit) return whole;
  let low = 0;
  let high = Math.max(0, ...reports.map((r) => r.text.length));
  let best: Rendered | undefined;
  while (low <= high) {
    const cap = Math.floor((low + high) / 2);
    const attempt = render(reports, options, cap);
    if (attempt.body.length <= options.limit) {
      best = attempt;
      low = cap + 1;
    } else {
      high = cap - 1;
    }
  }
  if (best) return best;
  // Even with every diff cut, the tables do not fit: cut the document itself.
  const empty = render(reports, options, 0);
  const note =
    "\n\n:scissors: This comment was cut to fit GitHub's comment limit; the full diff is in the job summary.\n";
  return { body: empty.body.slice(0, options.limit - note.length) + note, cutStacks: empty.cutStacks };
}
