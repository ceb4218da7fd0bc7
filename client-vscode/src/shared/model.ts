/**
 * One session as the chat panel shows it, built only from what the server said: session updates,
 * permission requests, and the answers to our own requests. The panel keeps nothing else, so a
 * reloaded window rebuilds the same view from `agentls/loadSession`'s replay.
 *
 * Plain TypeScript (no `vscode`, no DOM): the extension host runs it, the tests run it in node.
 * Every change bumps `rev` on what it touched, so a renderer can redraw only what changed.
 */

import type {
  ApiRetryUpdate,
  AvailableCommand,
  CheckpointUpdate,
  CommandOutputUpdate,
  CompactionUpdate,
  CompactResult,
  ModelFallbackUpdate,
  Money,
  PermissionOption,
  PlanEntry,
  PromptResult,
  RequestPermissionParams,
  SessionUpdate,
  TokenUsage,
  ToolCallContent,
  ToolCallFields,
  ToolStatus,
  UsageUpdate,
} from './protocol';
import { type CompactionView, formatCost, formatCount, type UsageView } from './usage';

export type { CompactionView, UsageView } from './usage';

export interface DiffView {
  path: string;
  oldText: string | null;
  newText: string;
}

export interface PermissionView {
  requestId: string;
  /** Markdown paragraphs the server sent (the reason, and a ```diff block for edits). */
  content: string[];
  options: PermissionOption[];
  title: string;
}

export interface ToolCallView {
  toolCallId: string;
  title: string;
  /** ACP ToolKind: read, edit, search, execute, think, other. */
  kind: string;
  status: ToolStatus;
  rawInput: unknown;
  locations: string[];
  diffs: DiffView[];
  output: string;
  isError: boolean;
  durationMs: number | null;
  /** A permission request waiting for the user. */
  permission: PermissionView | null;
  /** What the user answered (the option's name), or why the prompt went away. */
  decision: string | null;
  /** A subagent's call: the Agent call it is nested under. */
  parentToolCallId: string | null;
  /** For display (not the result): e.g. an Agent call's subagent requests, tokens and cost. */
  note: string | null;
}

interface EntryBase {
  id: string;
  rev: number;
}

export type Entry =
  /** `checkpoint`: the prompt checkpoint the message can be restored to ("Restore to here"), if any. */
  | (EntryBase & { kind: 'user'; text: string; checkpoint: number | null })
  | (EntryBase & { kind: 'agent'; text: string })
  | (EntryBase & { kind: 'thought'; text: string })
  | (EntryBase & { kind: 'tool'; call: ToolCallView })
  | (EntryBase & { kind: 'compaction'; compaction: CompactionView })
  | (EntryBase & { kind: 'notice'; level: 'info' | 'warning' | 'error'; text: string })
  /** What a slash command said (`/cost`, `/context`, …), as preformatted text. */
  | (EntryBase & { kind: 'command'; command: string; level: 'info' | 'error'; text: string });

export type Activity = 'idle' | 'thinking' | 'tool' | 'compacting' | 'permission';

export interface SessionView {
  sessionId: string;
  entries: Entry[];
  plan: PlanEntry[];
  planRev: number;
  /** The context meter and the cost, from the server's `usage_update`s; null before the first. */
  usage: UsageView | null;
  commands: AvailableCommand[];
  /** A turn is running (our prompt request is in flight, or updates arrived for a turn we did not start). */
  busy: boolean;
  /** Our `agentls/compact` is in flight, or a compaction the server started has not finished. */
  compacting: boolean;
  activity: Activity;
  /** e.g. the running tool's title. */
  activityDetail: string;
  rev: number;
}

const EMPTY_USAGE: Required<TokenUsage> = {
  input_tokens: 0,
  output_tokens: 0,
  cache_read_input_tokens: 0,
  cache_creation_input_tokens: 0,
  cache_creation_1h_input_tokens: 0,
};

export class SessionModel {
  readonly view: SessionView;
  private nextId = 1;
  private readonly tools = new Map<string, Extract<Entry, { kind: 'tool' }>>();
  /** requestId -> toolCallId */
  private readonly permissions = new Map<string, string>();
  /** The notice of a compaction the server started and has not finished yet. */
  private pendingCompaction: Extract<Entry, { kind: 'compaction' }> | null = null;
  /** Our `agentls/compact` request is in flight. */
  private compactRequested = false;
  /** The notice of the API wait going on, updated in place while it is the last entry. */
  private retryNotice: Extract<Entry, { kind: 'notice' }> | null = null;

  constructor(sessionId: string) {
    this.view = {
      sessionId,
      entries: [],
      plan: [],
      planRev: 0,
      usage: null,
      commands: [],
      busy: false,
      compacting: false,
      activity: 'idle',
      activityDetail: '',
      rev: 0,
    };
  }

  /** A title for pickers: the first line of the first user message. */
  get title(): string {
    const first = this.view.entries.find((e) => e.kind === 'user');
    if (first === undefined || first.kind !== 'user') {
      return '';
    }
    const line = first.text.trim().split('\n')[0] ?? '';
    return line.length > 80 ? `${line.slice(0, 79)}…` : line;
  }

  get pendingPermissions(): PermissionView[] {
    const out: PermissionView[] = [];
    for (const toolCallId of this.permissions.values()) {
      const permission = this.tools.get(toolCallId)?.call.permission;
      if (permission) {
        out.push(permission);
      }
    }
    return out;
  }

  /** Forget everything (before `agentls/loadSession` replays the history). */
  reset(): void {
    const v = this.view;
    v.entries = [];
    v.plan = [];
    v.usage = null;
    v.commands = [];
    v.busy = false;
    this.tools.clear();
    this.permissions.clear();
    this.pendingCompaction = null;
    this.compactRequested = false;
    this.retryNotice = null;
    v.compacting = false;
    this.bump();
    v.planRev = v.rev;
    this.refreshActivity();
  }

  /** Apply one `agentls/sessionUpdate`; returns false for an update kind this client does not know. */
  apply(update: SessionUpdate, live = true): boolean {
    switch (update.sessionUpdate) {
      case 'agent_message_chunk':
      case 'agent_thought_chunk':
      case 'user_message_chunk': {
        const u = update as { sessionUpdate: string; content?: { type?: string; text?: string } };
        const text = u.content?.type === 'text' ? (u.content.text ?? '') : '';
        const kind = u.sessionUpdate === 'agent_message_chunk' ? 'agent' : u.sessionUpdate === 'agent_thought_chunk' ? 'thought' : 'user';
        this.appendText(kind, text);
        if (live && kind !== 'user') {
          this.markBusy();
        }
        break;
      }
      case 'tool_call':
        this.upsertTool(update as ToolCallFields, true);
        if (live) {
          this.markBusy();
        }
        break;
      case 'tool_call_update':
        this.upsertTool(update as ToolCallFields, true);
        break;
      case 'plan': {
        const entries = (update as { entries?: PlanEntry[] }).entries;
        this.view.plan = Array.isArray(entries) ? entries.map((e) => ({ ...e })) : [];
        this.bump();
        this.view.planRev = this.view.rev;
        break;
      }
      case 'usage_update':
        this.applyUsage(update as UsageUpdate);
        break;
      case 'compaction':
        this.applyCompaction(update as CompactionUpdate);
        break;
      case 'model_fallback':
        this.pushEntry({ kind: 'notice', level: 'warning', text: fallbackText(update as ModelFallbackUpdate) });
        break;
      case 'api_retry':
        this.applyRetry(update as ApiRetryUpdate);
        break;
      case 'command_output':
        this.applyCommandOutput(update as CommandOutputUpdate);
        break;
      case 'checkpoint':
        this.applyCheckpoint(update as CheckpointUpdate);
        break;
      case 'available_commands_update': {
        const cmds = (update as { availableCommands?: AvailableCommand[] }).availableCommands;
        this.view.commands = Array.isArray(cmds) ? cmds.filter((c) => typeof c.name === 'string' && c.name !== '') : [];
        this.bump();
        break;
      }
      default:
        return false;
    }
    this.refreshActivity();
    return true;
  }

  /** The slash commands the server lists for this session (`agentls/listCommands`). */
  setCommands(commands: AvailableCommand[]): void {
    this.view.commands = commands;
    this.bump();
  }

  /** The user sent a prompt (shown as the server will store it: see `promptText`). */
  addUserPrompt(text: string): void {
    this.pushEntry({ kind: 'user', text, checkpoint: null });
    this.view.busy = true;
    this.refreshActivity();
  }

  turnStarted(): void {
    this.view.busy = true;
    this.refreshActivity();
  }

  /** Our `agentls/prompt` answered (or failed: `error` is the message). */
  turnEnded(result: PromptResult | null, error?: string): void {
    this.view.busy = false;
    for (const requestId of [...this.permissions.keys()]) {
      this.permissionGone(requestId, 'withdrawn');
    }
    for (const entry of this.tools.values()) {
      if (entry.call.status === 'pending' || entry.call.status === 'in_progress') {
        entry.call.status = 'failed';
        entry.rev = this.bump();
      }
    }
    this.compactionInterrupted();
    if (error !== undefined) {
      this.pushEntry({ kind: 'notice', level: 'error', text: error });
    } else if (result !== null && result.stopReason !== 'end_turn') {
      this.pushEntry({ kind: 'notice', ...stopNotice(result) });
    }
    this.refreshActivity();
  }

  /** We sent `agentls/compact`. */
  compactStarted(): void {
    this.compactRequested = true;
    this.refreshActivity();
  }

  /** Our `agentls/compact` answered (or failed: `error` is the message). */
  compactEnded(result: CompactResult | null, error?: string): void {
    this.compactRequested = false;
    this.compactionInterrupted();
    if (error !== undefined) {
      this.pushEntry({ kind: 'notice', level: 'error', text: error });
    } else if (result !== null && !result.compacted) {
      // A compaction that happened shows as its own notice (from the `compaction` update).
      this.pushEntry({ kind: 'notice', level: 'info', text: `Not compacted: ${result.message.replace(/^not compacted: /, '')}` });
    }
    this.refreshActivity();
  }

  /** A turn we did not start (a code action) is over: the server's progress ended. */
  externalTurnEnded(): void {
    if (this.view.busy && this.permissions.size === 0) {
      this.view.busy = false;
      this.refreshActivity();
    }
  }

  notice(level: 'info' | 'warning' | 'error', text: string): void {
    this.pushEntry({ kind: 'notice', level, text });
    this.refreshActivity();
  }

  permissionRequested(requestId: string, params: RequestPermissionParams): void {
    const call = params.toolCall;
    // The call's content here is the prompt's text (reason, diff), not the tool's output.
    const entry = this.upsertTool({ ...call, status: call.status ?? 'pending' }, false);
    entry.call.permission = {
      requestId,
      content: (call.content ?? []).flatMap(contentText),
      options: Array.isArray(params.options) ? params.options : [],
      title: call.title ?? entry.call.title,
    };
    entry.call.decision = null;
    entry.rev = this.bump();
    this.permissions.set(requestId, entry.call.toolCallId);
    this.markBusy();
    this.refreshActivity();
  }

  /** The user picked an option; returns false if the request is no longer pending. */
  permissionAnswered(requestId: string, optionId: string): boolean {
    const toolCallId = this.permissions.get(requestId);
    const entry = toolCallId === undefined ? undefined : this.tools.get(toolCallId);
    const permission = entry?.call.permission;
    if (!entry || !permission) {
      return false;
    }
    const option = permission.options.find((o) => o.optionId === optionId);
    this.permissionGone(requestId, option?.name ?? optionId);
    this.refreshActivity();
    return true;
  }

  /** The server withdrew the request (the turn was cancelled), or the connection went away. */
  permissionGone(requestId: string, why: string): void {
    const toolCallId = this.permissions.get(requestId);
    this.permissions.delete(requestId);
    const entry = toolCallId === undefined ? undefined : this.tools.get(toolCallId);
    if (entry && entry.call.permission?.requestId === requestId) {
      entry.call.permission = null;
      entry.call.decision = why;
      entry.rev = this.bump();
    }
    this.refreshActivity();
  }

  /** The user message a checkpoint number belongs to (the one "Restore to here" was clicked on). */
  userEntry(id: string): Extract<Entry, { kind: 'user' }> | null {
    const entry = this.view.entries.find((e) => e.id === id);
    return entry !== undefined && entry.kind === 'user' ? entry : null;
  }

  /**
   * A prompt's checkpoint belongs to the latest user message (live: sent as its turn starts, after
   * the panel showed the message; replayed: right after the message). A message keeps its first
   * checkpoint: a turn started without a message here (a code action's) does not take the last
   * one's. Subagent and rewind checkpoints belong to no message.
   */
  private applyCheckpoint(u: CheckpointUpdate): void {
    const n = finite(u.checkpoint);
    if (u.kind !== 'prompt' || n === null) {
      return;
    }
    for (let i = this.view.entries.length - 1; i >= 0; i--) {
      const entry = this.view.entries[i];
      if (entry?.kind === 'user') {
        if (entry.checkpoint === null) {
          entry.checkpoint = n;
          entry.rev = this.bump();
        }
        return;
      }
    }
  }

  /** A command's output; after `/clear` the conversation shown so far goes, as on the server. */
  private applyCommandOutput(u: CommandOutputUpdate): void {
    const command = typeof u.command === 'string' ? u.command : '';
    if (u.data?.cleared === true) {
      this.view.entries = [];
      this.tools.clear();
      this.pendingCompaction = null;
      this.retryNotice = null;
      this.view.plan = [];
      this.bump();
      this.view.planRev = this.view.rev;
    }
    this.pushEntry({ kind: 'command', command, level: u.level === 'error' ? 'error' : 'info', text: typeof u.text === 'string' ? u.text : '' });
  }

  private applyUsage(u: UsageUpdate): void {
    const prev = this.view.usage;
    // Only an API call's update has the request's figures; one after a compaction or a load
    // carries the context (and maybe the cost) only, and the earlier figures still hold.
    const afterCall = isObject(u.request) || isObject(u.session);
    const cost = money(u.cost);
    this.view.usage = {
      used: finite(u.used) ?? prev?.used ?? null,
      size: finite(u.size) ?? prev?.size ?? null,
      // An API call's update without a cost means the price is unknown; a context-only update
      // may simply not repeat it.
      cost: cost ?? (afterCall ? null : (prev?.cost ?? null)),
      request: afterCall ? fillUsage(u.request) : (prev?.request ?? null),
      requestCost: afterCall ? money(u.requestCost) : (prev?.requestCost ?? null),
      session: afterCall ? fillUsage(u.session) : (prev?.session ?? null),
    };
    this.bump();
  }

  private applyCompaction(u: CompactionUpdate): void {
    const fields: CompactionView = {
      status: u.status === 'started' ? 'started' : 'completed',
      tier: typeof u.tier === 'string' && u.tier !== '' ? u.tier : 'compaction',
      trigger: typeof u.trigger === 'string' ? u.trigger : '',
      tokensBefore: finite(u.tokensBefore),
      tokensAfter: finite(u.tokensAfter),
      size: finite(u.size),
      message: typeof u.message === 'string' ? u.message : '',
      summary: typeof u.summary === 'string' && u.summary.trim() !== '' ? u.summary : null,
    };
    const pending = this.pendingCompaction;
    if (pending !== null) {
      // The completed update replaces the started one's notice (its tier may differ: a summary
      // that failed is replaced by a snip).
      pending.compaction = fields;
      pending.rev = this.bump();
    } else {
      const entry = this.pushEntry({ kind: 'compaction', compaction: fields }) as Extract<Entry, { kind: 'compaction' }>;
      this.pendingCompaction = fields.status === 'started' ? entry : null;
      return;
    }
    this.pendingCompaction = fields.status === 'started' ? pending : null;
  }

  /**
   * A retry the user should know about (a long wait, or an unattended heartbeat) is one notice
   * line, updated in place while nothing else was shown since; short retries show nothing.
   */
  private applyRetry(u: ApiRetryUpdate): void {
    if (u.longWait !== true && u.heartbeat !== true) {
      return;
    }
    const text = retryText(u);
    const last = this.view.entries[this.view.entries.length - 1];
    if (this.retryNotice !== null && last === this.retryNotice) {
      this.retryNotice.text = text;
      this.retryNotice.rev = this.bump();
      return;
    }
    this.retryNotice = this.pushEntry({ kind: 'notice', level: 'info', text }) as Extract<Entry, { kind: 'notice' }>;
  }

  /** A compaction that started and will not complete (the turn or the request is over). */
  private compactionInterrupted(): void {
    const pending = this.pendingCompaction;
    if (pending !== null) {
      pending.compaction = { ...pending.compaction, status: 'interrupted' };
      pending.rev = this.bump();
      this.pendingCompaction = null;
    }
  }

  private markBusy(): void {
    if (!this.view.busy) {
      this.view.busy = true;
      this.bump();
    }
  }

  private appendText(kind: 'user' | 'agent' | 'thought', text: string): void {
    if (text === '') {
      return;
    }
    const last = this.view.entries[this.view.entries.length - 1];
    // A replayed message after a prompt's checkpoint is the next prompt, not more of that one.
    if (last !== undefined && last.kind === kind && !(last.kind === 'user' && last.checkpoint !== null)) {
      last.text += text;
      last.rev = this.bump();
      return;
    }
    this.pushEntry(kind === 'user' ? { kind, text, checkpoint: null } : { kind, text });
  }

  private upsertTool(fields: ToolCallFields, applyContent: boolean): Extract<Entry, { kind: 'tool' }> {
    let entry = this.tools.get(fields.toolCallId);
    if (entry === undefined) {
      const call: ToolCallView = {
        toolCallId: fields.toolCallId,
        title: fields.title || 'tool',
        kind: fields.kind || 'other',
        status: fields.status ?? 'pending',
        rawInput: fields.rawInput ?? null,
        locations: [],
        diffs: [],
        output: '',
        isError: false,
        durationMs: null,
        permission: null,
        decision: null,
        parentToolCallId: fields._meta?.agentls?.parentToolCallId ?? null,
        note: null,
      };
      // An update for a call we never saw (e.g. a replayed result) still gets a card.
      entry = this.pushEntry({ kind: 'tool', call }) as Extract<Entry, { kind: 'tool' }>;
      this.tools.set(fields.toolCallId, entry);
    }
    const call = entry.call;
    // A subagent's permission request can arrive before its tool call: the card it made learns
    // its parent (the Agent call) from the tool call.
    const parent = fields._meta?.agentls?.parentToolCallId;
    if (parent && call.parentToolCallId === null) {
      call.parentToolCallId = parent;
    }
    if (fields.title) {
      call.title = fields.title;
    }
    if (fields.kind) {
      call.kind = fields.kind;
    }
    if (fields.status) {
      call.status = fields.status;
    }
    if (fields.rawInput !== undefined && fields.rawInput !== null) {
      call.rawInput = fields.rawInput;
    }
    if (Array.isArray(fields.locations)) {
      call.locations = fields.locations.map((l) => l.path).filter((p): p is string => typeof p === 'string');
    }
    if (Array.isArray(fields.content) && applyContent) {
      const diffs: DiffView[] = [];
      const texts: string[] = [];
      for (const c of fields.content) {
        if (c.type === 'diff') {
          const d = c as { path?: string; oldText?: string | null; newText?: string };
          if (typeof d.path === 'string' && typeof d.newText === 'string') {
            diffs.push({ path: d.path, oldText: typeof d.oldText === 'string' ? d.oldText : null, newText: d.newText });
          }
        } else {
          texts.push(...contentText(c));
        }
      }
      if (diffs.length > 0) {
        call.diffs = diffs;
      }
      call.output = texts.join('\n');
    }
    const raw = fields.rawOutput as { isError?: unknown; durationMs?: unknown; note?: unknown } | undefined;
    if (raw && typeof raw === 'object') {
      if (typeof raw.isError === 'boolean') {
        call.isError = raw.isError;
      }
      if (typeof raw.note === 'string') {
        call.note = raw.note;
      }
      if (typeof raw.durationMs === 'number') {
        call.durationMs = raw.durationMs;
      }
    }
    if (call.status === 'failed') {
      call.isError = call.isError || fields.status === 'failed';
    }
    entry.rev = this.bump();
    return entry;
  }

  private pushEntry(fields: DistributiveOmit<Entry, 'id' | 'rev'>): Entry {
    const entry: Entry = { ...fields, id: `e${this.nextId++}`, rev: this.bump() };
    this.view.entries.push(entry);
    return entry;
  }

  private bump(): number {
    this.view.rev += 1;
    return this.view.rev;
  }

  private refreshActivity(): void {
    const v = this.view;
    const compacting = this.compactRequested || this.pendingCompaction !== null;
    if (compacting !== v.compacting) {
      v.compacting = compacting;
      this.bump();
    }
    let activity: Activity = 'idle';
    let detail = '';
    if (this.permissions.size > 0) {
      activity = 'permission';
      detail = this.pendingPermissions[0]?.title ?? '';
    } else if (compacting) {
      activity = 'compacting';
      detail = this.pendingCompaction?.compaction.tier ?? '';
    } else if (v.busy) {
      const running = [...this.tools.values()].reverse().find((t) => t.call.status === 'in_progress');
      if (running) {
        activity = 'tool';
        detail = running.call.title;
      } else {
        activity = 'thinking';
      }
    }
    if (activity !== v.activity || detail !== v.activityDetail) {
      v.activity = activity;
      v.activityDetail = detail;
      this.bump();
    }
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const STOP_TEXT: Record<string, string> = {
  cancelled: 'Stopped.',
  max_tokens: 'Stopped: the reply hit the output token limit.',
  max_turn_requests: 'Stopped: the turn used all its model requests (maxTurns).',
  refusal: 'The model refused to continue.',
  error: 'The turn failed',
};

/** The notice for a turn that ended otherwise than `end_turn`. */
export function stopNotice(result: PromptResult): { level: 'warning' | 'error'; text: string } {
  const message = typeof result.message === 'string' && result.message !== '' ? result.message : '';
  switch (result.stopReason) {
    case 'budget_exceeded': {
      const b = result.budget ?? {};
      const spent = finite(b.spent);
      const limit = finite(b.limit);
      let figures = '';
      if (spent !== null && limit !== null) {
        figures = b.kind === 'tokens' ? ` (${formatCount(spent)} of ${formatCount(limit)} tokens used)` : ` (${formatCost(spent)} of ${formatCost(limit)} spent)`;
      }
      return { level: 'warning', text: `Stopped: the session's budget is reached${figures}.${message ? ` ${sentence(message)}` : ''}` };
    }
    case 'context_overflow': {
      const c = result.context ?? {};
      const tokens = finite(c.tokens);
      const size = finite(c.size);
      const attempts = finite(c.attempts);
      const parts: string[] = [];
      if (tokens !== null && size !== null) {
        parts.push(`${formatCount(tokens)} tokens for a ${formatCount(size)}-token window`);
      }
      if (attempts !== null) {
        parts.push(`after ${attempts} compaction${attempts === 1 ? '' : 's'}`);
      }
      const figures = parts.length > 0 ? ` (${parts.join(', ')})` : '';
      return { level: 'error', text: `Stopped: the conversation no longer fits the context window${figures}.${message ? ` ${sentence(message)}` : ''}` };
    }
    default: {
      const text = STOP_TEXT[result.stopReason] ?? `Stopped: ${result.stopReason}`;
      const detail = result.error?.message ? `: ${result.error.message}` : message ? `: ${message}` : '';
      return { level: result.stopReason === 'error' ? 'error' : 'warning', text: text + detail };
    }
  }
}

/** "Switched to claude-haiku-4-5: claude-sonnet-5-5 was overloaded 3 times in a row…" */
export function fallbackText(u: ModelFallbackUpdate): string {
  if (typeof u.message === 'string' && u.message !== '') {
    return sentence(u.message);
  }
  const to = typeof u.toModel === 'string' && u.toModel !== '' ? u.toModel : 'the fallback model';
  return `Switched to ${to} because the model was overloaded; the rest of the session uses it.`;
}

/** "API overloaded: retry 3 of 10 in 45 s (the API asked to wait)." */
export function retryText(u: ApiRetryUpdate): string {
  if (typeof u.message === 'string' && u.message !== '') {
    return sentence(u.message);
  }
  const delay = finite(u.delay);
  const reason = typeof u.reason === 'string' && u.reason !== '' ? u.reason : 'error';
  return `API ${reason}: retrying${delay !== null ? ` in ${Math.round(delay)} s` : ''}.`;
}

/** "the next request would…" → "The next request would….": the server's line as a sentence. */
function sentence(s: string): string {
  const t = s.trim();
  return `${t.charAt(0).toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? '' : '.'}`;
}

function finite(n: unknown): number | null {
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}

function isObject(v: unknown): v is object {
  return typeof v === 'object' && v !== null;
}

function money(m: Money | null | undefined): Money | null {
  if (!isObject(m) || finite(m.amount) === null) {
    return null;
  }
  return { amount: m.amount, currency: typeof m.currency === 'string' && m.currency !== '' ? m.currency : 'USD' };
}

function fillUsage(u: TokenUsage | undefined): Required<TokenUsage> {
  const out = { ...EMPTY_USAGE };
  if (u && typeof u === 'object') {
    for (const key of Object.keys(EMPTY_USAGE) as (keyof TokenUsage)[]) {
      const value = u[key];
      if (typeof value === 'number' && Number.isFinite(value)) {
        out[key] = value;
      }
    }
  }
  return out;
}

function contentText(c: ToolCallContent): string[] {
  if (c.type === 'content') {
    const inner = (c as { content?: { type?: string; text?: unknown } }).content;
    if (inner && inner.type === 'text' && typeof inner.text === 'string' && inner.text !== '') {
      return [inner.text];
    }
  }
  return [];
}
