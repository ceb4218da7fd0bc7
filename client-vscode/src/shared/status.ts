/**
 * The status bar item: one line for everything the agent does in this window, from the panel's
 * sessions and from the server's `$/progress` (turns started by code actions report only there).
 */

import type { Activity } from './model';

export interface ProgressState {
  title: string;
  message: string;
}

export interface StatusInput {
  /** Activity of every session the extension knows. */
  sessions: { activity: Activity; detail: string }[];
  /** Every `$/progress` still open, newest last. */
  progress: ProgressState[];
  connection: 'starting' | 'running' | 'stopped';
}

export interface StatusView {
  state: 'idle' | 'thinking' | 'tool' | 'compacting' | 'permission' | 'starting' | 'stopped';
  text: string;
  tooltip: string;
}

const RANK: Record<Activity, number> = { idle: 0, thinking: 1, compacting: 2, tool: 2, permission: 3 };

/**
 * The server's progress messages: "starting", "thinking", "thinking (retry 2)", "compacting the
 * context", "waiting for permission: X", or a tool title.
 */
export function activityOfProgress(message: string): { activity: Activity; detail: string } {
  const m = message.trim();
  if (m === '' || m === 'starting' || m.startsWith('thinking')) {
    return { activity: 'thinking', detail: '' };
  }
  if (m.startsWith('compacting')) {
    return { activity: 'compacting', detail: '' };
  }
  const wait = /^waiting for permission:?\s*(.*)$/.exec(m);
  if (wait !== null) {
    return { activity: 'permission', detail: wait[1] ?? '' };
  }
  return { activity: 'tool', detail: m };
}

export function statusView(input: StatusInput): StatusView {
  if (input.connection === 'stopped') {
    return { state: 'stopped', text: '$(debug-disconnect) agentls', tooltip: 'agentls: the server is not running (click to open the chat)' };
  }
  if (input.connection === 'starting') {
    return { state: 'starting', text: '$(loading~spin) agentls', tooltip: 'agentls: starting the server' };
  }
  let best: { activity: Activity; detail: string } = { activity: 'idle', detail: '' };
  for (const candidate of [...input.sessions, ...input.progress.map((p) => activityOfProgress(p.message))]) {
    if (RANK[candidate.activity] > RANK[best.activity]) {
      best = candidate;
    }
  }
  const detail = best.detail.length > 40 ? `${best.detail.slice(0, 39)}…` : best.detail;
  switch (best.activity) {
    case 'permission':
      return {
        state: 'permission',
        text: '$(shield) agentls: waiting for permission',
        tooltip: `agentls is waiting for your permission${best.detail ? `: ${best.detail}` : ''} (click to answer in the chat)`,
      };
    case 'tool':
      return { state: 'tool', text: `$(sync~spin) agentls: ${detail || 'running a tool'}`, tooltip: `agentls is running ${best.detail || 'a tool'}` };
    case 'compacting':
      return { state: 'compacting', text: '$(loading~spin) agentls: compacting', tooltip: 'agentls is compacting the context (click to open the chat)' };
    case 'thinking':
      return { state: 'thinking', text: '$(loading~spin) agentls: thinking', tooltip: 'agentls is thinking (click to open the chat)' };
    default:
      return { state: 'idle', text: '$(comment-discussion) agentls', tooltip: 'agentls: idle (click to open the chat)' };
  }
}
