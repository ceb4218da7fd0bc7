/** Entry point: wires the language client, the sessions, the chat panel, the status bar and the commands. */

import * as vscode from 'vscode';

import { statusView } from '../shared/status';
import { AgentClient, errorMessage } from './agentClient';
import { ChatPanel, VIEW_TYPE, selectionMention, trackLastEditor } from './chatPanel';
import { Sessions } from './sessions';

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('agentls');
  const sessions = new Sessions(context.workspaceState);
  const status = vscode.window.createStatusBarItem('agentls.status', vscode.StatusBarAlignment.Left, 100);
  status.name = 'agentls';
  status.command = 'agentls.openChat';

  // The client's handlers need the panel, the panel needs the client.
  const ui: { panel?: ChatPanel } = {};
  const client = new AgentClient(
    output,
    {
      onSessionUpdate: (params) => sessions.handleUpdate(params),
      onRequestPermission: (params, token) => sessions.handlePermission(params, token),
      onProgress: (token, value) => sessions.handleProgress(token, value),
      onConnection: (state, restarted) => {
        if (state !== 'running') {
          sessions.connectionLost();
        } else if (restarted) {
          // The server came back (after a crash or a settings change) without its sessions in
          // memory: replay the panel's session from its transcript.
          const current = sessions.currentId;
          sessions.forgetAllBut(current);
          if (current !== undefined && ui.panel !== undefined) {
            sessions.models.delete(current);
            void ui.panel.showSession(current);
          }
        }
        refreshStatus();
        ui.panel?.setBanner('');
      },
    },
    () => sessions.isBusy(),
  );
  sessions.attach(client);
  const chat = new ChatPanel(context.extensionUri, sessions, client);
  ui.panel = chat;

  function refreshStatus(): void {
    const view = statusView({
      sessions: [...sessions.models.values()].map((m) => ({ activity: m.view.activity, detail: m.view.activityDetail })),
      progress: [...sessions.progress.values()],
      connection: client.connection,
    });
    status.text = view.text;
    status.tooltip = view.tooltip;
    status.backgroundColor = view.state === 'permission' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    status.show();
  }

  context.subscriptions.push(
    output,
    status,
    client,
    sessions,
    chat,
    trackLastEditor(),
    sessions.onDidChange(() => refreshStatus()),
    sessions.onPermissionRequest(({ sessionId, title }) => {
      void onPermissionRequest(chat, sessions, sessionId, title);
    }),
    vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
      deserializeWebviewPanel: async (webviewPanel: vscode.WebviewPanel) => {
        chat.restore(webviewPanel);
        await Promise.resolve();
      },
    }),
    vscode.commands.registerCommand('agentls.openChat', () => {
      chat.show();
      void client.start().catch((err: unknown) => chat.setBanner(errorMessage(err)));
    }),
    vscode.commands.registerCommand('agentls.askAboutSelection', () => {
      const mention = selectionMention(vscode.window.activeTextEditor);
      chat.show();
      if (mention !== null) {
        chat.attach(mention);
      }
      void client.start().catch((err: unknown) => chat.setBanner(errorMessage(err)));
    }),
    vscode.commands.registerCommand('agentls.newSession', async () => {
      chat.show();
      await sessions.setCurrent(undefined);
    }),
    vscode.commands.registerCommand('agentls.stop', async () => {
      const ids = [...sessions.models.entries()].filter(([, m]) => m.view.busy).map(([id]) => id);
      for (const id of ids) {
        await sessions.cancel(id);
      }
    }),
    vscode.commands.registerCommand('agentls.compactSession', async () => {
      await chat.compact(true);
    }),
    vscode.commands.registerCommand('agentls.restartServer', async () => {
      await client.restart().catch((err: unknown) => chat.setBanner(errorMessage(err)));
    }),
    vscode.commands.registerCommand('agentls.showLog', () => output.show(true)),
  );

  refreshStatus();
  // Start the server with the window, so code actions and diagnostics work without the panel.
  void client.start().catch(() => refreshStatus());
}

/** A permission request must be seen: bring the panel to that session, or tell the user. */
async function onPermissionRequest(chat: ChatPanel, sessions: Sessions, sessionId: string, title: string): Promise<void> {
  const current = sessions.currentId;
  const currentBusy = current !== undefined && current !== sessionId && (sessions.models.get(current)?.view.busy ?? false);
  if (current === sessionId || !currentBusy) {
    if (current !== sessionId) {
      await chat.showSession(sessionId);
    }
    chat.show(true);
    return;
  }
  const choice = await vscode.window.showWarningMessage(`agentls asks for permission: ${title}`, 'Show');
  if (choice === 'Show') {
    await chat.showSession(sessionId);
    chat.show();
  }
}

export function deactivate(): void {
  // Disposables in context.subscriptions stop the client.
}
