/**
 * What the chat composer completes: `/` commands (from the server's `agentls/listCommands`) at the
 * start of the prompt, and `@` file mentions anywhere. Pure functions, unit-tested without VS Code;
 * the webview calls them on every keystroke.
 */

import type { AvailableCommand, ListCommandsResult } from './protocol';

/** The server's listing as the panel keeps it (ACP's `AvailableCommand` shape). */
export function availableCommands(result: ListCommandsResult | null | undefined): AvailableCommand[] {
  const list = Array.isArray(result?.commands) ? result.commands : [];
  return list
    .filter((c) => typeof c?.name === 'string' && c.name !== '')
    .map((c) => {
      const label = typeof c.label === 'string' && c.label !== '' && c.label !== 'built-in' ? ` (${c.label})` : '';
      const hint = typeof c.argumentHint === 'string' && c.argumentHint !== '' ? { hint: c.argumentHint } : null;
      return { name: c.name, description: `${typeof c.description === 'string' ? c.description : ''}${label}`, input: hint };
    });
}

/**
 * The command name being typed, if the text before the caret is `/` and a partial name at the very
 * start of the prompt (leading spaces allowed); null otherwise (`//`, a path, after a space).
 */
export function commandQuery(before: string): string | null {
  const match = /^\s*\/([\w.:-]*)$/.exec(before);
  return match === null ? null : (match[1] ?? '');
}

/** Commands whose name starts with `query` (case-insensitive), then those that contain it; each group by name. */
export function matchCommands(query: string, commands: readonly AvailableCommand[]): AvailableCommand[] {
  const q = query.toLowerCase();
  const byName = (a: AvailableCommand, b: AvailableCommand): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const starts = commands.filter((c) => c.name.toLowerCase().startsWith(q)).sort(byName);
  const contains = q === '' ? [] : commands.filter((c) => !c.name.toLowerCase().startsWith(q) && c.name.toLowerCase().includes(q)).sort(byName);
  return [...starts, ...contains];
}

/** The popup's second column: the argument hint, then the description. */
export function commandDetail(c: AvailableCommand): string {
  const hint = c.input?.hint ? `${c.input.hint} — ` : '';
  return `${hint}${c.description ?? ''}`;
}

/** The composer's text after choosing `name`: the typed `/partial` becomes `/name `, the rest stays. */
export function applyCommand(text: string, name: string): { text: string; caret: number } {
  const rest = text.replace(/^\s*\/[\w.:-]*\s?/, '');
  const head = `/${name} `;
  return { text: head + rest, caret: head.length };
}

/** The `@` mention being typed before the caret: where its `@` is and the query after it. */
export function mentionQuery(before: string): { start: number; query: string } | null {
  const match = /(^|\s)@([^\s@]*)$/.exec(before);
  if (match === null) {
    return null;
  }
  const query = match[2] ?? '';
  return { start: before.length - query.length - 1, query };
}
