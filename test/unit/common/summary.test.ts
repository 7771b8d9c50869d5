/** One renderer for every job summary: text is escaped, only the helpers make markup. */
import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import * as core from '../../../actions/__fixtures__/core.js';

jest.unstable_mockModule('@actions/core', () => core);
const { code, concat, html, jobSummary, lines, link, list, pre, render, strong, summaryWrites } =
  await import('../../../actions/_common/summary.js');

beforeEach(() => {
  jest.clearAllMocks();
  core.summary.emptyBuffer();
});

describe('summary helpers', () => {
  it('escape text and keep markup they made', () => {
    expect(render('a <b> & "c"')).toBe('a &lt;b&gt; &amp; &quot;c&quot;');
    expect(render(html('<br>'))).toBe('<br>');
    expect(render(code('x<y'))).toBe('<code>x&lt;y</code>');
    expect(render(pre('<none>'))).toBe('<pre>&lt;none&gt;</pre>');
    expect(render(strong('HIGH'))).toBe('<strong>HIGH</strong>');
    expect(render(link('alva-web', 'https://x/?a=1&b="2"'))).toBe(
      '<a href="https://x/?a=1&amp;b=&quot;2&quot;">alva-web</a>',
    );
    expect(render(list(['<a>', code('b')]))).toBe('<ul><li>&lt;a&gt;</li><li><code>b</code></li></ul>');
    expect(render(concat('Tags: ', code('v1'), '.'))).toBe('Tags: <code>v1</code>.');
    expect(render(lines(['one', 'two']))).toBe('one<br>\ntwo');
  });
});

describe('jobSummary', () => {
  it('writes heading, paragraph, table and details in order, escaped, and counts the write', async () => {
    const before = summaryWrites();
    await jobSummary()
      .heading('Deploy to <alva>: ✅ deployed')
      .paragraph('Duration: 3s', code('alva-web:8'))
      .table(
        ['Service', 'Status'],
        [
          [link('alva-web', 'https://console'), 'deployed'],
          ['alva-api', ''],
        ],
      )
      .details('alva-api: <failed>', pre('line 1\nline <2>'))
      .write();
    expect(core.summary.addHeading).toHaveBeenCalledWith('Deploy to &lt;alva&gt;: ✅ deployed', 3);
    expect(core.summary.addRaw).toHaveBeenCalledWith(
      '<p>Duration: 3s<br>\n<code>alva-web:8</code></p>',
      true,
    );
    expect(core.summary.addTable).toHaveBeenCalledWith([
      [
        { data: 'Service', header: true },
        { data: 'Status', header: true },
      ],
      ['<a href="https://console">alva-web</a>', 'deployed'],
      // An empty cell would be rendered as an unclosed tag.
      ['alva-api', '-'],
    ]);
    expect(core.summary.addDetails).toHaveBeenCalledWith(
      'alva-api: &lt;failed&gt;',
      '<pre>line 1\nline &lt;2&gt;</pre>',
    );
    expect(summaryWrites()).toBe(before + 1);
  });

  it('passes Markdown from a renderer that escapes its own content through as is', async () => {
    await jobSummary().markdown('> [!NOTE]\n> **No infrastructure changes**').write();
    expect(core.summary.addRaw).toHaveBeenCalledWith('> [!NOTE]\n> **No infrastructure changes**', true);
  });
});
