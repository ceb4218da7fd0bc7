/**
 * "Restore to here": what the panel shows before a rewind (from the server's dry run of
 * `agentls/rewind`), the request it then sends, and what it says afterwards.
 *
 * Plain TypeScript (no `vscode`, no DOM), unit-tested in node. The server plans the rewind; this
 * only arranges its answer for people.
 */

import type { Mention } from './prompt';
import { REWIND_FAILED, SESSION_BUSY, SESSION_NOT_FOUND, type RewindFileStep, type RewindParams, type RewindPart, type RewindResult } from './protocol';

export type { RewindPart } from './protocol';

/** A file the rewind will change, with what it does to it in words. */
export interface PreviewFile {
  path: string;
  action: 'restore' | 'delete' | 'create';
  /** "restore", "remove", "bring back". */
  verb: string;
  /** What the verb means, for a tooltip. */
  detail: string;
}

/** A file the rewind will not change without being told (a conflict) or cannot (not restorable). */
export interface PreviewProblem {
  path: string;
  why: string;
}

export interface RewindChoice {
  part: RewindPart;
  label: string;
  /** false: nothing to do for that part (no file to change, for "code only"). */
  enabled: boolean;
  primary: boolean;
}

export interface RewindPreview {
  checkpoint: number;
  /** "Restore to checkpoint 2". */
  title: string;
  /** The prompt the checkpoint was taken at (its first line), or the checkpoint's label. */
  subtitle: string;
  changes: PreviewFile[];
  /** Changed by someone else after the agent: kept unless the user ticks "overwrite". */
  conflicts: PreviewProblem[];
  notRestorable: PreviewProblem[];
  /** "3 files will change · 1 conflict", or "No file to change". */
  summary: string;
  choices: RewindChoice[];
}

const VERBS: Record<PreviewFile['action'], { verb: string; detail: string }> = {
  restore: { verb: 'restore', detail: 'put back as it was at this message' },
  delete: { verb: 'remove', detail: 'the agent created it after this message: removed' },
  create: { verb: 'bring back', detail: 'the agent removed it after this message: brought back' },
};

export const CHOICE_LABELS: Record<RewindPart, string> = {
  both: 'Restore code and conversation',
  code: 'Restore code only',
  conversation: 'Restore conversation only',
};

/** The preview of a rewind, from the server's dry run (`agentls/rewind` with `dryRun: true`). */
export function rewindPreview(result: RewindResult): RewindPreview {
  const files = Array.isArray(result.files) ? result.files.filter(isStep) : [];
  const changes: PreviewFile[] = [];
  const conflicts: PreviewProblem[] = [];
  const notRestorable: PreviewProblem[] = [];
  for (const f of files) {
    if (f.action === 'restore' || f.action === 'delete' || f.action === 'create') {
      changes.push({ path: f.path, action: f.action, ...VERBS[f.action] });
    } else if (f.action === 'conflict') {
      conflicts.push({ path: f.path, why: why(f, 'changed by someone else after the agent') });
    } else if (f.action === 'not_restorable') {
      notRestorable.push({ path: f.path, why: why(f, 'its earlier content was not kept') });
    }
  }
  // Older or partial answers may list conflicts only by path.
  for (const [paths, list, reason] of [
    [result.conflicts, conflicts, 'changed by someone else after the agent'],
    [result.notRestorable, notRestorable, 'its earlier content was not kept'],
  ] as const) {
    for (const path of Array.isArray(paths) ? paths : []) {
      if (typeof path === 'string' && !list.some((p) => p.path === path)) {
        list.push({ path, why: reason });
      }
    }
  }
  const prompt = typeof result.prompt === 'string' ? firstLine(result.prompt) : '';
  const label = typeof result.label === 'string' ? result.label : '';
  const code = changes.length > 0 || conflicts.length > 0;
  return {
    checkpoint: result.to,
    title: `Restore to checkpoint ${result.to}`,
    subtitle: prompt !== '' ? `Before “${prompt}”` : label,
    changes,
    conflicts,
    notRestorable,
    summary: previewSummary(changes.length, conflicts.length, notRestorable.length),
    choices: [
      { part: 'both', label: CHOICE_LABELS.both, enabled: true, primary: true },
      { part: 'code', label: CHOICE_LABELS.code, enabled: code, primary: false },
      { part: 'conversation', label: CHOICE_LABELS.conversation, enabled: true, primary: false },
    ],
  };
}

function previewSummary(changes: number, conflicts: number, notRestorable: number): string {
  const parts: string[] = [];
  if (changes > 0) {
    parts.push(`${changes} ${changes === 1 ? 'file' : 'files'} will change`);
  }
  if (conflicts > 0) {
    parts.push(`${conflicts} ${conflicts === 1 ? 'conflict' : 'conflicts'}`);
  }
  if (notRestorable > 0) {
    parts.push(`${notRestorable} not restorable`);
  }
  return parts.length > 0 ? parts.join(' · ') : 'No file the agent changed since this message differs.';
}

/**
 * The `agentls/rewind` request for the user's choice: the conflicts they ticked go in
 * `overwrite` (only those the preview listed, and none for a conversation-only rewind).
 */
export function rewindParams(sessionId: string, preview: RewindPreview, part: RewindPart, ticked: readonly string[]): RewindParams {
  const known = new Set(preview.conflicts.map((c) => c.path));
  const overwrite = part === 'conversation' ? [] : [...new Set(ticked)].filter((p) => known.has(p));
  return { sessionId, to: preview.checkpoint, part, dryRun: false, overwrite };
}

/** What the panel says after a rewind: the server's line as a sentence. */
export function rewindNotice(result: RewindResult): { level: 'info' | 'warning'; text: string } {
  const kept = Array.isArray(result.kept) ? result.kept.length : 0;
  let text = typeof result.message === 'string' && result.message.trim() !== '' ? result.message.trim() : `rewound to checkpoint ${result.to}`;
  text = `${text.charAt(0).toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? '' : '.'}`;
  return { level: kept > 0 ? 'warning' : 'info', text };
}

/** Why "Restore to here" did not happen, for the preview box. */
export function rewindErrorText(code: number | undefined, message: string): string {
  const detail = message.replace(/^(Rewind failed|Session busy):\s*/i, '');
  switch (code) {
    case SESSION_BUSY:
      return 'A turn is running: restore when it has ended.';
    case SESSION_NOT_FOUND:
      return `The server does not know this session any more (${detail}).`;
    case REWIND_FAILED:
      return `Nothing was restored: ${detail}`;
    default:
      return `The rewind failed: ${detail}`;
  }
}

/**
 * The rewound prompt, back in the composer to edit and send again: its text, with the files and
 * selections it mentioned as chips again (the inverse of `promptText`). `label` names a file's
 * chip (its path in the workspace).
 */
export function promptDraft(text: string, label: (uri: string) => string): { text: string; mentions: Mention[] } {
  const lines = text.split('\n');
  const kept: string[] = [];
  const mentions: Mention[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const selection = /^@(file:\/\/\S+)#L(\d+)(?:-L(\d+))?:$/.exec(line);
    if (selection !== null && lines[i + 1] === '```') {
      const end = lines.indexOf('```', i + 2);
      if (end > i + 1) {
        const uri = selection[1] ?? '';
        const startLine = Number(selection[2]);
        mentions.push({
          kind: 'selection',
          uri,
          label: label(uri),
          text: lines.slice(i + 2, end).join('\n'),
          startLine,
          endLine: selection[3] === undefined ? startLine : Number(selection[3]),
          languageId: '',
        });
        i = end;
        continue;
      }
    }
    const file = /^@(file:\/\/\S+)$/.exec(line);
    if (file !== null && !(file[1] ?? '').includes('#')) {
      const uri = file[1] ?? '';
      mentions.push({ kind: 'file', uri, label: label(uri) });
      continue;
    }
    kept.push(line);
  }
  return { text: kept.join('\n').replace(/\n+$/, ''), mentions };
}

function isStep(f: unknown): f is RewindFileStep {
  return typeof f === 'object' && f !== null && typeof (f as RewindFileStep).path === 'string' && typeof (f as RewindFileStep).action === 'string';
}

function why(f: RewindFileStep, fallback: string): string {
  return typeof f.why === 'string' && f.why.trim() !== '' ? f.why.trim() : fallback;
}

function firstLine(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}
