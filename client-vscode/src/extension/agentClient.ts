/**
 * The language client: starts `agentls` over stdio, announces the rich-client capabilities,
 * wires the `agentls/*` handlers, and restarts the server when it crashes (languageclient's own
 * error handler) or when a setting that reaches it at start-up changes.
 */

import * as fs from 'node:fs';
import * as vscode from 'vscode';
import {
  type ClientCapabilities,
  type FeatureState,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  State,
  type StaticFeature,
  type WorkDoneProgressBegin,
  type WorkDoneProgressEnd,
  type WorkDoneProgressReport,
} from 'vscode-languageclient/node';

import { METHODS } from '../shared/protocol';
import type { RequestPermissionParams, RequestPermissionResult, SessionUpdateParams } from '../shared/protocol';
import { resolveServerCommand } from '../shared/serverCommand';
import type { Connection } from '../shared/messages';

export interface ClientHandlers {
  onSessionUpdate(params: SessionUpdateParams): void;
  onRequestPermission(params: RequestPermissionParams, token: vscode.CancellationToken): Promise<RequestPermissionResult>;
  onProgress(token: string, value: WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd): void;
  onConnection(state: Connection, restarted: boolean): void;
}

/** Settings that change which server runs: changing one restarts it at once. */
const COMMAND_SETTINGS = ['agentls.server.command', 'agentls.server.env'];
/** Settings that reach the server only in `initialize`: it restarts when no turn is running. */
const OPTION_SETTINGS = [
  'agentls.model',
  'agentls.fallbackModel',
  'agentls.permissionMode',
  'agentls.maxTurns',
  'agentls.thinking',
  'agentls.saveBeforeCommands',
  'agentls.contextWindow',
  'agentls.autoCompact',
  'agentls.autoCompactPercent',
  'agentls.budget',
];

class AgentCapabilities implements StaticFeature {
  constructor(private readonly saveDocuments: boolean) {}

  getState(): FeatureState {
    return { kind: 'static' };
  }

  fillClientCapabilities(capabilities: ClientCapabilities): void {
    const experimental = (capabilities.experimental ?? {}) as Record<string, unknown>;
    experimental.agentls = { requestPermission: true, sessionUpdate: true, saveDocuments: this.saveDocuments };
    capabilities.experimental = experimental;
  }

  initialize(): void {}

  clear(): void {}
}

export function initializationOptions(config: vscode.WorkspaceConfiguration): Record<string, unknown> {
  const options: Record<string, unknown> = {
    permissionMode: config.get<string>('permissionMode', 'default'),
    maxTurns: config.get<number>('maxTurns', 50),
  };
  const model = config.get<string>('model', '');
  if (model) {
    options.model = model;
  }
  const fallbackModel = config.get<string>('fallbackModel', '');
  if (fallbackModel) {
    options.fallbackModel = fallbackModel;
  }
  const thinking = config.get<string | number>('thinking', 'off');
  if (thinking !== 'off' && thinking !== '') {
    options.thinking = thinking;
  }
  const contextWindow = config.get<number | null>('contextWindow', null);
  if (typeof contextWindow === 'number') {
    options.contextWindow = contextWindow;
  }
  // Sent only when set in VS Code: an editor option wins over the agentls settings files, so the
  // defaults shown in VS Code's settings must not override what those files say.
  const context: Record<string, unknown> = {};
  for (const [setting, key] of [
    ['autoCompact', 'autoCompact'],
    ['autoCompactPercent', 'autoCompactPercent'],
  ] as const) {
    if (isSet(config, setting)) {
      context[key] = config.get(setting);
    }
  }
  if (Object.keys(context).length > 0) {
    options.context = context;
  }
  const budget: Record<string, number> = {};
  for (const key of ['maxUsd', 'maxTokens'] as const) {
    const value = config.get<number | null>(`budget.${key}`, null);
    if (typeof value === 'number') {
      budget[key] = value;
    }
  }
  if (Object.keys(budget).length > 0) {
    options.budget = budget;
  }
  return options;
}

/**
 * The user (or a trusted workspace) set this setting, as opposed to its default applying. An
 * untrusted workspace's value does not count: VS Code ignores it for the restricted settings.
 */
function isSet(config: vscode.WorkspaceConfiguration, key: string): boolean {
  const inspected = config.inspect(key);
  if (inspected === undefined) {
    return false;
  }
  const workspace = vscode.workspace.isTrusted && (inspected.workspaceValue !== undefined || inspected.workspaceFolderValue !== undefined);
  return inspected.globalValue !== undefined || workspace;
}

export class AgentClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<void> | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private everRunning = false;
  connection: Connection = 'stopped';
  lastError = '';

  constructor(
    private readonly output: vscode.OutputChannel,
    private readonly handlers: ClientHandlers,
    private readonly isBusy: () => boolean,
  ) {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (COMMAND_SETTINGS.some((s) => e.affectsConfiguration(s))) {
          this.output.appendLine('[agentls] the server command changed: restarting the server');
          void this.restart().catch(() => undefined);
        } else if (OPTION_SETTINGS.some((s) => e.affectsConfiguration(s))) {
          void this.restartForOptions();
        }
      }),
    );
  }

  private async restartForOptions(): Promise<void> {
    if (this.client === undefined) {
      return;
    }
    if (this.isBusy()) {
      const choice = await vscode.window.showInformationMessage(
        'agentls settings changed. They apply when the server restarts, which stops the running turn.',
        'Restart now',
      );
      if (choice !== 'Restart now') {
        return;
      }
    }
    this.output.appendLine('[agentls] settings changed: restarting the server');
    await this.restart().catch(() => undefined);
  }

  get languageClient(): LanguageClient | undefined {
    return this.client;
  }

  get running(): boolean {
    return this.client !== undefined && this.client.state === State.Running;
  }

  /** Start (once); resolves when the server answered `initialize`, rejects if it cannot start. */
  start(): Promise<void> {
    if (this.starting === undefined) {
      this.starting = this.doStart().catch((err: unknown) => {
        this.starting = undefined;
        throw err;
      });
    }
    return this.starting;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.starting = undefined;
    if (client !== undefined) {
      try {
        await client.dispose(5000);
      } catch (err) {
        this.output.appendLine(`[agentls] stopping the server: ${String(err)}`);
      }
    }
    this.setConnection('stopped', false);
  }

  async request<R>(method: string, params: unknown, token?: vscode.CancellationToken): Promise<R> {
    await this.start();
    const client = this.client;
    if (client === undefined) {
      throw new Error('the agentls server is not running');
    }
    return token === undefined ? client.sendRequest<R>(method, params) : client.sendRequest<R>(method, params, token);
  }

  async notify(method: string, params: unknown): Promise<void> {
    await this.start();
    await this.client?.sendNotification(method, params);
  }

  dispose(): void {
    for (const d of this.disposables) {
      d.dispose();
    }
    void this.stop();
  }

  private setConnection(state: Connection, restarted: boolean): void {
    this.connection = state;
    this.handlers.onConnection(state, restarted);
  }

  private async doStart(): Promise<void> {
    const config = vscode.workspace.getConfiguration('agentls');
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    // A workspace's own .venv is a program the repository chose: only used once the workspace is trusted.
    const venvFolders = vscode.workspace.isTrusted ? folders : [];
    const { command, args } = resolveServerCommand(config.get('server.command'), venvFolders, isExecutable);
    const extraEnv = config.get<Record<string, string>>('server.env', {});
    // The server gets VS Code's environment (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, ...) plus the setting's.
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v !== undefined) {
        env[k] = v;
      }
    }
    for (const [k, v] of Object.entries(extraEnv)) {
      if (typeof v === 'string') {
        env[k] = v;
      }
    }
    const cwd = folders[0];
    // No `transport`: stdio is the default, and naming it would append `--stdio` to the arguments.
    const serverOptions: ServerOptions = {
      command,
      args,
      options: { env, ...(cwd !== undefined ? { cwd } : {}) },
    };
    const handlers = this.handlers;
    const clientOptions: LanguageClientOptions = {
      // Every file and untitled buffer: the agent works on any language.
      documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
      outputChannel: this.output,
      // The server reads its settings from here, once; a change restarts it (see above).
      // (languageclient still answers workspace/configuration requests from VS Code's settings.)
      initializationOptions: initializationOptions(config),
      middleware: {
        // The status bar item shows the agent's progress (with a click to the chat), so the
        // generic progress indicator is not started; its end still runs to release the handler.
        handleWorkDoneProgress: (token, params, next) => {
          handlers.onProgress(String(token), params);
          if (params.kind === 'end') {
            next(token, params);
          }
        },
      },
    };
    this.output.appendLine(`[agentls] starting: ${[command, ...args].join(' ')}`);
    this.setConnection('starting', false);
    const client = new LanguageClient('agentls', 'agentls', serverOptions, clientOptions);
    client.registerFeature(new AgentCapabilities(config.get<boolean>('saveBeforeCommands', true)));
    client.onNotification(METHODS.sessionUpdate, (params: SessionUpdateParams) => handlers.onSessionUpdate(params));
    client.onRequest(METHODS.requestPermission, (params: RequestPermissionParams, token: vscode.CancellationToken) =>
      handlers.onRequestPermission(params, token),
    );
    client.onRequest(METHODS.saveDocuments, (params: { uris?: unknown }) => saveDocuments(params));
    client.onDidChangeState((e) => {
      if (this.client !== client) {
        return;
      }
      if (e.newState === State.Running) {
        const restarted = this.everRunning;
        this.everRunning = true;
        this.lastError = '';
        this.setConnection('running', restarted);
      } else if (e.newState === State.Starting) {
        this.setConnection('starting', false);
      } else {
        this.setConnection('stopped', false);
      }
    });
    this.client = client;
    try {
      await client.start();
    } catch (err) {
      this.lastError = `The agentls server did not start (${[command, ...args].join(' ')}): ${errorMessage(err)}. Set "agentls.server.command" or install agentls.`;
      this.output.appendLine(`[agentls] ${this.lastError}`);
      if (this.client === client) {
        this.client = undefined;
      }
      this.setConnection('stopped', false);
      try {
        await client.dispose(2000);
      } catch {
        // Already gone.
      }
      throw new Error(this.lastError);
    }
  }
}

function isExecutable(path: string): boolean {
  try {
    fs.accessSync(path, fs.constants.X_OK);
    return fs.statSync(path).isFile();
  } catch {
    return false;
  }
}

async function saveDocuments(params: { uris?: unknown }): Promise<{ saved: string[] }> {
  const uris = Array.isArray(params?.uris) ? params.uris.filter((u): u is string => typeof u === 'string') : [];
  const saved: string[] = [];
  for (const raw of uris) {
    const wanted = vscode.Uri.parse(raw).toString();
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === wanted);
    if (doc === undefined) {
      continue;
    }
    if (!doc.isDirty || (await doc.save())) {
      saved.push(raw);
    }
  }
  return { saved };
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    return err.message;
  }
  if (typeof err === 'object' && err !== null && 'message' in err) {
    return String(err.message);
  }
  return String(err);
}
