/** Job summaries (Markdown with HTML tables, as @actions/core writes them) rendered for a terminal. */
import type { JobRecord, WorkflowRecord } from './run.js';

function decodeEntities(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

function stripTags(html: string): string {
  return decodeEntities(html.replace(/<br\s*\/?>/gi, ' ').replace(/<[^>]+>/g, '')).trim();
}

export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const [head, ...body] = rows;
  if (!head) return '';
  return [line(head), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function htmlTable(html: string): string {
  const rows = [...html.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/gi)].map((m) =>
    [...m[1]!.matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/gi)].map((c) => stripTags(c[1]!)),
  );
  return table(rows);
}

function markdownTable(block: string): string {
  const rows = block
    .trim()
    .split('\n')
    .filter((l) => !/^\s*\|?\s*:?-{2,}/.test(l))
    .map((l) =>
      l
        .trim()
        .replace(/^\||\|$/g, '')
        .split('|')
        .map((c) => stripTags(c.trim().replace(/`/g, ''))),
    );
  return table(rows);
}

export function renderSummary(markdown: string): string {
  let text = markdown.replace(/<table[\s\S]*?<\/table>/gi, (t) => `\n${htmlTable(t)}\n`);
  text = text.replace(/(^\|.*\|\s*$\n?)+/gm, (t) => `${markdownTable(t)}\n`);
  text = text.replace(/<summary>([\s\S]*?)<\/summary>/gi, (_, s: string) => `${stripTags(s)}:\n`);
  text = text.replace(/<h(\d)>([\s\S]*?)<\/h\d>/gi, (_, _n, s: string) => `\n${stripTags(s)}\n`);
  text = text.replace(/<\/?(details|p|div|pre|code|ul|ol|li)[^>]*>/gi, '\n').replace(/<br\s*\/?>/gi, '\n');
  text = text.replace(/<\/?(strong|b|em|i|a)[^>]*>/gi, '');
  text = decodeEntities(text).replace(/^#+\s*/gm, '');
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function flatten(run: WorkflowRecord): JobRecord[] {
  return run.jobs.flatMap((j) => (j.called ? flatten(j.called) : [j]));
}

/**
 * Per job that configured AWS credentials: its environment, the OIDC subject
 * it presented, the role it asked for and the session AWS gave it ('' when
 * no job did).
 */
export function credentialsTable(run: WorkflowRecord): string {
  const rows = flatten(run).flatMap((job) =>
    (job.credentials ?? []).map((c) => [
      job.name,
      job.environment ?? '—',
      c.subject ?? (c.via === 'access-keys' ? '(access keys)' : '—'),
      c.role || '—',
      c.refused
        ? `refused: ${c.refused}`
        : c.via === 'runner-static'
          ? 'not assumed: the runner’s static keys'
          : (c.callerArn ?? c.sessionName),
    ]),
  );
  if (!rows.length) return '';
  return table([['job', 'environment', 'OIDC subject', 'role', 'session'], ...rows]);
}

/** One screen: each job's result, the roles the jobs assumed, then each step summary as readable text. */
export function renderRun(run: WorkflowRecord): string {
  const jobs = flatten(run);
  const out = [
    `${run.name}: ${run.conclusion.toUpperCase()} in ${(run.durationMs / 1000).toFixed(1)}s`,
    '',
    table([
      ['job', 'result', 'time', 'note'],
      ...jobs.map((j) => [
        j.name,
        j.result,
        `${(j.durationMs / 1000).toFixed(1)}s`,
        j.note ?? j.environment ?? '',
      ]),
    ]),
  ];
  const roles = credentialsTable(run);
  if (roles) out.push('', 'AWS credentials', roles);
  for (const job of jobs) {
    for (const step of job.steps) {
      if (!step.summary.trim()) continue;
      out.push('', `── ${job.name} › ${step.name}`, renderSummary(step.summary));
    }
  }
  return out.join('\n');
}
