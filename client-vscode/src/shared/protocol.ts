/**
 * The `agentls/*` wire shapes (ACP `session/*` with camelCase names), as the server sends them.
 * See docs/editors.md "Rich clients" and server/agentls/lsp/{to_proto,approver,params}.py.
 * Every field a server might leave out is optional: the model tolerates partial updates.
 */

export const METHODS = {
  newSession: 'agentls/newSession',
  prompt: 'agentls/prompt',
  cancel: 'agentls/cancel',
  listSessions: 'agentls/listSessions',
  loadSession: 'agentls/loadSession',
  closeSession: 'agentls/closeSession',
  sessionUpdate: 'agentls/sessionUpdate',
  requestPermission: 'agentls/requestPermission',
  saveDocuments: 'agentls/saveDocuments',
  compact: 'agentls/compact',
  listCommands: 'agentls/listCommands',
  listCheckpoints: 'agentls/listCheckpoints',
  rewind: 'agentls/rewind',
} as const;

/** JSON-RPC error code of `agentls/prompt`, `agentls/compact` and `agentls/rewind` on a session that already runs a turn. */
export const SESSION_BUSY = -32001;
export const SESSION_NOT_FOUND = -32002;
/** `agentls/rewind` could not be done (no such checkpoint, a file changed meanwhile): nothing was changed. */
export const REWIND_FAILED = -32003;

export interface TextContent {
  type: 'text';
  text: string;
}

export interface ResourceLink {
  type: 'resource_link';
  uri: string;
  name?: string;
}

export interface EmbeddedResource {
  type: 'resource';
  resource: { uri: string; text?: string };
}

export type ContentBlock = TextContent | ResourceLink | EmbeddedResource;

export interface TokenUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
  /** The part of `cache_creation_input_tokens` written with a one-hour lifetime. */
  cache_creation_1h_input_tokens?: number;
}

export interface Money {
  amount: number;
  currency: string;
}

/**
 * ACP's `usage_update {used, size, cost}` plus ours. After an API call it also carries the request's
 * and the session's tokens, the request's cost and what the call was for; after a compaction and at
 * the end of `agentls/loadSession` only `used`, `size` and (when the price is known) `cost`.
 */
export interface UsageUpdate {
  sessionUpdate: 'usage_update';
  /** Context tokens in use: what the next request carries. */
  used?: number;
  /** The context window, in tokens. */
  size?: number;
  /** The session's cost; absent when the model's price is unknown. */
  cost?: Money | null;
  request?: TokenUsage;
  session?: TokenUsage;
  requestCost?: Money | null;
  purpose?: 'turn' | 'compaction';
}

/** A compaction of the context: `started` only for the tiers that call the model (summary, collapse). */
export interface CompactionUpdate {
  sessionUpdate: 'compaction';
  status: 'started' | 'completed';
  /** `micro`, `snip`, `summary` or `collapse`. */
  tier: string;
  /** `auto`, `manual` or `reactive` (a request was too long). */
  trigger: string;
  tokensBefore?: number;
  /** Completed only. */
  tokensAfter?: number;
  size?: number;
  message?: string;
  /** The summary the model wrote (completed summary and collapse only). */
  summary?: string | null;
}

/** The model was overloaded several times in a row: the session now uses its fallback model (for the rest of the session). */
export interface ModelFallbackUpdate {
  sessionUpdate: 'model_fallback';
  fromModel?: string;
  toModel?: string;
  /** Overloaded answers in a row that triggered the switch. */
  overloads?: number;
  message?: string;
}

/**
 * A failed API call that will be retried (`heartbeat: false`, sent as the wait starts) or, in
 * unattended mode, a heartbeat while waiting. `longWait`: the wait is long enough (a `retry-after`
 * over 20 s, say) that the user should be told. Times are in seconds.
 */
export interface ApiRetryUpdate {
  sessionUpdate: 'api_retry';
  /** The attempt that failed; retry number `attempt` follows. */
  attempt?: number;
  /** Retries allowed for the call; null: no limit (unattended). */
  maxRetries?: number | null;
  /** Until the next attempt. */
  delay?: number | null;
  /** The error kind: `overloaded`, `rate_limited`, `connection`, `api`. */
  reason?: string;
  error?: string;
  /** The server's `retry-after`, if it sent one. */
  retryAfter?: number | null;
  longWait?: boolean;
  heartbeat?: boolean;
  /** Heartbeats: how long it has waited so far. */
  waited?: number;
  /** Until the deadline after which no retry starts; null: no deadline. */
  deadlineIn?: number | null;
  model?: string;
  message?: string;
}

export type ToolStatus = 'pending' | 'in_progress' | 'completed' | 'failed';

export interface ToolCallContentText {
  type: 'content';
  content: { type: string; text?: string };
}

export interface ToolCallContentDiff {
  type: 'diff';
  path: string;
  oldText?: string | null;
  newText: string;
}

export type ToolCallContent = ToolCallContentText | ToolCallContentDiff | { type: string };

export interface ToolCallFields {
  toolCallId: string;
  title?: string;
  kind?: string;
  status?: ToolStatus;
  rawInput?: unknown;
  rawOutput?: unknown;
  locations?: { path: string; line?: number }[];
  content?: ToolCallContent[];
  /** agentls: a subagent's tool call names the Agent call that runs the subagent. */
  _meta?: { agentls?: { parentToolCallId?: string; agentId?: string; agentType?: string } };
}

export interface PlanEntry {
  content: string;
  priority?: string;
  status: 'pending' | 'in_progress' | 'completed';
}

export interface AvailableCommand {
  name: string;
  description?: string;
  input?: { hint?: string } | null;
}

/** One command of `agentls/listCommands` (server/agentls/core/commands/custom.py `CommandInfo.to_json`). */
export interface CommandInfo {
  name: string;
  description?: string;
  argumentHint?: string | null;
  /** `builtin`, `project` or `user`. */
  source?: string;
  /** Where it comes from, as shown: `built-in`, `project`, `user:frontend`. */
  label?: string;
  callsModel?: boolean;
  path?: string | null;
}

/** The answer to `agentls/listCommands {sessionId?}`. */
export interface ListCommandsResult {
  commands?: CommandInfo[];
  /** Command files that were skipped, and why. */
  warnings?: string[];
}

/** What a slash command said (`/cost`, `/context`, …) or did (`/clear`: `data.cleared`). */
export interface CommandOutputUpdate {
  sessionUpdate: 'command_output';
  command?: string;
  text?: string;
  level?: 'info' | 'error';
  data?: Record<string, unknown>;
}

/**
 * A checkpoint to rewind to. A `prompt` checkpoint belongs to the latest user message: live it
 * arrives as the prompt's turn starts, in a replay right after that message's chunks. `subagent`
 * (a subagent's own, code only) and `rewind` (taken before a rewind, to undo it) ones belong to no
 * message.
 */
export interface CheckpointUpdate {
  sessionUpdate: 'checkpoint';
  checkpoint: number;
  /** `prompt`, `subagent` or `rewind`. */
  kind?: string;
  label?: string;
}

/** What `agentls/rewind` restores: the files, the conversation, or both. */
export type RewindPart = 'code' | 'conversation' | 'both';

export interface RewindParams {
  sessionId: string;
  to: number;
  part: RewindPart;
  dryRun: boolean;
  /** Conflicting files to put back anyway (paths as the plan names them). */
  overwrite: string[];
}

/** One file of a rewind's plan (files the rewind leaves alone are not listed). */
export interface RewindFileStep {
  /** Relative to the workspace when inside it. */
  path: string;
  /** `restore` (earlier content), `delete` (the agent created it), `create` (the agent removed it), `conflict`, `not_restorable`. */
  action: string;
  why?: string | null;
}

/** The answer to `agentls/rewind` (a dry run's too: then nothing changed). */
export interface RewindResult {
  to: number;
  kind?: string;
  label?: string;
  /** The checkpoint's prompt (a prompt checkpoint's; null if its turn never started). */
  prompt?: string | null;
  files?: RewindFileStep[];
  conflicts?: string[];
  notRestorable?: string[];
  part?: RewindPart;
  dryRun?: boolean;
  restored?: string[];
  kept?: string[];
  /** The checkpoint taken before this rewind: rewinding to it undoes the rewind. */
  undo?: number | null;
  /** The conversation was rewound: reload it (`agentls/loadSession`). */
  conversation?: boolean;
  /** One line for people. */
  message?: string;
}

/** One checkpoint of `agentls/listCheckpoints`. */
export interface CheckpointInfo {
  n: number;
  kind: string;
  label: string;
  prompt?: string | null;
  /** When it was taken (ISO 8601). */
  at?: string;
  files?: { path: string; by?: string; agent?: string | null }[];
  notes?: string[];
  rewinds?: { to: number; code: boolean; conversation: boolean }[];
}

export interface ListCheckpointsResult {
  sessionId?: string;
  checkpoints?: CheckpointInfo[];
}

export type SessionUpdate =
  | { sessionUpdate: 'agent_message_chunk' | 'agent_thought_chunk' | 'user_message_chunk'; content: { type: string; text?: string } }
  | ({ sessionUpdate: 'tool_call' } & ToolCallFields)
  | ({ sessionUpdate: 'tool_call_update' } & ToolCallFields)
  | { sessionUpdate: 'plan'; entries: PlanEntry[] }
  | UsageUpdate
  | CompactionUpdate
  | ModelFallbackUpdate
  | ApiRetryUpdate
  | CommandOutputUpdate
  | CheckpointUpdate
  | { sessionUpdate: 'available_commands_update'; availableCommands: AvailableCommand[] }
  | { sessionUpdate: string; [key: string]: unknown };

export interface SessionUpdateParams {
  sessionId: string;
  update: SessionUpdate;
}

export interface PermissionOption {
  optionId: string;
  name: string;
  kind?: string;
}

export interface RequestPermissionParams {
  sessionId: string;
  toolCall: ToolCallFields;
  options: PermissionOption[];
}

export type RequestPermissionResult =
  | { outcome: { outcome: 'selected'; optionId: string } }
  | { outcome: { outcome: 'cancelled' } };

export interface PromptResult {
  /** ACP's stop reasons, plus `error`, `budget_exceeded` and `context_overflow`. */
  stopReason: string;
  error?: { message?: string; kind?: string; [key: string]: unknown };
  /** `budget_exceeded`: which budget (`usd` or `tokens`), in its unit. */
  budget?: { kind?: string; spent?: number; limit?: number; projected?: number };
  /** `context_overflow`: the last request's size, the window, and the compactions tried. */
  context?: { tokens?: number; size?: number; attempts?: number };
  /** `budget_exceeded`, `context_overflow`: one line for people. */
  message?: string;
}

/** The answer to `agentls/compact`. */
export interface CompactResult {
  compacted: boolean;
  tokensBefore: number;
  tokensAfter: number;
  size: number;
  message: string;
}

export interface SessionSummary {
  sessionId: string;
  cwd?: string;
  title?: string;
  updatedAt?: number;
  loaded?: boolean;
}

/** What the client announces in `capabilities.experimental.agentls`. */
export interface ClientAgentCapabilities {
  requestPermission: boolean;
  sessionUpdate: boolean;
  saveDocuments: boolean;
}
