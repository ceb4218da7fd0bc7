/** Messages between the extension host and the chat webview (both directions). */

import type { Entry, SessionView, UsageView } from './model';
import type { Mention } from './prompt';
import type { AvailableCommand, PlanEntry, SessionSummary } from './protocol';
import type { RewindPart, RewindPreview } from './rewind';

export type Connection = 'starting' | 'running' | 'stopped';

export interface HeaderState {
  sessionId: string | null;
  title: string;
  busy: boolean;
  /** A compaction runs (ours, or one the server started during a turn). */
  compacting: boolean;
  activity: SessionView['activity'];
  activityDetail: string;
  usage: UsageView | null;
  plan: PlanEntry[];
  planRev: number;
  commands: AvailableCommand[];
  connection: Connection;
  /** Why the server is not running, or another problem to show above the composer. */
  banner: string;
  workspaceRoot: string;
}

/** Extension -> webview. */
export type ToWebview =
  | {
      type: 'view';
      /** true: drop everything shown and start from `entries` (new panel, other session, reload). */
      full: boolean;
      header: HeaderState;
      /** Every entry id, in order. */
      order: string[];
      /** Entries that changed since the last message (all of them when `full`). */
      entries: Entry[];
    }
  | { type: 'sessions'; sessions: (SessionSummary & { current: boolean; label: string })[] }
  | { type: 'mentionResults'; query: string; items: Mention[] }
  | { type: 'attach'; mention: Mention }
  | { type: 'focusComposer' }
  /**
   * A prompt back into the composer: one that could not be sent (e.g. no session could be
   * created; kept only if the composer is empty), or, with `replace`, the prompt a conversation
   * rewind took back.
   */
  | { type: 'draft'; text: string; mentions: Mention[]; replace?: boolean }
  /**
   * "Restore to here" on the user message `entryId`: the server's dry run as a preview (null while
   * it loads, or if it failed), and why the last step failed, if it did.
   */
  | { type: 'rewindPreview'; entryId: string; checkpoint: number; preview: RewindPreview | null; error: string }
  /** The rewind is done (or the preview went away): close the preview. */
  | { type: 'rewindClosed'; entryId: string }
  | { type: 'error'; message: string };

/** Webview -> extension. */
export type FromWebview =
  | { type: 'ready' }
  | { type: 'send'; text: string; mentions: Mention[] }
  | { type: 'stop' }
  /** Compact the shown session's context; `askInstructions`: ask what the summary should keep first. */
  | { type: 'compact'; askInstructions: boolean }
  | { type: 'permission'; requestId: string; optionId: string }
  /** "Restore to here" on a user message: ask the server what a rewind to its checkpoint would do. */
  | { type: 'rewindPreview'; entryId: string; checkpoint: number }
  /** Rewind to the checkpoint, the conflicting files the user ticked overwritten. */
  | { type: 'rewind'; entryId: string; checkpoint: number; part: RewindPart; overwrite: string[] }
  | { type: 'newSession' }
  | { type: 'listSessions' }
  | { type: 'loadSession'; sessionId: string }
  | { type: 'mentionSearch'; query: string }
  | { type: 'attachSelection' }
  | { type: 'openLink'; href: string }
  | { type: 'openFile'; path: string; line?: number }
  | { type: 'copy'; text: string };
