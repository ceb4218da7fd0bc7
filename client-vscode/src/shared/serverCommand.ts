/**
 * Which command starts the server: the `agentls.server.command` setting (a list, or one string
 * split like a shell would on spaces and quotes), else the workspace's `.venv/bin/agentls`, else
 * `agentls` from PATH.
 */

export interface ServerCommand {
  command: string;
  args: string[];
}

/** Split a command line on whitespace, honouring '…' and "…" quotes and backslash escapes. */
export function splitCommandLine(line: string): string[] {
  const out: string[] = [];
  let current = '';
  let has = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] ?? '';
    if (quote !== null) {
      if (ch === quote) {
        quote = null;
      } else if (ch === '\\' && quote === '"' && i + 1 < line.length) {
        current += line[++i] ?? '';
      } else {
        current += ch;
      }
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      current += line[++i] ?? '';
      has = true;
    } else if (/\s/.test(ch)) {
      if (has) {
        out.push(current);
        current = '';
        has = false;
      }
    } else {
      current += ch;
      has = true;
    }
  }
  if (has) {
    out.push(current);
  }
  return out;
}

export function resolveServerCommand(
  setting: unknown,
  workspaceFolders: readonly string[],
  isExecutable: (path: string) => boolean,
  platform: string = process.platform,
): ServerCommand {
  let argv: string[] = [];
  if (Array.isArray(setting)) {
    argv = setting.filter((a): a is string => typeof a === 'string');
  } else if (typeof setting === 'string') {
    argv = splitCommandLine(setting);
  }
  const [command, ...args] = argv;
  if (command !== undefined && command.trim() !== '') {
    return { command, args };
  }
  const sep = platform === 'win32' ? '\\' : '/';
  const rel = platform === 'win32' ? ['.venv', 'Scripts', 'agentls.exe'] : ['.venv', 'bin', 'agentls'];
  for (const folder of workspaceFolders) {
    const candidate = [folder.replace(/[\\/]+$/, ''), ...rel].join(sep);
    if (isExecutable(candidate)) {
      return { command: candidate, args: [] };
    }
  }
  return { command: 'agentls', args: [] };
}
