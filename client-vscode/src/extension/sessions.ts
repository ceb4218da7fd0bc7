/**
 * Every session this window has heard of, as `SessionModel`s fed by the server's notifications
 * and requests, plus the `agentls/*` requests the panel makes (new, prompt, cancel, compact, list,
 * load).
 *
 * The only thing kept across reloads is the id of the session the panel shows (workspace state);
 * its content comes back from the server through `agentls/loadSession`.
 */

import * as vscode from 'vscode';
import { ResponseError, type WorkDoneProgressBegin, type WorkDoneProgressEnd, type WorkDoneProgressReport } from 'vscode-languageclient/node';

import { availableCommands } from '../shared/completion';
import { SessionModel } from '../shared/model';
import { promptBlocks, promptText, type Mention } from '../shared/prompt';
import {
  type AvailableCommand,
  type CompactResult,
  type ListCommandsResult,
  METHODS,
  SESSION_BUSY,
  SESSION_NOT_FOUND,
  type PromptResult,
  type RequestPermissionParams,
  type RequestPermissionResult,
  type RewindParams,
  type RewindResult,
  type SessionSummary,
  type SessionUpdateParams,
} from '../shared/protocol';
import { rewindNotice } from '../shared/rewind';
import type { ProgressState } from '../shared/status';
import { type AgentClient, errorMessage } from './agentClient';

const CURRENT_KEY = 'agentls.currentSession';

interface PendingPermission {
  sessionId: string;
  resolve: (result: RequestPermissionResult) => void;
}

export class Sessions implements vscode.Disposable {
  readonly models = new Map<string, SessionModel>();
  readonly progress = new Map<string, ProgressState>();
  private readonly pending = new Map<string, PendingPermission>();
  /** Sessions whose turn we started with `agentls/prompt` (the answer says when it ends). */
  private readonly prompting = new Set<string>();
  private nextRequestId = 1;
  private client: AgentClient | undefined;
  /** The workspace's slash commands, for the composer before a session exists. */
  private defaultCommands: AvailableCommand[] = [];

  private readonly changed = new vscode.EventEmitter<string>();
  /** A session's view changed (its id). */
  readonly onDidChange = this.changed.event;
  private readonly permissionAsked = new vscode.EventEmitter<{ sessionId: string; title: string }>();
  readonly onPermissionRequest = this.permissionAsked.event;
  private readonly currentChanged = new vscode.EventEmitter<string | undefined>();
  readonly onDidChangeCurrent = this.currentChanged.event;

  constructor(private readonly memento: vscode.Memento) {}

  attach(client: AgentClient): void {
    this.client = client;
  }

  get currentId(): string | undefined {
    return this.memento.get<string>(CURRENT_KEY) || undefined;
  }

  async setCurrent(sessionId: string | undefined): Promise<void> {
    const previous = this.currentId;
    await this.memento.update(CURRENT_KEY, sessionId);
    this.currentChanged.fire(sessionId);
    if (previous !== undefined && previous !== sessionId) {
      this.closeOnServer(previous);
    }
  }

  /**
   * The panel no longer shows `sessionId`: let the server close it (`agentls/closeSession`), which
   * frees what it holds. Its transcript stays; a prompt or a replay opens it again. A session that
   * is still working is left open.
   */
  private closeOnServer(sessionId: string): void {
    const view = this.models.get(sessionId)?.view;
    if (this.client === undefined || view?.busy || view?.compacting || this.prompting.has(sessionId)) {
      return;
    }
    this.client.request(METHODS.closeSession, { sessionId }).then(undefined, () => undefined);
  }

  model(sessionId: string): SessionModel {
    let model = this.models.get(sessionId);
    if (model === undefined) {
      model = new SessionModel(sessionId);
      this.models.set(sessionId, model);
    }
    return model;
  }

  /** The slash commands the composer completes for `sessionId` (the workspace's without one). */
  commandsFor(sessionId: string | undefined): AvailableCommand[] {
    const own = sessionId === undefined ? [] : (this.models.get(sessionId)?.view.commands ?? []);
    return own.length > 0 ? own : this.defaultCommands;
  }

  /**
   * Ask the server which slash commands `sessionId` (or, without one, the workspace) offers
   * (`agentls/listCommands`): after a session starts or loads and after every prompt, so a
   * command file added meanwhile completes too. A server without the request offers none.
   */
  async refreshCommands(sessionId?: string): Promise<void> {
    if (this.client === undefined) {
      return;
    }
    let commands: AvailableCommand[];
    try {
      const params = sessionId === undefined ? {} : { sessionId };
      commands = availableCommands(await this.client.request<ListCommandsResult>(METHODS.listCommands, params));
    } catch {
      return;
    }
    if (sessionId === undefined) {
      this.defaultCommands = commands;
    } else {
      this.model(sessionId).setCommands(commands);
    }
    this.changed.fire(sessionId ?? '');
  }

  isBusy(): boolean {
    return [...this.models.values()].some((m) => m.view.busy || m.view.compacting) || this.pending.size > 0;
  }

  // --- from the server ---

  handleUpdate(params: SessionUpdateParams): void {
    if (typeof params?.sessionId !== 'string' || typeof params.update !== 'object' || params.update === null) {
      return;
    }
    if (!this.models.has(params.sessionId)) {
      // A session we hear of from its first update on (a code action's): the view is complete.
      this.synced.add(params.sessionId);
    }
    const model = this.model(params.sessionId);
    if (model.apply(params.update, !this.replaying.has(params.sessionId))) {
      this.changed.fire(params.sessionId);
    }
  }

  handlePermission(params: RequestPermissionParams, token: vscode.CancellationToken): Promise<RequestPermissionResult> {
    const cancelled: RequestPermissionResult = { outcome: { outcome: 'cancelled' } };
    if (typeof params?.sessionId !== 'string' || typeof params.toolCall?.toolCallId !== 'string') {
      return Promise.resolve(cancelled);
    }
    const requestId = `perm-${this.nextRequestId++}`;
    const model = this.model(params.sessionId);
    return new Promise<RequestPermissionResult>((resolve) => {
      this.pending.set(requestId, { sessionId: params.sessionId, resolve });
      model.permissionRequested(requestId, params);
      this.changed.fire(params.sessionId);
      token.onCancellationRequested(() => {
        // The server withdrew the prompt (the turn was cancelled).
        if (this.pending.delete(requestId)) {
          model.permissionGone(requestId, 'withdrawn: the turn was cancelled');
          this.changed.fire(params.sessionId);
          resolve(cancelled);
        }
      });
      this.permissionAsked.fire({ sessionId: params.sessionId, title: params.toolCall.title ?? 'a tool' });
    });
  }

  answerPermission(requestId: string, optionId: string): void {
    const pending = this.pending.get(requestId);
    if (pending === undefined) {
      return;
    }
    this.pending.delete(requestId);
    this.model(pending.sessionId).permissionAnswered(requestId, optionId);
    this.changed.fire(pending.sessionId);
    pending.resolve({ outcome: { outcome: 'selected', optionId } });
  }

  handleProgress(token: string, value: WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd): void {
    if (value.kind === 'begin') {
      this.progress.set(token, { title: value.title, message: value.message ?? '' });
    } else if (value.kind === 'report') {
      const state = this.progress.get(token);
      if (state !== undefined && value.message !== undefined) {
        state.message = value.message;
      }
    } else {
      this.progress.delete(token);
      if (this.progress.size === 0) {
        // Turns we did not start (code actions) report their end only here.
        for (const [id, model] of this.models) {
          if (!this.prompting.has(id) && model.view.busy) {
            model.externalTurnEnded();
            this.changed.fire(id);
          }
        }
      }
    }
    this.changed.fire('');
  }

  /** The server went away: whatever it was doing is over, and it forgot its in-memory sessions. */
  connectionLost(): void {
    for (const [requestId, pending] of this.pending) {
      this.model(pending.sessionId).permissionGone(requestId, 'withdrawn: the server stopped');
      pending.resolve({ outcome: { outcome: 'cancelled' } });
    }
    this.pending.clear();
    this.progress.clear();
    for (const [id, model] of this.models) {
      if (model.view.busy) {
        model.turnEnded(null, 'The agentls server stopped.');
        this.changed.fire(id);
      }
    }
    this.prompting.clear();
    this.synced.clear();
  }

  /** After a server restart: only the panel's session matters; it is replayed by `load`. */
  forgetAllBut(sessionId: string | undefined): void {
    for (const id of [...this.models.keys()]) {
      if (id !== sessionId) {
        this.models.delete(id);
      }
    }
  }

  // --- requests to the server ---

  private readonly replaying = new Set<string>();
  /** Sessions whose view holds everything the server said (live since their start, or replayed). */
  private readonly synced = new Set<string>();

  async newSession(): Promise<string> {
    const result = await this.requireClient().request<{ sessionId: string }>(METHODS.newSession, {});
    this.model(result.sessionId);
    this.synced.add(result.sessionId);
    await this.setCurrent(result.sessionId);
    void this.refreshCommands(result.sessionId);
    return result.sessionId;
  }

  /** Send a prompt in `sessionId` (a new session if undefined); resolves when the turn ends. */
  async prompt(sessionId: string | undefined, text: string, mentions: Mention[]): Promise<void> {
    const blocks = promptBlocks(text, mentions);
    if (blocks.length === 0) {
      return;
    }
    const id = sessionId ?? (await this.newSession());
    const model = this.model(id);
    model.addUserPrompt(promptText(blocks));
    this.prompting.add(id);
    this.changed.fire(id);
    try {
      const result = await this.requireClient().request<PromptResult>(METHODS.prompt, { sessionId: id, prompt: blocks });
      model.turnEnded(result);
    } catch (err) {
      if (err instanceof ResponseError && err.code === SESSION_BUSY) {
        model.notice('error', `Not sent: ${err.message}`);
      } else if (err instanceof ResponseError && err.code === SESSION_NOT_FOUND) {
        model.turnEnded(null, `The server does not know this session any more (${err.message}). Start a new one or resume it from the session list.`);
      } else {
        model.turnEnded(null, `The prompt failed: ${errorMessage(err)}`);
      }
    } finally {
      this.prompting.delete(id);
      this.changed.fire(id);
      void this.refreshCommands(id);
    }
  }

  /**
   * Compact a session's context now (`agentls/compact`); resolves when it is done. What happened
   * shows in the session's view: the server's `compaction` and `usage_update` updates, or a notice.
   */
  async compact(sessionId: string, instructions?: string): Promise<CompactResult | null> {
    const model = this.model(sessionId);
    model.compactStarted();
    this.changed.fire(sessionId);
    const params: { sessionId: string; instructions?: string } = { sessionId };
    if (instructions !== undefined && instructions.trim() !== '') {
      params.instructions = instructions.trim();
    }
    try {
      const result = await this.requireClient().request<CompactResult>(METHODS.compact, params);
      model.compactEnded(result);
      return result;
    } catch (err) {
      if (err instanceof ResponseError && err.code === SESSION_BUSY) {
        model.compactEnded(null, 'Not compacted: a turn is running. Compact when it has ended.');
      } else if (err instanceof ResponseError && err.code === SESSION_NOT_FOUND) {
        model.compactEnded(null, `Not compacted: the server does not know this session any more (${err.message}).`);
      } else {
        model.compactEnded(null, `The compaction failed: ${errorMessage(err)}`);
      }
      return null;
    } finally {
      this.changed.fire(sessionId);
    }
  }

  /**
   * `agentls/rewind` (the panel's "Restore to here"). A dry run changes nothing. A real one that
   * rewound the conversation replays it (`agentls/loadSession`), so the panel no longer shows the
   * rewound turns; either way the outcome's line is added to the view. Errors (busy, no such
   * session or checkpoint) are thrown as the server's JSON-RPC errors.
   */
  async rewind(params: RewindParams): Promise<RewindResult> {
    const result = await this.requireClient().request<RewindResult>(METHODS.rewind, params);
    if (params.dryRun) {
      return result;
    }
    let reloadError = '';
    if (result.conversation === true) {
      try {
        await this.reload(params.sessionId);
      } catch (err) {
        // The rewind happened: say so, and why the conversation shown may be out of date.
        reloadError = `The conversation could not be reloaded: ${errorMessage(err)}. Open the session again from the session list.`;
      }
    }
    const notice = rewindNotice(result);
    this.model(params.sessionId).notice(notice.level, notice.text);
    if (reloadError !== '') {
      this.model(params.sessionId).notice('error', reloadError);
    }
    this.changed.fire(params.sessionId);
    return result;
  }

  /** Replay a session's conversation from the server, even if the view is live. */
  async reload(sessionId: string): Promise<void> {
    this.synced.delete(sessionId);
    await this.load(sessionId);
  }

  async cancel(sessionId: string): Promise<void> {
    await this.requireClient().notify(METHODS.cancel, { sessionId });
  }

  async list(): Promise<SessionSummary[]> {
    const result = await this.requireClient().request<{ sessions?: SessionSummary[] }>(METHODS.listSessions, {});
    const sessions = Array.isArray(result.sessions) ? result.sessions : [];
    return sessions.filter((s) => typeof s.sessionId === 'string');
  }

  /** Rebuild a session's view from the server's replay and make it current. */
  async load(sessionId: string): Promise<void> {
    const model = this.model(sessionId);
    if (this.synced.has(sessionId)) {
      // The view is live already (a replay would also lose a running turn's unfinished part).
      await this.setCurrent(sessionId);
      this.changed.fire(sessionId);
      return;
    }
    model.reset();
    this.replaying.add(sessionId);
    this.changed.fire(sessionId);
    try {
      await this.requireClient().request(METHODS.loadSession, { sessionId });
    } finally {
      this.replaying.delete(sessionId);
    }
    this.synced.add(sessionId);
    await this.setCurrent(sessionId);
    this.changed.fire(sessionId);
    void this.refreshCommands(sessionId);
  }

  dispose(): void {
    this.connectionLost();
    this.changed.dispose();
    this.permissionAsked.dispose();
    this.currentChanged.dispose();
  }

  private requireClient(): AgentClient {
    if (this.client === undefined) {
      throw new Error('the agentls client is not set up');
    }
    return this.client;
  }
}
