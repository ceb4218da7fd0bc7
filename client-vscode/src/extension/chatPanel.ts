/**
 * The chat panel: a webview showing the current session, fed from `Sessions`.
 *
 * The webview holds only what it is sent; it is rebuilt from the extension's session views
 * (themselves built from the server's messages) whenever it is created, shown again or reloaded.
 * Updates are coalesced (at most one message per `FRAME_MS`) and carry only the entries that
 * changed since the last message.
 */

import * as crypto from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';

import type { FromWebview, HeaderState, ToWebview } from '../shared/messages';
import type { Mention } from '../shared/prompt';
import { REWIND_FAILED, SESSION_NOT_FOUND } from '../shared/protocol';
import { promptDraft, rewindErrorText, rewindParams, rewindPreview, type RewindPart, type RewindPreview } from '../shared/rewind';
import { type AgentClient, errorMessage } from './agentClient';
import type { Sessions } from './sessions';

export const VIEW_TYPE = 'agentls.chat';
const FRAME_MS = 40;

export class ChatPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private ready = false;
  private shownSession: string | undefined | null = null;
  private sentRev = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private banner = '';
  private readonly queuedAttachments: Mention[] = [];
  /** The "Restore to here" preview the panel shows, if any. */
  private rewinding: { sessionId: string; entryId: string; preview: RewindPreview } | null = null;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly sessions: Sessions,
    private readonly client: AgentClient,
  ) {
    this.disposables.push(
      sessions.onDidChange((id) => {
        if (id === '' || id === this.sessions.currentId) {
          this.schedule();
        }
      }),
      sessions.onDidChangeCurrent(() => this.schedule()),
    );
  }

  get visible(): boolean {
    return this.panel?.visible ?? false;
  }

  get isOpen(): boolean {
    return this.panel !== undefined;
  }

  /** Open the panel (or bring it forward). */
  show(preserveFocus = false): void {
    if (this.panel !== undefined) {
      this.panel.reveal(undefined, preserveFocus);
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      VIEW_TYPE,
      'agentls',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus },
      this.webviewOptions(),
    );
    this.setup(panel);
  }

  /** VS Code restores the panel after a reload: its content comes from the server again. */
  restore(panel: vscode.WebviewPanel): void {
    panel.webview.options = this.webviewOptions();
    this.setup(panel);
  }

  /** Show `sessionId` in the panel (loading it from the server if this window has not seen it). */
  async showSession(sessionId: string | undefined): Promise<void> {
    if (sessionId === undefined) {
      await this.sessions.setCurrent(undefined);
      return;
    }
    try {
      await this.sessions.load(sessionId);
      this.banner = '';
    } catch (err) {
      this.showError(`Could not open session ${sessionId}: ${errorMessage(err)}`);
      if ((err as { code?: number }).code === SESSION_NOT_FOUND) {
        await this.sessions.setCurrent(undefined);
      }
    }
    this.schedule();
  }

  attach(mention: Mention): void {
    if (this.ready && this.panel !== undefined) {
      this.postMessage({ type: 'attach', mention });
      this.postMessage({ type: 'focusComposer' });
    } else {
      this.queuedAttachments.push(mention);
    }
  }

  /**
   * Compact the shown session's context (the header's Compact buttons, `agentls.compactSession`).
   * With `askInstructions`, first ask what the summary should keep; Escape cancels.
   */
  async compact(askInstructions: boolean): Promise<void> {
    const id = this.sessions.currentId;
    if (id !== undefined && this.sessions.models.get(id) === undefined) {
      // The panel's session after a reload, not shown yet: load it (the server may have it only on disk).
      await this.showSession(id);
    }
    const view = id === undefined ? undefined : this.sessions.models.get(id)?.view;
    if (id === undefined || view === undefined) {
      void vscode.window.showInformationMessage('agentls: no session to compact. Open the chat and start one first.');
      return;
    }
    if (view.busy || view.compacting) {
      void vscode.window.showInformationMessage(
        view.busy ? 'agentls: a turn is running; compact the session when it has ended.' : 'agentls: the session is being compacted already.',
      );
      return;
    }
    let instructions: string | undefined;
    if (askInstructions) {
      instructions = await vscode.window.showInputBox({
        title: 'agentls: Compact with instructions',
        prompt: 'What the summary should keep or focus on (empty: no instructions). The earlier conversation is replaced by a summary.',
        placeHolder: 'e.g. keep the API design decisions',
        ignoreFocusOut: true,
      });
      if (instructions === undefined) {
        return;
      }
    }
    const result = await this.sessions.compact(id, instructions);
    if (result !== null && !this.visible) {
      // The panel shows what happened; without it (the palette command), a message does.
      void vscode.window.showInformationMessage(`agentls: ${result.message}`);
    }
  }

  setBanner(text: string): void {
    this.banner = text;
    this.schedule();
  }

  dispose(): void {
    for (const d of this.disposables) {
      d.dispose();
    }
    this.panel?.dispose();
  }

  private webviewOptions(): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist')],
    };
  }

  private setup(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    this.ready = false;
    this.shownSession = null;
    this.sentRev = 0;
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'dist', 'icon.svg');
    panel.webview.html = this.html(panel.webview);
    const subs: vscode.Disposable[] = [
      panel.webview.onDidReceiveMessage((msg: FromWebview) => void this.onMessage(msg)),
      panel.onDidChangeViewState(() => {
        if (panel.visible) {
          this.schedule();
        }
      }),
    ];
    panel.onDidDispose(() => {
      for (const s of subs) {
        s.dispose();
      }
      if (this.panel === panel) {
        this.panel = undefined;
        this.ready = false;
      }
    });
  }

  private html(webview: vscode.Webview): string {
    const nonce = crypto.randomBytes(16).toString('base64');
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css'));
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `font-src ${webview.cspSource}`,
      `img-src ${webview.cspSource} data:`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>agentls</title>
</head>
<body>
<div id="app"></div>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
  }

  private async onMessage(msg: FromWebview): Promise<void> {
    try {
      switch (msg.type) {
        case 'ready':
          await this.onReady();
          break;
        case 'send':
          this.banner = '';
          try {
            await this.sessions.prompt(this.sessions.currentId, msg.text, msg.mentions);
          } catch (err) {
            // Nothing reached a session (e.g. agentls/newSession failed): keep the user's text.
            this.postMessage({ type: 'draft', text: msg.text, mentions: msg.mentions });
            throw err;
          }
          break;
        case 'stop': {
          const id = this.sessions.currentId;
          if (id !== undefined) {
            await this.sessions.cancel(id);
          }
          break;
        }
        case 'compact':
          await this.compact(msg.askInstructions);
          break;
        case 'permission':
          this.sessions.answerPermission(msg.requestId, msg.optionId);
          break;
        case 'rewindPreview':
          await this.previewRewind(msg.entryId, msg.checkpoint);
          break;
        case 'rewind':
          await this.rewind(msg.entryId, msg.checkpoint, msg.part, msg.overwrite);
          break;
        case 'newSession':
          this.banner = '';
          await this.sessions.setCurrent(undefined);
          this.postMessage({ type: 'focusComposer' });
          break;
        case 'listSessions':
          await this.postSessions();
          break;
        case 'loadSession':
          await this.showSession(msg.sessionId);
          break;
        case 'mentionSearch':
          this.postMessage({ type: 'mentionResults', query: msg.query, items: await findFiles(msg.query) });
          break;
        case 'attachSelection': {
          const mention = selectionMention(vscode.window.activeTextEditor ?? lastEditor);
          if (mention === null) {
            this.showError('Select some text in an editor first.');
          } else {
            this.postMessage({ type: 'attach', mention });
          }
          break;
        }
        case 'openLink':
          await openLink(msg.href);
          break;
        case 'openFile':
          await openFile(msg.path, msg.line);
          break;
        case 'copy':
          await vscode.env.clipboard.writeText(msg.text);
          break;
      }
    } catch (err) {
      this.showError(errorMessage(err));
    }
  }

  /** "Restore to here": the server's dry run of a rewind to the message's checkpoint, as a preview. */
  private async previewRewind(entryId: string, checkpoint: number, error = ''): Promise<void> {
    const sessionId = this.sessions.currentId;
    this.rewinding = null;
    if (sessionId === undefined) {
      this.postMessage({ type: 'rewindClosed', entryId });
      return;
    }
    this.postMessage({ type: 'rewindPreview', entryId, checkpoint, preview: null, error });
    try {
      const result = await this.sessions.rewind({ sessionId, to: checkpoint, part: 'both', dryRun: true, overwrite: [] });
      const preview = rewindPreview(result);
      this.rewinding = { sessionId, entryId, preview };
      this.postMessage({ type: 'rewindPreview', entryId, checkpoint, preview, error });
    } catch (err) {
      const why = rewindErrorText((err as { code?: number }).code, errorMessage(err));
      this.postMessage({ type: 'rewindPreview', entryId, checkpoint, preview: null, error: error ? `${error} ${why}` : why });
    }
  }

  /**
   * Rewind as the user chose in the preview. A conversation rewind reloads the conversation and
   * puts the rewound prompt back in the composer (to edit and send again).
   */
  private async rewind(entryId: string, checkpoint: number, part: RewindPart, overwrite: string[]): Promise<void> {
    const pending = this.rewinding;
    if (pending === null || pending.entryId !== entryId || pending.preview.checkpoint !== checkpoint || pending.sessionId !== this.sessions.currentId) {
      // The preview is stale (another session is shown, or it was never loaded): ask again.
      await this.previewRewind(entryId, checkpoint);
      return;
    }
    const model = this.sessions.models.get(pending.sessionId);
    const shownText = model?.userEntry(entryId)?.text ?? '';
    let result;
    try {
      result = await this.sessions.rewind(rewindParams(pending.sessionId, pending.preview, part, overwrite));
    } catch (err) {
      const code = (err as { code?: number }).code;
      const why = rewindErrorText(code, errorMessage(err));
      if (code === REWIND_FAILED) {
        // Nothing changed, but the plan may have (a file changed meanwhile): show the new one.
        await this.previewRewind(entryId, checkpoint, why);
      } else {
        this.postMessage({ type: 'rewindPreview', entryId, checkpoint, preview: pending.preview, error: why });
      }
      return;
    }
    this.rewinding = null;
    this.postMessage({ type: 'rewindClosed', entryId });
    if (result.conversation === true) {
      const text = typeof result.prompt === 'string' && result.prompt !== '' ? result.prompt : shownText;
      const draft = promptDraft(text, (uri) => vscode.workspace.asRelativePath(vscode.Uri.parse(uri), false));
      this.postMessage({ type: 'draft', text: draft.text, mentions: draft.mentions, replace: true });
      this.postMessage({ type: 'focusComposer' });
    }
  }

  private async onReady(): Promise<void> {
    this.ready = true;
    this.shownSession = null;
    this.sentRev = 0;
    this.post();
    for (const mention of this.queuedAttachments.splice(0)) {
      this.postMessage({ type: 'attach', mention });
    }
    this.postMessage({ type: 'focusComposer' });
    void this.sessions.refreshCommands(); // The workspace's slash commands, for `/` before any session.
    const current = this.sessions.currentId;
    if (current !== undefined && this.sessions.models.get(current) === undefined) {
      // A reloaded window: ask the server for the session's history.
      try {
        await this.client.start();
      } catch (err) {
        this.setBanner(errorMessage(err));
        return;
      }
      await this.showSession(current);
    }
  }

  private async postSessions(): Promise<void> {
    const list = await this.sessions.list();
    const current = this.sessions.currentId;
    const sessions = list
      .map((s) => {
        const model = this.sessions.models.get(s.sessionId);
        const title = s.title || model?.title || '';
        const when = s.updatedAt ? new Date(s.updatedAt * 1000).toLocaleString() : s.loaded ? 'open in this server' : '';
        const label = title ? title : `Session ${s.sessionId.slice(0, 8)}`;
        return { ...s, current: s.sessionId === current, label: when ? `${label} — ${when}` : label };
      })
      .sort((a, b) => (b.updatedAt ?? Number.MAX_SAFE_INTEGER) - (a.updatedAt ?? Number.MAX_SAFE_INTEGER));
    this.postMessage({ type: 'sessions', sessions });
  }

  private showError(message: string): void {
    this.postMessage({ type: 'error', message });
  }

  private schedule(): void {
    if (this.timer !== undefined || this.panel === undefined) {
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.post();
    }, FRAME_MS);
  }

  private post(): void {
    if (!this.ready || this.panel === undefined) {
      return;
    }
    const id = this.sessions.currentId;
    const model = id === undefined ? undefined : this.sessions.models.get(id);
    const full = this.shownSession !== (id ?? undefined);
    if (full) {
      this.sentRev = 0;
      this.shownSession = id ?? undefined;
    }
    const view = model?.view;
    const header: HeaderState = {
      sessionId: id ?? null,
      title: model?.title ?? '',
      busy: view?.busy ?? false,
      compacting: view?.compacting ?? false,
      activity: view?.activity ?? 'idle',
      activityDetail: view?.activityDetail ?? '',
      usage: view?.usage ?? null,
      plan: view?.plan ?? [],
      planRev: view?.planRev ?? 0,
      commands: this.sessions.commandsFor(id),
      connection: this.client.connection,
      banner: this.banner || (this.client.connection === 'stopped' ? this.client.lastError : ''),
      workspaceRoot: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '',
    };
    const entries = view === undefined ? [] : view.entries.filter((e) => e.rev > this.sentRev);
    this.postMessage({ type: 'view', full, header, order: view?.entries.map((e) => e.id) ?? [], entries });
    this.sentRev = view?.rev ?? 0;
  }

  private postMessage(msg: ToWebview): void {
    void this.panel?.webview.postMessage(msg);
  }
}

let lastEditor: vscode.TextEditor | undefined;

/** The webview takes focus from the editor: remember the last text editor for "attach selection". */
export function trackLastEditor(): vscode.Disposable {
  lastEditor = vscode.window.activeTextEditor;
  return vscode.window.onDidChangeActiveTextEditor((e) => {
    if (e !== undefined) {
      lastEditor = e;
    }
  });
}

export function selectionMention(editor: vscode.TextEditor | undefined): Mention | null {
  if (editor === undefined) {
    return null;
  }
  const doc = editor.document;
  const sel = editor.selection;
  const label = vscode.workspace.asRelativePath(doc.uri, false);
  if (sel.isEmpty) {
    return null;
  }
  // A selection ending at column 0 of a line does not include that line.
  const endLine = sel.end.character === 0 && sel.end.line > sel.start.line ? sel.end.line - 1 : sel.end.line;
  return {
    kind: 'selection',
    uri: doc.uri.toString(),
    label,
    text: doc.getText(sel),
    startLine: sel.start.line + 1,
    endLine: endLine + 1,
    languageId: doc.languageId,
  };
}

const EXCLUDE = '{**/node_modules/**,**/.git/**,**/.venv/**,**/__pycache__/**,**/dist/**,**/out/**}';

async function findFiles(query: string): Promise<Mention[]> {
  const q = query.toLowerCase();
  const uris = await vscode.workspace.findFiles('**/*', EXCLUDE, 3000);
  const scored: { m: Mention; score: number }[] = [];
  for (const uri of uris) {
    const label = vscode.workspace.asRelativePath(uri, false);
    const lower = label.toLowerCase();
    const base = path.basename(lower);
    let score: number;
    if (q === '') {
      score = 1;
    } else if (base.startsWith(q)) {
      score = 4;
    } else if (base.includes(q)) {
      score = 3;
    } else if (lower.includes(q)) {
      score = 2;
    } else {
      continue;
    }
    scored.push({ m: { kind: 'file', uri: uri.toString(), label }, score });
  }
  scored.sort((a, b) => b.score - a.score || a.m.label.length - b.m.label.length || a.m.label.localeCompare(b.m.label));
  return scored.slice(0, 30).map((s) => s.m);
}

async function openLink(href: string): Promise<void> {
  if (/^https?:\/\//i.test(href)) {
    await vscode.env.openExternal(vscode.Uri.parse(href));
    return;
  }
  if (/^file:/i.test(href)) {
    const uri = vscode.Uri.parse(href);
    await openFile(uri.fsPath, lineFromFragment(uri.fragment));
    return;
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(href)) {
    return; // Other schemes (mailto:, command:, …) are not opened from the chat.
  }
  // A relative path, maybe with #L12.
  const [file = '', fragment = ''] = href.split('#');
  await openFile(file, lineFromFragment(fragment));
}

function lineFromFragment(fragment: string): number | undefined {
  const m = /^L(\d+)/.exec(fragment);
  return m ? Number(m[1]) : undefined;
}

async function openFile(file: string, line?: number): Promise<void> {
  if (file === '') {
    return;
  }
  const root = vscode.workspace.workspaceFolders?.[0]?.uri;
  const uri = path.isAbsolute(file) ? vscode.Uri.file(file) : root ? vscode.Uri.joinPath(root, file) : vscode.Uri.file(file);
  const doc = await vscode.workspace.openTextDocument(uri);
  const options: vscode.TextDocumentShowOptions = { preview: true, viewColumn: vscode.ViewColumn.One };
  if (line !== undefined && line > 0) {
    const pos = new vscode.Position(line - 1, 0);
    options.selection = new vscode.Range(pos, pos);
  }
  await vscode.window.showTextDocument(doc, options);
}
