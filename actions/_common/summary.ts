/**
 * The job summary of every action, rendered in one place. Text is escaped
 * unless it is `Html`, which only these helpers (and a producer that escapes
 * its own output) make: a service name, an error message or a log line can
 * never turn into markup.
 */
import * as core from '@actions/core';
import { escapeHtml } from '../../lib/html.js';

/** Markup that is safe as it is. */
export class Html {
  constructor(readonly html: string) {}
}

/** Plain text (escaped when rendered) or safe markup. */
export type Text = string | Html;

/** Marks markup as safe: for a producer that escapes its own output (and for these helpers). */
export const html = (markup: string): Html => new Html(markup);

export const render = (text: Text): string => (text instanceof Html ? text.html : escapeHtml(text));

export const link = (text: string, href: string): Html =>
  html(`<a href="${escapeHtml(href)}">${escapeHtml(text)}</a>`);
export const code = (text: string): Html => html(`<code>${escapeHtml(text)}</code>`);
export const pre = (text: string): Html => html(`<pre>${escapeHtml(text)}</pre>`);
export const strong = (text: string): Html => html(`<strong>${escapeHtml(text)}</strong>`);
export const list = (items: readonly Text[]): Html =>
  html(`<ul>${items.map((item) => `<li>${render(item)}</li>`).join('')}</ul>`);
/** Parts in one line or cell, each rendered. */
export const concat = (...parts: Text[]): Html => html(parts.map(render).join(''));
/** Lines in one paragraph or cell. */
export const lines = (items: readonly Text[]): Html => html(items.map(render).join('<br>\n'));

let writes = 0;

/** How many times a summary was written in this process: the host adds its failure section only when main wrote none. */
export function summaryWrites(): number {
  return writes;
}

/**
 * A job summary under construction: heading, paragraphs, tables and
 * collapsed details, in order; `write()` appends it to the step's summary.
 */
export class JobSummary {
  heading(text: Text, level: 1 | 2 | 3 | 4 | 5 | 6 = 3): this {
    core.summary.addHeading(render(text), level);
    return this;
  }

  paragraph(...items: Text[]): this {
    core.summary.addRaw(`<p>${render(lines(items))}</p>`, true);
    return this;
  }

  /** A table; no cell may be empty (the summary writer renders one as an unclosed tag): '-' instead. */
  table(columns: readonly string[], rows: readonly (readonly Text[])[]): this {
    core.summary.addTable([
      columns.map((data) => ({ data: escapeHtml(data), header: true })),
      ...rows.map((row) => row.map((cell) => render(cell) || '-')),
    ]);
    return this;
  }

  /** A collapsed section: its label always visible, its body on a click. */
  details(label: Text, body: Text): this {
    core.summary.addDetails(render(label), render(body));
    return this;
  }

  /** GitHub-flavoured Markdown made by a renderer that escapes its own content (cdk-diff's diff). */
  markdown(text: string): this {
    core.summary.addRaw(text, true);
    return this;
  }

  async write(): Promise<void> {
    writes += 1;
    await core.summary.write();
  }
}

export const jobSummary = (): JobSummary => new JobSummary();
