import { describe, expect, it } from '@jest/globals';
import { escapeHtml } from '../../../lib/html.js';

describe('escapeHtml', () => {
  it('escapes the characters that open tags and entities', () => {
    expect(escapeHtml('a < b && c > d')).toBe('a &lt; b &amp;&amp; c &gt; d');
  });

  it('escapes both quotes, so the result is safe inside an attribute value', () => {
    expect(escapeHtml(`say "hi" it's`)).toBe('say &quot;hi&quot; it&#39;s');
  });

  it('escapes an ampersand first, so entities are not double-escaped by later steps', () => {
    expect(escapeHtml('&lt;')).toBe('&amp;lt;');
  });
});
