import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { escapeHtml, renderCodeBlock, renderInline, renderMarkdown, safeLanguage } from '../src/shared/markdown';

describe('renderMarkdown', () => {
  it('escapes raw HTML instead of rendering it', () => {
    const html = renderMarkdown('hi <script>alert(1)</script> <img src=x onerror=alert(1)>');
    assert.ok(!html.includes('<script'), html);
    assert.ok(!html.includes('<img'), html);
    assert.ok(html.includes('&lt;script&gt;'), html);
  });

  it('drops javascript: and data: links but keeps http links for the click handler', () => {
    const bad = renderMarkdown('[x](javascript:alert(1)) [y](data:text/html;base64,AAAA) [z](vbscript:msgbox)');
    assert.ok(!/href="(javascript|data|vbscript):/i.test(bad), bad);
    assert.ok(!/data-href="(javascript|data|vbscript):/i.test(bad), bad);
    const good = renderMarkdown('[docs](https://example.com/a?b=1&c=2)');
    assert.ok(good.includes('data-href="https://example.com/a?b=1&amp;c=2"'), good);
    assert.ok(good.includes('href="#"'), good);
  });

  it('turns images into links, so nothing is loaded', () => {
    const html = renderMarkdown('![logo](https://example.com/logo.png)');
    assert.ok(!html.includes('<img'), html);
    assert.ok(html.includes('data-href="https://example.com/logo.png"'), html);
  });

  it('renders fenced code with a language label and escapes its content', () => {
    const html = renderMarkdown('```python\nif a < b:\n    print("</code>")\n```');
    assert.ok(html.includes('class="language-python"'), html);
    assert.ok(html.includes('if a &lt; b:'), html);
    assert.ok(html.includes('&lt;/code&gt;'), html);
    assert.ok(html.includes('<span class="code-lang">python</span>'), html);
  });

  it('keeps a hostile fence language harmless', () => {
    const html = renderMarkdown('```"><script>x</script>\ncode\n```');
    assert.ok(!html.includes('<script'), html);
    assert.equal(safeLanguage('"><img src=x>'), 'img');
    assert.equal(safeLanguage('c++ {title=x}'), 'c++');
  });

  it('colours diff blocks line by line', () => {
    const html = renderCodeBlock('@@ -1 +1 @@\n-old <b>\n+new\n same\n', 'diff');
    assert.ok(html.includes('<span class="dl-hunk">@@ -1 +1 @@</span><span class="dl-del">'), html);
    assert.ok(html.includes('<span class="dl-del">-old &lt;b&gt;</span>'), html);
    assert.ok(html.includes('<span class="dl-add">+new</span>'), html);
    assert.ok(html.includes('<span class="dl-ctx"> same</span>'), html);
  });

  it('renders an unclosed fence while it streams in', () => {
    const html = renderMarkdown('Here:\n```js\nconst a = 1;');
    assert.ok(html.includes('const a = 1;'), html);
    assert.ok(html.includes('class="language-js"'), html);
  });

  it('renders inline markdown without a paragraph', () => {
    assert.equal(renderInline('run `pytest` **now**'), 'run <code>pytest</code> <strong>now</strong>');
  });

  it('escapes every HTML-significant character', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
