/**
 * Turning the composer's text and mentions into `agentls/prompt` content blocks, and the text the
 * server stores for them (mirrors `PromptParams.text()` in server/agentls/lsp/params.py), so the
 * panel shows a sent prompt exactly as a reload will replay it.
 */

import type { ContentBlock } from './protocol';

export type Mention =
  | { kind: 'file'; uri: string; label: string }
  | { kind: 'selection'; uri: string; label: string; text: string; startLine: number; endLine: number; languageId: string };

export function promptBlocks(text: string, mentions: readonly Mention[]): ContentBlock[] {
  const blocks: ContentBlock[] = [];
  if (text.trim() !== '') {
    blocks.push({ type: 'text', text });
  }
  for (const m of mentions) {
    if (m.kind === 'file') {
      blocks.push({ type: 'resource_link', uri: m.uri, name: m.label });
    } else {
      blocks.push({ type: 'resource', resource: { uri: selectionUri(m), text: m.text } });
    }
  }
  return blocks;
}

/** `file:///a/b.py#L3-L7` (1-based lines, as people read them). */
export function selectionUri(m: Extract<Mention, { kind: 'selection' }>): string {
  const range = m.startLine === m.endLine ? `L${m.startLine}` : `L${m.startLine}-L${m.endLine}`;
  return `${m.uri.split('#')[0] ?? m.uri}#${range}`;
}

export function promptText(blocks: readonly ContentBlock[]): string {
  return blocks
    .map((b) => {
      if (b.type === 'text') {
        return b.text;
      }
      if (b.type === 'resource_link') {
        return `@${b.uri}`;
      }
      return `@${b.resource.uri}:\n\`\`\`\n${b.resource.text ?? ''}\n\`\`\``;
    })
    .join('\n');
}

/** The label a mention chip shows: `app.py:3-7` for a selection. */
export function mentionLabel(m: Mention): string {
  if (m.kind === 'file') {
    return m.label;
  }
  return m.startLine === m.endLine ? `${m.label}:${m.startLine}` : `${m.label}:${m.startLine}-${m.endLine}`;
}

/** The slash command a prompt starts with (`/name rest`), if it names one of `available`. */
export function slashCommand(text: string, available: readonly { name: string }[]): string | null {
  const match = /^\/([\w.:-]+)/.exec(text.trimStart());
  if (match === null) {
    return null;
  }
  const name = match[1] ?? '';
  return available.some((c) => c.name === name) ? name : null;
}
