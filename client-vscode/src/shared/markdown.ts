/**
 * Markdown to HTML for the chat panel, safe to assign to innerHTML.
 *
 * markdown-it with raw HTML off (every `<` in the source is escaped), its link validator (no
 * `javascript:`, `vbscript:`, `file:` or `data:` links), and our own rules on top:
 * - images become plain links (the panel loads nothing remote, and its CSP would block it anyway);
 * - links carry `data-href` for the panel's click handler, which asks the extension to open them;
 * - code blocks get a header with the language and a copy button; `diff` blocks colour their lines.
 */

import MarkdownIt from 'markdown-it';

const md = new MarkdownIt({ html: false, linkify: false, typographer: false, breaks: false });

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Language names are shown and used as a class: keep them to a harmless alphabet. */
export function safeLanguage(info: string): string {
  const first = info.trim().split(/\s+/)[0] ?? '';
  return first.replace(/[^\w+#.-]/g, '').slice(0, 30);
}

export function renderCodeBlock(code: string, lang: string): string {
  const language = safeLanguage(lang);
  let body: string;
  if (language === 'diff' || language === 'patch') {
    body = code
      .replace(/\n$/, '')
      .split('\n')
      .map((line) => {
        const cls = line.startsWith('@@')
          ? 'dl-hunk'
          : line.startsWith('+++') || line.startsWith('---')
            ? 'dl-file'
            : line.startsWith('+')
              ? 'dl-add'
              : line.startsWith('-')
                ? 'dl-del'
                : 'dl-ctx';
        return `<span class="${cls}">${escapeHtml(line)}</span>`;
      })
      .join(''); // Each line is a block (see webview.css); copying joins them with newlines.
  } else {
    body = escapeHtml(code.replace(/\n$/, ''));
  }
  const label = language === '' ? 'text' : language;
  const cls = language === '' ? '' : ` class="language-${escapeHtml(language)}"`;
  return (
    `<div class="code-block"><div class="code-head"><span class="code-lang">${escapeHtml(label)}</span>` +
    `<button class="code-copy" type="button" title="Copy">Copy</button></div>` +
    `<pre><code${cls}>${body}</code></pre></div>\n`
  );
}

md.renderer.rules.fence = (tokens, idx) => {
  const token = tokens[idx];
  return token ? renderCodeBlock(token.content, token.info) : '';
};

md.renderer.rules.code_block = (tokens, idx) => {
  const token = tokens[idx];
  return token ? renderCodeBlock(token.content, '') : '';
};

md.renderer.rules.image = (tokens, idx) => {
  const token = tokens[idx];
  if (!token) {
    return '';
  }
  const src = token.attrGet('src') ?? '';
  const alt = token.children ? md.renderer.renderInlineAsText(token.children, md.options, {}) : token.content;
  return `<a class="md-link" href="#" data-href="${escapeHtml(src)}">${escapeHtml(alt || src)}</a>`;
};

const defaultLinkOpen =
  md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));

md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  const token = tokens[idx];
  if (token) {
    const href = token.attrGet('href') ?? '';
    token.attrSet('data-href', href);
    token.attrSet('href', '#');
    token.attrJoin('class', 'md-link');
    token.attrSet('title', href);
  }
  return defaultLinkOpen(tokens, idx, options, env, self);
};

export function renderMarkdown(text: string): string {
  return md.render(text);
}

/** Inline markdown (no paragraphs), for one-line labels such as plan entries. */
export function renderInline(text: string): string {
  return md.renderInline(text);
}
