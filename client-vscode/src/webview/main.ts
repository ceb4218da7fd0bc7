/**
 * The chat webview. It draws what the extension sends and reports the user's actions; it keeps no
 * conversation state of its own (only UI state: which <details> are open, the composer's draft).
 *
 * Entries are keyed by id and redrawn only when the extension sends them again (they changed).
 * Everything from the server goes in as text (textContent) or through `renderMarkdown`, which
 * escapes raw HTML; no inline script or style is ever created (the CSP forbids both anyway; the
 * context meter's width is set through the CSSOM, which the CSP allows).
 */

import { applyCommand, commandDetail, commandQuery, matchCommands, mentionQuery } from '../shared/completion';
import { diffLines } from '../shared/diff';
import { renderInline, renderMarkdown } from '../shared/markdown';
import type { FromWebview, HeaderState, ToWebview } from '../shared/messages';
import type { CompactionView, Entry, PermissionView, ToolCallView } from '../shared/model';
import { mentionLabel, type Mention } from '../shared/prompt';
import type { AvailableCommand, SessionSummary } from '../shared/protocol';
import type { RewindPreview } from '../shared/rewind';
import { compactionDetail, compactionText, meterView } from '../shared/usage';

declare function acquireVsCodeApi(): { postMessage(msg: FromWebview): void };

const vscode = acquireVsCodeApi();
const send = (msg: FromWebview): void => vscode.postMessage(msg);

// --- tiny DOM helper -------------------------------------------------------------------------------

type Attrs = Record<string, string | boolean | undefined>;

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string | null | undefined)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) {
      continue;
    }
    if (k === 'class') {
      el.className = String(v);
    } else {
      el.setAttribute(k, v === true ? '' : v);
    }
  }
  for (const child of children) {
    if (child === null || child === undefined) {
      continue;
    }
    el.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

function markdown(text: string, cls = 'md'): HTMLElement {
  const div = h('div', { class: cls });
  div.innerHTML = renderMarkdown(text); // Safe: raw HTML is escaped by the renderer.
  return div;
}

// --- layout ----------------------------------------------------------------------------------------

const app = document.getElementById('app') as HTMLElement;

const sessionButton = h('button', { class: 'session-button', type: 'button', title: 'Sessions: start a new one or resume an old one' }, 'New session');
const newButton = h('button', { class: 'icon-button', type: 'button', title: 'New session' }, '+');
const sessionMenu = h('div', { class: 'menu hidden', role: 'menu' });
const statePill = h('span', { class: 'state state-idle' }, 'idle');
// The context meter, the session's cost and the Compact buttons: a second header row, shown
// whenever a session is.
const meterFill = h('span', { class: 'meter-fill' });
const meterBar = h('span', { class: 'meter-bar', role: 'meter', 'aria-label': 'Context window in use', 'aria-valuemin': '0', 'aria-valuemax': '100' }, meterFill);
const meterText = h('span', { class: 'meter-text' });
const meterBox = h('span', { class: 'meter' }, h('span', { class: 'meter-label' }, 'context'), meterBar, meterText);
const costBox = h('span', { class: 'cost' });
const compactButton = h('button', { class: 'compact-button', type: 'button', title: 'Compact: replace the earlier conversation with a summary to free the context window' }, 'Compact');
const compactMoreButton = h('button', { class: 'compact-more', type: 'button', title: 'Compact with instructions…', 'aria-label': 'Compact with instructions…' }, '…');
const contextRow = h('div', { class: 'context-row hidden' }, meterBox, costBox, h('span', { class: 'spacer' }), h('span', { class: 'compact-group' }, compactButton, compactMoreButton));
const header = h(
  'header',
  { class: 'top' },
  h('div', { class: 'top-row' }, h('div', { class: 'session-picker' }, sessionButton, newButton, sessionMenu), statePill),
  contextRow,
);

const planBox = h('details', { class: 'plan hidden', open: true });
const transcript = h('main', { class: 'transcript', 'aria-live': 'polite' });
const emptyState = h(
  'div',
  { class: 'empty' },
  h('p', { class: 'empty-title' }, 'Ask the agent about this workspace.'),
  h('p', {}, 'Type @ to mention a file, / for a command (/help lists them). In an editor, Ctrl+Alt+A (agentls: Ask About Selection) attaches the selected lines.'),
);

const banner = h('div', { class: 'banner hidden', role: 'alert' });
const chips = h('div', { class: 'chips' });
const popup = h('div', { class: 'popup hidden', role: 'listbox' });
const input = h('textarea', { class: 'input', rows: '3', placeholder: 'Ask the agent… (Enter to send, Shift+Enter for a new line)', 'aria-label': 'Message' });
const mentionButton = h('button', { class: 'secondary', type: 'button', title: 'Mention a file (@)' }, '@ File');
const selectionButton = h('button', { class: 'secondary', type: 'button', title: "Attach the editor's selection" }, 'Selection');
const stopButton = h('button', { class: 'stop hidden', type: 'button', title: 'Stop the running turn' }, 'Stop');
const sendButton = h('button', { class: 'primary send', type: 'button' }, 'Send');
const composer = h(
  'footer',
  { class: 'composer' },
  banner,
  chips,
  h('div', { class: 'input-wrap' }, popup, input),
  h('div', { class: 'actions' }, mentionButton, selectionButton, h('span', { class: 'spacer' }), stopButton, sendButton),
);

app.append(header, planBox, transcript, composer);

// --- state (a copy of what the extension sent, plus UI-only bits) -------------------------------

let head: HeaderState | null = null;
const entries = new Map<string, Entry>();
const nodes = new Map<string, HTMLElement>();
let order: string[] = [];
const openDetails = new Set<string>();
let attachments: Mention[] = [];
let shownPlanRev = -1;
let headerBanner = '';

/** The open "Restore to here" preview (at most one), under its user message. */
interface RewindUi {
  entryId: string;
  checkpoint: number;
  /** null while the server's dry run is on its way (or if it failed). */
  preview: RewindPreview | null;
  error: string;
  /** A request is in flight: the choices wait. */
  pending: boolean;
  /** The conflicting files ticked "overwrite". */
  ticked: Set<string>;
}
let rewindUi: RewindUi | null = null;
const rewindBox = h('div', { class: 'rewind', role: 'group', 'aria-label': 'Restore to here' });

window.addEventListener('message', (event: MessageEvent<ToWebview>) => {
  const msg = event.data;
  switch (msg.type) {
    case 'view':
      applyView(msg);
      break;
    case 'sessions':
      showSessionMenu(msg.sessions);
      break;
    case 'mentionResults':
      if (popupMode === 'mention' && msg.query === popupQuery) {
        showPopup(msg.items.map((m) => ({ label: m.label, detail: '', value: m })));
      }
      break;
    case 'attach':
      addAttachment(msg.mention);
      break;
    case 'focusComposer':
      input.focus();
      break;
    case 'draft':
      if (msg.replace === true) {
        // The prompt a conversation rewind took back: to edit and send again.
        input.value = msg.text;
        attachments = [];
        renderChips();
        input.setSelectionRange(input.value.length, input.value.length);
      } else if (input.value.trim() === '') {
        input.value = msg.text;
      }
      for (const m of msg.mentions) {
        addAttachment(m);
      }
      break;
    case 'rewindPreview':
      if (rewindUi !== null && rewindUi.entryId === msg.entryId) {
        const ticked = new Set(msg.preview?.conflicts.map((c) => c.path).filter((p) => rewindUi?.ticked.has(p)) ?? []);
        rewindUi = { ...rewindUi, checkpoint: msg.checkpoint, preview: msg.preview, error: msg.error, pending: msg.preview === null && msg.error === '', ticked };
        renderRewind();
      }
      break;
    case 'rewindClosed':
      if (rewindUi?.entryId === msg.entryId) {
        closeRewind(false);
      }
      break;
    case 'error':
      showBanner(msg.message);
      break;
  }
});

function applyView(msg: Extract<ToWebview, { type: 'view' }>): void {
  const nearBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 80;
  if (msg.full) {
    entries.clear();
    for (const node of nodes.values()) {
      node.remove();
    }
    nodes.clear();
    openDetails.clear();
    shownPlanRev = -1;
    closeRewind(false);
  }
  head = msg.header;
  for (const entry of msg.entries) {
    entries.set(entry.id, entry);
    const old = nodes.get(entry.id);
    const node = renderEntry(entry);
    if (old !== undefined) {
      old.replaceWith(node);
    }
    nodes.set(entry.id, node);
  }
  order = msg.order;
  const wanted = new Set(order);
  if (rewindUi !== null && !wanted.has(rewindUi.entryId)) {
    closeRewind(false); // Its message went (a conversation rewind, /clear).
  }
  for (const [id, node] of nodes) {
    if (!wanted.has(id)) {
      node.remove();
      nodes.delete(id);
      entries.delete(id);
    }
  }
  // Put nodes in order (appending moves existing ones; cheap when already in place).
  let prev: Element | null = null;
  for (const id of order) {
    const node = nodes.get(id);
    if (node === undefined) {
      continue;
    }
    const expected: Element | null = prev === null ? transcript.firstElementChild : prev.nextElementSibling;
    if (expected !== node) {
      if (prev === null) {
        transcript.prepend(node);
      } else {
        prev.after(node);
      }
    }
    prev = node;
  }
  if (order.length === 0) {
    if (!emptyState.isConnected) {
      transcript.append(emptyState);
    }
  } else {
    emptyState.remove();
  }
  renderHeader();
  if (nearBottom || msg.full) {
    transcript.scrollTop = transcript.scrollHeight;
  }
}

// --- header, plan, composer state --------------------------------------------------------------

const STATE_TEXT = { idle: 'idle', thinking: 'thinking…', tool: 'running', compacting: 'compacting…', permission: 'waiting for permission' } as const;

function renderHeader(): void {
  const s = head;
  if (s === null) {
    return;
  }
  sessionButton.textContent = `${s.sessionId === null ? 'New session' : s.title || `Session ${s.sessionId.slice(0, 8)}`} ▾`;
  sessionButton.title = s.sessionId === null ? 'Sessions' : `Session ${s.sessionId} (click for other sessions)`;
  renderContext(s);
  let stateText: string = STATE_TEXT[s.activity];
  if (s.activity === 'tool' && s.activityDetail) {
    stateText = `running ${s.activityDetail}`;
  }
  if (s.connection === 'starting') {
    stateText = 'starting server…';
  } else if (s.connection === 'stopped') {
    stateText = 'server stopped';
  }
  statePill.textContent = stateText;
  statePill.title = stateText;
  statePill.className = `state state-${s.connection === 'running' ? s.activity : s.connection}`;
  stopButton.classList.toggle('hidden', !s.busy);
  updateRestoreButtons();
  sendButton.disabled = s.busy || s.compacting || s.connection === 'stopped';
  if (s.banner !== headerBanner) {
    // The extension's standing message (e.g. why the server is not running): shown when it
    // changes, hidden when it clears; a dismissed one stays dismissed until it changes.
    if (s.banner) {
      showBanner(s.banner);
    } else if (banner.textContent?.startsWith(headerBanner) && headerBanner !== '') {
      banner.classList.add('hidden');
    }
    headerBanner = s.banner;
  }
  renderPlan(s);
}

function renderContext(s: HeaderState): void {
  contextRow.classList.toggle('hidden', s.sessionId === null);
  const meter = meterView(s.usage);
  meterFill.style.width = `${(meter.fraction * 100).toFixed(1)}%`;
  meterBar.className = `meter-bar meter-${meter.level}`;
  meterBar.setAttribute('aria-valuenow', String(Math.round(meter.fraction * 100)));
  meterText.textContent = meter.text;
  meterBox.title = meter.tooltip;
  costBox.textContent = meter.cost;
  costBox.title = meter.costTooltip;
  costBox.classList.toggle('cost-unknown', s.usage?.cost == null);
  const blocked = s.busy || s.compacting || s.connection !== 'running';
  compactButton.disabled = blocked;
  compactMoreButton.disabled = blocked;
  compactButton.textContent = s.compacting ? 'Compacting…' : 'Compact';
}

function renderPlan(s: HeaderState): void {
  if (s.planRev === shownPlanRev) {
    return;
  }
  shownPlanRev = s.planRev;
  planBox.replaceChildren();
  if (s.plan.length === 0) {
    planBox.classList.add('hidden');
    return;
  }
  planBox.classList.remove('hidden');
  const done = s.plan.filter((p) => p.status === 'completed').length;
  planBox.append(h('summary', {}, `Plan (${done}/${s.plan.length} done)`));
  const list = h('ul', { class: 'plan-list' });
  for (const item of s.plan) {
    const box = h('input', { type: 'checkbox', disabled: true, checked: item.status === 'completed', 'aria-label': item.status });
    const text = h('span', { class: 'plan-text' });
    text.innerHTML = renderInline(item.content);
    list.append(h('li', { class: `plan-item plan-${item.status}` }, box, text, item.status === 'in_progress' ? h('span', { class: 'badge' }, 'in progress') : null));
  }
  planBox.append(list);
}

function showBanner(text: string): void {
  banner.replaceChildren(h('span', {}, text), closeButton(() => banner.classList.add('hidden')));
  banner.classList.remove('hidden');
}

function closeButton(onClick: () => void): HTMLElement {
  const b = h('button', { class: 'icon-button', type: 'button', title: 'Dismiss' }, '×');
  b.addEventListener('click', onClick);
  return b;
}

// --- entries ---------------------------------------------------------------------------------------

function renderEntry(entry: Entry): HTMLElement {
  switch (entry.kind) {
    case 'user':
      return renderUser(entry);
    case 'agent':
      return h('div', { class: 'entry agent', 'data-id': entry.id }, markdown(entry.text));
    case 'thought': {
      const details = h('details', { class: 'entry thought', 'data-id': entry.id, open: openDetails.has(entry.id) }, h('summary', {}, 'Thinking'), markdown(entry.text));
      details.addEventListener('toggle', () => (details.open ? openDetails.add(entry.id) : openDetails.delete(entry.id)));
      return details;
    }
    case 'notice':
      return h('div', { class: `entry notice notice-${entry.level}`, 'data-id': entry.id }, entry.text);
    case 'command':
      // A slash command's report: preformatted text (tables of figures), never Markdown.
      return h('div', { class: `entry command-output command-${entry.level}`, 'data-id': entry.id }, h('div', { class: 'who' }, `/${entry.command}`), h('pre', {}, entry.text));
    case 'compaction':
      return renderCompaction(entry.id, entry.compaction);
    case 'tool':
      return renderTool(entry.id, entry.call);
  }
}

// --- "Restore to here" -----------------------------------------------------------------------------

const RESTORE_TITLE = 'Restore to here: put the files the agent changed after this message back, and/or rewind the conversation to before it';
const RESTORE_BLOCKED_TITLE = 'Restore to here: not while the agent is working (a turn or a compaction runs)';

/** A rewind must wait for the running turn (the server would refuse it as busy). */
function restoreBlocked(): boolean {
  return head === null || head.busy || head.compacting || head.connection !== 'running';
}

function renderUser(entry: Extract<Entry, { kind: 'user' }>): HTMLElement {
  const top = h('div', { class: 'user-head' }, h('div', { class: 'who' }, 'You'));
  const checkpoint = entry.checkpoint;
  if (checkpoint !== null) {
    const blocked = restoreBlocked();
    const button = h(
      'button',
      { class: 'restore-button', type: 'button', title: blocked ? RESTORE_BLOCKED_TITLE : RESTORE_TITLE, 'aria-label': `Restore to here (checkpoint ${checkpoint})`, 'data-checkpoint': String(checkpoint), disabled: blocked },
      h('span', { class: 'restore-icon', 'aria-hidden': 'true' }, '↶'),
      ' Restore to here',
    );
    button.addEventListener('click', () => openRewind(entry.id, checkpoint));
    top.append(button);
  }
  const node = h('div', { class: `entry user${rewindUi?.entryId === entry.id ? ' rewinding' : ''}`, 'data-id': entry.id }, top, markdown(userText(entry.text)));
  if (rewindUi?.entryId === entry.id) {
    node.append(rewindBox);
  }
  return node;
}

function openRewind(entryId: string, checkpoint: number): void {
  if (restoreBlocked()) {
    return;
  }
  closeRewind(false);
  rewindUi = { entryId, checkpoint, preview: null, error: '', pending: true, ticked: new Set() };
  const node = nodes.get(entryId);
  node?.classList.add('rewinding');
  node?.append(rewindBox);
  renderRewind();
  rewindBox.scrollIntoView({ block: 'nearest' });
  send({ type: 'rewindPreview', entryId, checkpoint });
}

function closeRewind(focusButton: boolean): void {
  const ui = rewindUi;
  rewindUi = null;
  rewindBox.remove();
  rewindBox.replaceChildren();
  if (ui !== null) {
    const node = nodes.get(ui.entryId);
    node?.classList.remove('rewinding');
    if (focusButton) {
      node?.querySelector<HTMLButtonElement>('button.restore-button')?.focus();
    }
  }
}

/** The buttons follow the session: disabled while a turn runs (and the preview's choices too). */
function updateRestoreButtons(): void {
  const blocked = restoreBlocked();
  for (const b of transcript.querySelectorAll<HTMLButtonElement>('button.restore-button')) {
    b.disabled = blocked;
    b.title = blocked ? RESTORE_BLOCKED_TITLE : RESTORE_TITLE;
  }
  for (const b of rewindBox.querySelectorAll<HTMLButtonElement>('button.rewind-choice')) {
    b.disabled = blocked || rewindUi === null || rewindUi.pending || b.dataset.enabled !== 'true';
  }
  rewindBox.querySelector('.rewind-busy')?.classList.toggle('hidden', !blocked);
}

const ACTION_CLASS: Record<string, string> = { restore: 'action-restore', delete: 'action-delete', create: 'action-create' };

function renderRewind(): void {
  const ui = rewindUi;
  if (ui === null) {
    return;
  }
  // Keyboard users stay in the preview as it is redrawn (the restore button opened it).
  const active = document.activeElement;
  const hadFocus = active !== null && (rewindBox.contains(active) || active.classList.contains('restore-button'));
  const p = ui.preview;
  const close = closeButton(() => closeRewind(true));
  close.title = 'Cancel';
  close.setAttribute('aria-label', 'Cancel');
  const title = h('div', { class: 'rewind-titles' }, h('div', { class: 'rewind-title' }, p?.title ?? `Restore to checkpoint ${ui.checkpoint}`));
  if (p !== null && p.subtitle !== '') {
    title.append(h('div', { class: 'rewind-subtitle', title: p.subtitle }, p.subtitle));
  }
  rewindBox.replaceChildren(h('div', { class: 'rewind-head' }, title, close));
  if (p === null) {
    if (ui.pending) {
      rewindBox.append(h('div', { class: 'rewind-loading' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Checking what would change…'));
    }
  } else {
    rewindBox.append(h('div', { class: 'rewind-summary' }, p.summary));
    if (p.changes.length > 0) {
      const list = h('ul', { class: 'rewind-list' });
      for (const f of p.changes) {
        list.append(h('li', { class: `rewind-file rewind-${f.action}` }, h('span', { class: `rewind-action ${ACTION_CLASS[f.action] ?? ''}`, title: f.detail }, f.verb), pathLink(f.path, f.action !== 'create')));
      }
      rewindBox.append(rewindSection('Files', list));
    }
    if (p.conflicts.length > 0) {
      const list = h('ul', { class: 'rewind-list' });
      for (const c of p.conflicts) {
        const box = h('input', { type: 'checkbox', class: 'rewind-overwrite-box', 'data-path': c.path, checked: ui.ticked.has(c.path) });
        box.addEventListener('change', () => (box.checked ? ui.ticked.add(c.path) : ui.ticked.delete(c.path)));
        list.append(
          h(
            'li',
            { class: 'rewind-file rewind-conflict' },
            h('label', { class: 'rewind-overwrite', title: 'Overwrite: put the file back anyway, losing the later changes' }, box, 'overwrite'),
            pathLink(c.path, true),
            h('span', { class: 'rewind-why' }, c.why),
          ),
        );
      }
      rewindBox.append(rewindSection('Conflicts', h('div', { class: 'rewind-hint' }, 'Changed by someone else after the agent: kept as they are unless you tick overwrite.'), list));
    }
    if (p.notRestorable.length > 0) {
      const list = h('ul', { class: 'rewind-list' });
      for (const f of p.notRestorable) {
        list.append(h('li', { class: 'rewind-file rewind-not-restorable' }, pathLink(f.path, true), h('span', { class: 'rewind-why' }, f.why)));
      }
      rewindBox.append(rewindSection('Cannot be restored', list));
    }
    rewindBox.append(h('div', { class: 'rewind-note' }, 'Restoring the conversation removes this message and everything after it; its text comes back in the message box.'));
  }
  if (ui.error !== '') {
    rewindBox.append(h('div', { class: 'rewind-error', role: 'alert' }, ui.error));
  }
  rewindBox.append(h('div', { class: 'rewind-busy hidden' }, 'The agent is working: restore when the turn has ended.'));
  const buttons = h('div', { class: 'rewind-buttons' });
  for (const choice of p?.choices ?? []) {
    const b = h('button', { class: `rewind-choice ${choice.primary ? 'primary' : 'secondary'}`, type: 'button', 'data-part': choice.part, 'data-enabled': String(choice.enabled) }, choice.label);
    if (!choice.enabled) {
      b.title = 'No file to restore';
    }
    b.addEventListener('click', () => {
      if (rewindUi !== ui || ui.preview === null) {
        return;
      }
      ui.pending = true;
      ui.error = '';
      renderRewind();
      send({ type: 'rewind', entryId: ui.entryId, checkpoint: ui.preview.checkpoint, part: choice.part, overwrite: [...ui.ticked] });
    });
    buttons.append(b);
  }
  if (p !== null && ui.pending) {
    buttons.append(h('span', { class: 'rewind-pending' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Restoring…'));
  }
  const cancel = h('button', { class: 'secondary rewind-cancel', type: 'button' }, 'Cancel');
  cancel.addEventListener('click', () => closeRewind(true));
  buttons.append(cancel);
  rewindBox.append(buttons);
  updateRestoreButtons();
  if (hadFocus && !rewindBox.contains(document.activeElement)) {
    (rewindBox.querySelector<HTMLButtonElement>('button.rewind-choice:not(:disabled)') ?? cancel).focus();
  }
}

function rewindSection(title: string, ...body: HTMLElement[]): HTMLElement {
  return h('div', { class: 'rewind-section' }, h('div', { class: 'rewind-section-title' }, title), ...body);
}

function pathLink(path: string, exists: boolean): HTMLElement {
  if (!exists) {
    return h('span', { class: 'rewind-path', title: path }, path);
  }
  const link = h('a', { class: 'md-link rewind-path', href: '#', title: `Open ${path}` }, path);
  link.addEventListener('click', (e) => {
    e.preventDefault();
    send({ type: 'openFile', path });
  });
  return link;
}

rewindBox.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') {
    e.preventDefault();
    closeRewind(true);
  }
});

/** "Context compacted (summary): 150,000 → 40,000 tokens", the summary folded under it. */
function renderCompaction(id: string, c: CompactionView): HTMLElement {
  const cls = `entry compaction compaction-${c.status}`;
  const line = [c.status === 'started' ? h('span', { class: 'spinner', 'aria-hidden': 'true' }) : null, h('span', { class: 'compaction-text' }, compactionText(c))];
  if (c.status !== 'completed' || c.summary === null) {
    return h('div', { class: cls, 'data-id': id, title: compactionDetail(c) }, ...line);
  }
  const details = h('details', { class: cls, 'data-id': id, open: openDetails.has(id) }, h('summary', { title: `${compactionDetail(c)} (click for the summary)` }, ...line), markdown(c.summary, 'md compaction-summary'));
  details.addEventListener('toggle', () => (details.open ? openDetails.add(id) : openDetails.delete(id)));
  return details;
}

/** A sent prompt shows its mentions as short paths instead of full file URIs. */
function userText(text: string): string {
  const root = head?.workspaceRoot ?? '';
  return text.replace(/^@(file:\/\/\S+?)(:?)$/gm, (_m, uri: string, colon: string) => {
    let p = uri;
    try {
      p = decodeURIComponent(new URL(uri).pathname) + (uri.includes('#') ? `#${uri.split('#')[1] ?? ''}` : '');
    } catch {
      // Keep the uri as it is.
    }
    if (root && p.startsWith(`${root}/`)) {
      p = p.slice(root.length + 1);
    }
    return `\`@${p}\`${colon}`;
  });
}

const KIND_LABEL: Record<string, string> = { read: 'read', edit: 'edit', search: 'search', execute: 'run', think: 'plan', fetch: 'fetch', delete: 'delete', move: 'move', other: 'tool' };
const STATUS_TEXT: Record<string, string> = { pending: 'pending', in_progress: 'running', completed: 'done', failed: 'failed' };

function renderTool(id: string, call: ToolCallView): HTMLElement {
  const status = call.permission !== null ? 'permission' : call.status;
  const statusText = call.permission !== null ? 'needs permission' : STATUS_TEXT[call.status] ?? call.status;
  const duration = call.durationMs !== null && call.durationMs > 0 && call.status !== 'pending' ? h('span', { class: 'duration' }, formatDuration(call.durationMs)) : null;
  const card = h(
    'div',
    {
      class: `entry tool-card tool-${status}${call.parentToolCallId !== null ? ' tool-nested' : ''}`,
      'data-id': id,
      'data-tool-call-id': call.toolCallId,
    },
    h(
      'div',
      { class: 'tool-head' },
      h('span', { class: `tool-kind kind-${call.kind}` }, KIND_LABEL[call.kind] ?? 'tool'),
      h('span', { class: 'tool-title', title: call.title }, displayTitle(call)),
      duration,
      h('span', { class: `tool-status status-${status}` }, statusText),
    ),
  );
  const command = commandOf(call);
  if (command !== null) {
    card.append(h('pre', { class: 'tool-command' }, `$ ${command}`));
  }
  if (call.permission !== null) {
    card.append(renderPermission(call.permission));
  }
  if (call.decision !== null) {
    card.append(h('div', { class: 'tool-decision' }, call.decision));
  }
  for (const diff of call.diffs) {
    card.append(renderDiff(diff.path, diff.oldText, diff.newText));
  }
  if (call.note !== null) {
    card.append(h('div', { class: 'tool-note' }, call.note));
  }
  if (call.output.trim() !== '') {
    const key = `${id}:output`;
    const open = openDetails.has(key) || (call.isError && !openDetails.has(`${key}:closed`));
    const details = h('details', { class: 'tool-output', open }, h('summary', {}, call.isError ? 'Error' : 'Output'), h('pre', {}, clip(call.output, 20000)));
    details.addEventListener('toggle', () => {
      if (details.open) {
        openDetails.add(key);
        openDetails.delete(`${key}:closed`);
      } else {
        openDetails.delete(key);
        openDetails.add(`${key}:closed`);
      }
    });
    card.append(details);
  }
  return card;
}

/** A replayed call's title is just the tool's name: add what it worked on, from its input. */
function displayTitle(call: ToolCallView): string {
  if (/\s/.test(call.title.trim())) {
    return call.title;
  }
  const input = (call.rawInput ?? {}) as Record<string, unknown>;
  for (const key of ['file_path', 'path', 'command', 'pattern']) {
    const value = input[key];
    if (typeof value === 'string' && value !== '') {
      const shown = key === 'file_path' || key === 'path' ? relative(value) : value;
      return `${call.title}${key === 'command' ? ':' : ''} ${shown.length > 80 ? `${shown.slice(0, 79)}…` : shown}`;
    }
  }
  return call.title;
}

function commandOf(call: ToolCallView): string | null {
  const input = call.rawInput as { command?: unknown } | null;
  if (call.kind === 'execute' && input && typeof input.command === 'string' && !call.title.includes(input.command)) {
    return input.command;
  }
  return null;
}

function renderPermission(p: PermissionView): HTMLElement {
  const box = h('div', { class: 'permission', role: 'group', 'aria-label': `Permission: ${p.title}` });
  box.append(h('div', { class: 'permission-title' }, `Allow ${p.title}?`));
  for (const text of p.content) {
    box.append(markdown(text, 'md permission-content'));
  }
  const buttons = h('div', { class: 'permission-buttons' });
  for (const option of p.options) {
    const kind = option.kind ?? option.optionId;
    const cls = kind === 'allow_once' ? 'primary' : kind.startsWith('allow') ? 'secondary' : 'danger';
    const b = h('button', { class: `${cls} permission-option`, type: 'button', 'data-option-id': option.optionId }, option.name);
    b.addEventListener('click', () => {
      for (const other of buttons.querySelectorAll('button')) {
        other.disabled = true;
      }
      send({ type: 'permission', requestId: p.requestId, optionId: option.optionId });
    });
    buttons.append(b);
  }
  box.append(buttons);
  return box;
}

function renderDiff(path: string, oldText: string | null, newText: string): HTMLElement {
  const diff = diffLines(oldText, newText);
  const name = relative(path);
  const link = h('a', { class: 'md-link diff-file', href: '#', title: path }, name);
  link.addEventListener('click', (e) => {
    e.preventDefault();
    const first = diff.hunks[0]?.newStart;
    send({ type: 'openFile', path, ...(first !== undefined ? { line: first } : {}) });
  });
  const box = h(
    'div',
    { class: 'diff' },
    h('div', { class: 'diff-head' }, link, h('span', { class: 'diff-stat' }, h('span', { class: 'dl-add' }, `+${diff.added}`), ' ', h('span', { class: 'dl-del' }, `−${diff.removed}`), oldText === null ? ' (new file)' : '')),
  );
  if (diff.tooLarge) {
    box.append(h('div', { class: 'diff-note' }, 'The change is too large to show here.'));
    return box;
  }
  const table = h('table', { class: 'diff-table' });
  let shown = 0;
  for (const hunk of diff.hunks) {
    table.append(h('tr', { class: 'dl-hunk' }, h('td', { colspan: '3' }, `@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`)));
    for (const line of hunk.lines) {
      if (shown++ > 400) {
        break;
      }
      const cls = line.op === '+' ? 'dl-add' : line.op === '-' ? 'dl-del' : 'dl-ctx';
      table.append(
        h('tr', { class: cls }, h('td', { class: 'ln' }, line.oldNo === null ? '' : String(line.oldNo)), h('td', { class: 'ln' }, line.newNo === null ? '' : String(line.newNo)), h('td', { class: 'code' }, `${line.op === ' ' ? ' ' : line.op} ${line.text}`)),
      );
    }
  }
  box.append(table);
  return box;
}

function relative(p: string): string {
  const root = head?.workspaceRoot ?? '';
  return root && p.startsWith(`${root}/`) ? p.slice(root.length + 1) : p;
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}\n… (${text.length - max} more characters)` : text;
}

// --- clicks inside rendered markdown ---------------------------------------------------------------

transcript.addEventListener('click', (e) => {
  const target = e.target as HTMLElement;
  const link = target.closest('a.md-link[data-href]');
  if (link !== null) {
    e.preventDefault();
    send({ type: 'openLink', href: link.getAttribute('data-href') ?? '' });
    return;
  }
  const copy = target.closest('button.code-copy');
  if (copy !== null) {
    const code = copy.closest('.code-block')?.querySelector('code');
    const lines = code ? [...code.querySelectorAll(':scope > span')] : [];
    // Diff blocks hold one <span> per line and no newline characters.
    const text = lines.length > 0 ? lines.map((l) => l.textContent).join('\n') : (code?.textContent ?? '');
    send({ type: 'copy', text });
    copy.textContent = 'Copied';
    setTimeout(() => (copy.textContent = 'Copy'), 1200);
  }
});

// --- session picker ----------------------------------------------------------------------------------

sessionButton.addEventListener('click', () => {
  if (!sessionMenu.classList.contains('hidden')) {
    sessionMenu.classList.add('hidden');
    return;
  }
  sessionMenu.replaceChildren(h('div', { class: 'menu-note' }, 'Loading sessions…'));
  sessionMenu.classList.remove('hidden');
  send({ type: 'listSessions' });
});

newButton.addEventListener('click', () => {
  sessionMenu.classList.add('hidden');
  send({ type: 'newSession' });
});

function showSessionMenu(sessions: (SessionSummary & { current: boolean; label: string })[]): void {
  sessionMenu.replaceChildren();
  const fresh = h('button', { class: 'menu-item', type: 'button', role: 'menuitem' }, '+ New session');
  fresh.addEventListener('click', () => {
    sessionMenu.classList.add('hidden');
    send({ type: 'newSession' });
  });
  sessionMenu.append(fresh);
  if (sessions.length === 0) {
    sessionMenu.append(h('div', { class: 'menu-note' }, 'No saved sessions yet.'));
  }
  for (const s of sessions) {
    const item = h('button', { class: `menu-item${s.current ? ' current' : ''}`, type: 'button', role: 'menuitem', title: s.cwd ?? '' }, s.label);
    item.addEventListener('click', () => {
      sessionMenu.classList.add('hidden');
      if (!s.current) {
        send({ type: 'loadSession', sessionId: s.sessionId });
      }
    });
    sessionMenu.append(item);
  }
  sessionMenu.classList.remove('hidden');
}

document.addEventListener('click', (e) => {
  const target = e.target as Node;
  if (!sessionMenu.contains(target) && target !== sessionButton) {
    sessionMenu.classList.add('hidden');
  }
  if (!popup.contains(target) && target !== input && target !== mentionButton) {
    hidePopup();
  }
});

// --- composer: attachments, @-mentions, slash commands -------------------------------------------

function addAttachment(m: Mention): void {
  if (attachments.some((a) => a.uri === m.uri && a.kind === m.kind && mentionLabel(a) === mentionLabel(m))) {
    return;
  }
  attachments.push(m);
  renderChips();
}

function renderChips(): void {
  chips.replaceChildren();
  for (const m of attachments) {
    const chip = h('span', { class: `chip chip-${m.kind}`, title: m.kind === 'selection' ? m.text.slice(0, 500) : m.label }, `${m.kind === 'selection' ? '✂ ' : '@'}${mentionLabel(m)}`);
    chip.append(
      closeButton(() => {
        attachments = attachments.filter((a) => a !== m);
        renderChips();
      }),
    );
    chips.append(chip);
  }
}

type PopupItem = { label: string; detail: string; value: Mention | AvailableCommand };
let popupMode: 'mention' | 'command' | null = null;
let popupQuery = '';
let popupItems: PopupItem[] = [];
let popupIndex = 0;
let mentionStart = -1;

function showPopup(items: PopupItem[]): void {
  popupItems = items;
  popupIndex = 0;
  popup.replaceChildren();
  if (items.length === 0) {
    popup.append(h('div', { class: 'menu-note' }, popupMode === 'mention' ? 'No matching files.' : 'No matching commands.'));
  }
  items.forEach((item, i) => {
    const row = h('div', { class: `popup-item${i === 0 ? ' active' : ''}`, role: 'option' }, h('span', { class: 'popup-label' }, item.label), item.detail ? h('span', { class: 'popup-detail' }, item.detail) : null);
    row.addEventListener('mousedown', (e) => {
      e.preventDefault();
      choosePopup(i);
    });
    popup.append(row);
  });
  popup.classList.remove('hidden');
}

function hidePopup(): void {
  popup.classList.add('hidden');
  popupMode = null;
  popupItems = [];
}

function movePopup(delta: number): void {
  if (popupItems.length === 0) {
    return;
  }
  popupIndex = (popupIndex + delta + popupItems.length) % popupItems.length;
  popup.querySelectorAll('.popup-item').forEach((row, i) => row.classList.toggle('active', i === popupIndex));
  popup.querySelectorAll('.popup-item')[popupIndex]?.scrollIntoView({ block: 'nearest' });
}

function choosePopup(i: number): void {
  const item = popupItems[i];
  if (item === undefined) {
    return;
  }
  if (popupMode === 'mention') {
    const caret = input.selectionStart;
    if (mentionStart >= 0) {
      input.value = input.value.slice(0, mentionStart) + input.value.slice(caret);
      input.setSelectionRange(mentionStart, mentionStart);
    }
    addAttachment(item.value as Mention);
  } else if (popupMode === 'command') {
    const chosen = applyCommand(input.value, (item.value as AvailableCommand).name);
    input.value = chosen.text;
    input.setSelectionRange(chosen.caret, chosen.caret);
  }
  hidePopup();
  input.focus();
}

function updatePopupFromInput(): void {
  const caret = input.selectionStart;
  const before = input.value.slice(0, caret);
  const mention = mentionQuery(before);
  if (mention !== null) {
    popupMode = 'mention';
    mentionStart = mention.start;
    popupQuery = mention.query;
    send({ type: 'mentionSearch', query: popupQuery });
    return;
  }
  const commands = head?.commands ?? [];
  const query = commandQuery(before);
  if (query !== null && commands.length > 0) {
    popupMode = 'command';
    showPopup(matchCommands(query, commands).map((c) => ({ label: `/${c.name}`, detail: commandDetail(c), value: c })));
    return;
  }
  if (popupMode !== null) {
    hidePopup();
  }
}

input.addEventListener('input', updatePopupFromInput);

input.addEventListener('keydown', (e) => {
  if (popupMode !== null && !popup.classList.contains('hidden')) {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      movePopup(e.key === 'ArrowDown' ? 1 : -1);
      return;
    }
    if ((e.key === 'Enter' || e.key === 'Tab') && popupItems.length > 0) {
      e.preventDefault();
      choosePopup(popupIndex);
      return;
    }
    if (e.key === 'Escape') {
      e.preventDefault();
      hidePopup();
      return;
    }
  }
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    submit();
  }
});

mentionButton.addEventListener('click', () => {
  const caret = input.selectionStart;
  const pre = input.value.slice(0, caret);
  const insert = pre === '' || /\s$/.test(pre) ? '@' : ' @';
  input.setRangeText(insert, caret, caret, 'end');
  input.focus();
  updatePopupFromInput();
});

selectionButton.addEventListener('click', () => send({ type: 'attachSelection' }));
stopButton.addEventListener('click', () => send({ type: 'stop' }));
compactButton.addEventListener('click', () => send({ type: 'compact', askInstructions: false }));
compactMoreButton.addEventListener('click', () => send({ type: 'compact', askInstructions: true }));
sendButton.addEventListener('click', submit);

function submit(): void {
  const text = input.value;
  if ((text.trim() === '' && attachments.length === 0) || sendButton.disabled) {
    return;
  }
  send({ type: 'send', text, mentions: attachments });
  input.value = '';
  attachments = [];
  renderChips();
  hidePopup();
  banner.classList.add('hidden');
}

send({ type: 'ready' });
